"""Expected token ids for the tokenizer tests, from transformers' fast tokenizers.

  mvsa-ecnu-ids.tsv.gz  one row per mvsa-ecnu text (all data/*.txt): guid, SHA-256 (16 hex) of
                        the decoded UTF-8 text, then for WordPiece (all-MiniLM-L6-v2's vocabulary)
                        and CLIP BPE (models/clip-bpe) the number of ids and the first 16 hex digits of
                        the SHA-256 of the ids joined by commas. Digests only: the dataset, and token ids
                        (a near copy of its texts), are never committed.
  cases.json            hand-written texts with their full expected ids.

Needs scripts/fetch-models' models/ and ../shared. Run with the reference environment:
  $(scripts/python-env) scripts/make-tokenizer-fixtures.py [--show GUID]
"""
import argparse
import gzip
import hashlib
import json
import os

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


def sha(data):
    # 64 bits of SHA-256: plenty to tell two id sequences apart, and a third of the size.
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def digest(ids):
    return sha(",".join(map(str, ids)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", help="print the full ids of one guid (for debugging; never commit them)")
    args = parser.parse_args()
    wordpiece = BertTokenizerFast.from_pretrained(os.path.join(MODELS, "all-MiniLM-L6-v2"))
    clip = CLIPTokenizerFast.from_pretrained(os.path.join(MODELS, "clip-bpe"))

    def ids(tokenizer, text, max_length=None):
        kw = {"truncation": True, "max_length": max_length} if max_length else {}
        return tokenizer(text, add_special_tokens=True, **kw)["input_ids"]

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
    cases = [{"text": t, "wordpiece": ids(wordpiece, t), "wordpiece_128": ids(wordpiece, t, 128),
              "clip": ids(clip, t), "clip_77": ids(clip, t, 77)} for t in CASES]
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    print(f"{len(rows)} texts, {len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
