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
  added-tokens.json     tokenizer_config.json files whose "added_tokens_decoder" sets every added-token
                        flag (lstrip, rstrip, single_word, normalized), for a folder of the model's
                        vocab.txt (WordPiece) or vocab.json + merges.txt (CLIP), and hand-written texts
                        with transformers' ids for both.

Needs scripts/fetch-models' models/ and ../shared. Run with the reference environment:
  $(scripts/python-env) scripts/make-tokenizer-fixtures.py [--show GUID | --show-block HEX]
"""
import argparse
import gzip
import hashlib
import json
import os
import shutil
import tempfile
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
    # Added tokens are found in the text as written, before normalisation, case-sensitively.
    "a [MASK] b[SEP]c [CLS][PAD]x[UNK] [mask] [Mask] [MASK",
    "<|endoftext|>hello<|startoftext|> <|ENDOFTEXT|> x<|endoftext|>'s",
    "Cafe\u0301[MASK]\u0301 e<|endoftext|>\u0301",
    # Rules the code-point check found: unassigned (Cn) kept, newer Cf kept, newer marks not
    # stripped, newer punctuation not split, CJK from U+2B920, Unicode 16 lower-casing and
    # letters, U+11938 neither decomposed nor composed.
    "a\u0378b \U000E0080 x\u0890y x\u07FDy x\u061Dy \U0002B820\U0002B920x",
    "\uA7CB\u1C89 \U00016EA0 \U00011935\U00011930 \U00011938",
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


def flags(content, special, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {"content": content, "special": special, "normalized": normalized, "lstrip": lstrip, "rstrip": rstrip,
            "single_word": single_word}


ADDED_TOKEN_CONFIGS = {
    "wordpiece": {"do_lower_case": True, "added_tokens_decoder": {
        "103": flags("[MASK]", True, lstrip=True, rstrip=True),
        "102": flags("[SEP]", True, single_word=True),
        "30522": flags("Hello World", False, normalized=True),
        "30523": flags("<ent>", False, single_word=True),
        "30524": flags("<ent>s", False),
    }},
    "clip": {"added_tokens_decoder": {
        "49407": flags("<|endoftext|>", True, rstrip=True),
        "49408": flags("<IMG>", False, normalized=True),
        "49409": flags("<obj>", False, lstrip=True, single_word=True),
    }},
}

ADDED_TOKEN_CASES = [
    "a [MASK] b a\t\u00a0[MASK]  b [MASK][MASK]",
    "x[SEP]y x [SEP] y é[SEP] [SEP], _[SEP] \u2460[SEP]",
    "say Hello World, HELLO WORLD or hello   world: helloworld hello worldly",
    "<ent> <ent>s a<ent> <ent>, x<ent>sy",
    "a<|endoftext|>  b <|endoftext|>",
    "an <IMG> or <img>, <Img>x <obj> y<obj> <obj>z  <obj>",
]


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

    with tempfile.TemporaryDirectory() as tmp:
        for name, files in [("wordpiece", ["vocab.txt"]), ("clip", ["vocab.json", "merges.txt"])]:
            os.makedirs(os.path.join(tmp, name))
            for file in files:
                shutil.copy(os.path.join(MODELS, "all-MiniLM-L6-v2" if name == "wordpiece" else "clip-bpe", file),
                            os.path.join(tmp, name))
            with open(os.path.join(tmp, name, "tokenizer_config.json"), "w", encoding="utf-8") as f:
                json.dump(ADDED_TOKEN_CONFIGS[name], f)
        flagged = {"wordpiece": BertTokenizerFast.from_pretrained(os.path.join(tmp, "wordpiece")),
                   "clip": CLIPTokenizerFast.from_pretrained(os.path.join(tmp, "clip"))}
        added = {"configs": ADDED_TOKEN_CONFIGS,
                 "cases": [{"text": t, **{name: ids(tok, t) for name, tok in flagged.items()}}
                           for t in ADDED_TOKEN_CASES]}
    with open(os.path.join(OUT, "added-tokens.json"), "w", encoding="utf-8") as f:
        json.dump(added, f, ensure_ascii=False, indent=1)
    print(f"{len(rows)} texts, {len(blocks)} code-point probes, {len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
