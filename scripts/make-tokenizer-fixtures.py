"""Expected token ids for the tokenizer tests, from transformers' fast tokenizers.

  mvsa-ecnu-ids.tsv.gz  one row per mvsa-ecnu text (all data/*.txt): guid, SHA-256 (16 hex) of
                        the decoded UTF-8 text, then for WordPiece (all-MiniLM-L6-v2's vocabulary)
                        and CLIP BPE (models/clip-bpe) the number of ids and the first 16 hex digits of
                        the SHA-256 of the ids joined by commas. Digests only: the dataset, and token ids
                        (a near copy of its texts), are never committed.
  code-points.tsv.gz    one row per block of 256 code points from U+0000 to U+10FFFF (surrogates
                        skipped): "x", the block's first code point (hex), then per tokenizer the number
                        of ids and the digest of the ids of the block's probe text (see probe()). Then
                        one "nfd" row per block with characters that have a canonical decomposition
                        (Python's unicodedata): the same columns for the probe of those characters
                        written decomposed, which shows (re)composition, and last that probe itself.
  cases.json            hand-written texts with their full expected ids.

Needs scripts/fetch-models' models/ and ../shared. Run with the reference environment:
  $(scripts/python-env) scripts/make-tokenizer-fixtures.py [--show GUID | --show-block HEX]
"""
import argparse
import gzip
import hashlib
import json
import os
import unicodedata

from transformers import BertTokenizerFast, CLIPTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.environ.get("MSA_MODELS_DIR", os.path.join(ROOT, "models"))
DATA = os.path.join(os.environ.get("MSA_SHARED_DIR", os.path.join(ROOT, "..", "shared")), "data", "mvsa-ecnu", "data")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")

CASES = [
    "Hello, World!",
    "Café déjà vu — naïve façade",
    "东京 is 東京 and 北京欢迎你",
    "emoji 😀🎉 and ❤️ and 🇬🇧",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic",
    "control\u0001chars\u200band\ufeffzero width",
    "don't won't it's we're they've I'm we'll he'd",
    "#Happy @user_42 http://t.co/AbC123 RT :) :-( !!!",
    "a" * 120 + " supercalifragilisticexpialidocious",
    "İstanbul ΣΊΣΥΦΟΣ straße",
    "numbers 12345 3.14 1,000,000 ½ ²",
    "   leading and trailing spaces   ",
    "",
    "word " * 200,
]


BLOCK = 256


def block_code_points(first):
    # Surrogates are no characters: neither Rust's str nor UTF-8 can hold them.
    return [cp for cp in range(first, first + BLOCK) if not 0xD800 <= cp <= 0xDFFF]


def probe_piece(cp):
    # Between two letters, every rule shows in the ids: a removed control joins "xx", whitespace
    # and punctuation split the word, a CJK character stands alone, a combining mark is stripped
    # (BERT) or composed (CLIP's NFC), and CLIP's bytes show lower-casing and its letter /
    # number / other classes (a letter joins the x's into one word, a number or symbol does not).
    return "x" + chr(cp) + "x"


def probe(first):
    return " ".join(probe_piece(cp) for cp in block_code_points(first))


def decomposed_probe(first):
    # NFC must compose these again (CLIP), BERT's NFD leave them and strip the marks; where the
    # tokenizers' Unicode tables are older than unicodedata's, they must not compose.
    pieces = [unicodedata.normalize("NFD", chr(cp)) for cp in block_code_points(first)]
    return " ".join("x" + p + "x" for cp, p in zip(block_code_points(first), pieces) if p != chr(cp))


def sha(data):
    # 64 bits of SHA-256: plenty to tell two id sequences apart, and a third of the size.
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def digest(ids):
    return sha(",".join(map(str, ids)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", help="print the full ids of one guid (for debugging; never commit them)")
    parser.add_argument("--show-block", metavar="HEX",
                        help="print the ids of each code point's probe in the block holding code point HEX "
                             "(compare with MSA_SHOW_BLOCK=HEX build/bin/msa_tests \"[code-points]\")")
    args = parser.parse_args()
    wordpiece = BertTokenizerFast.from_pretrained(os.path.join(MODELS, "all-MiniLM-L6-v2"))
    clip = CLIPTokenizerFast.from_pretrained(os.path.join(MODELS, "clip-bpe"))

    def ids(tokenizer, text, max_length=None):
        kw = {"truncation": True, "max_length": max_length} if max_length else {}
        return tokenizer(text, add_special_tokens=True, **kw)["input_ids"]

    if args.show_block:
        first = int(args.show_block.removeprefix("U+").removeprefix("u+"), 16) // BLOCK * BLOCK
        for cp in block_code_points(first):
            text = probe_piece(cp)
            print(f"U+{cp:04X}\twordpiece {ids(wordpiece, text)}\tclip {ids(clip, text)}")
        return

    if args.show:
        text = open(os.path.join(DATA, args.show + ".txt"), "rb").read().decode("gb18030")
        print(repr(text))
        print("wordpiece", ids(wordpiece, text))
        print("clip", ids(clip, text))
        return

    os.makedirs(OUT, exist_ok=True)
    guids = sorted(f[:-4] for f in os.listdir(DATA) if f.endswith(".txt"))
    rows = []
    for guid in guids:
        # The dataset is GB18030 throughout (its README); msa's reader decides the same.
        text = open(os.path.join(DATA, guid + ".txt"), "rb").read().decode("gb18030")
        wp, cl = ids(wordpiece, text), ids(clip, text)
        rows.append("\t".join([guid, sha(text), str(len(wp)), digest(wp),
                               str(len(cl)), digest(cl)]))
    with gzip.GzipFile(os.path.join(OUT, "mvsa-ecnu-ids.tsv.gz"), "wb", mtime=0) as f:
        f.write(("\n".join(rows) + "\n").encode())
    blocks = []
    for first in range(0, 0x110000, BLOCK):
        if not block_code_points(first):
            continue
        text = probe(first)
        wp, cl = ids(wordpiece, text), ids(clip, text)
        blocks.append("\t".join(["x", f"{first:04X}", str(len(wp)), digest(wp), str(len(cl)), digest(cl)]))
        text = decomposed_probe(first)
        if text:
            wp, cl = ids(wordpiece, text), ids(clip, text)
            blocks.append("\t".join(["nfd", f"{first:04X}", str(len(wp)), digest(wp), str(len(cl)), digest(cl),
                                      text]))
    with gzip.GzipFile(os.path.join(OUT, "code-points.tsv.gz"), "wb", mtime=0) as f:
        f.write(("\n".join(blocks) + "\n").encode())
    cases = [{"text": t, "wordpiece": ids(wordpiece, t), "wordpiece_128": ids(wordpiece, t, 128),
              "clip": ids(clip, t), "clip_77": ids(clip, t, 77)} for t in CASES]
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    print(f"{len(rows)} texts, {len(blocks)} code-point probes, {len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
