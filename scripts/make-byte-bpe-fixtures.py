"""A tiny RoBERTa-style byte-level BPE tokenizer and transformers' ids for it.

Unlike scripts/make-tokenizer-fixtures.py this needs neither models/ nor ../shared: the
tokenizer is trained here, with the `tokenizers` library, on the few lines of CORPUS below
(deterministic: the same files every run), so the fixtures are small and self-contained.

  byte-bpe/                  the tokenizer as transformers saves a RobertaTokenizerFast
                             (tokenizer.json, tokenizer_config.json), plus vocab.json and
                             merges.txt: <s> <pad> </s> <unk> = 0..3, GPT-2's 256 byte symbols,
                             one token per merge, <mask> last (lstrip, as roberta-base declares it)
  byte-bpe-cases.json        hand-written texts, each with transformers' ids from that folder
                             ("ids"; "ids_16" truncated to 16 ids), with add_prefix_space = true
                             ("prefix_space"), and from vocab.json + merges.txt with the
                             tokenizer_config.json of FILES_CONFIG ("files"); FILES_CONFIG itself
                             is stored under "files_config"
  byte-bpe-code-points.tsv.gz
                             a probe of every code point through a second byte-level BPE built in
                             code (probe_tokenizer(); tests/unit/test_tokenizers.cpp builds the
                             same one): its merges join a character to the "x" beside it, to the
                             space before it and to the "!" after it only when GPT-2's pattern puts
                             them in one word, so the ids show whether the pattern sees a letter,
                             a number, whitespace or something else. First row: "tokenizer",
                             vocabulary size, digest of its "id<TAB>token" lines, digest of its
                             "left right" merges; then one row per block of 256 code points
                             (surrogates skipped): "x", first code point (hex), number of ids,
                             digest of the ids of the block's probe text.

scripts/parity/roberta_mlm.py gives the tiny RobertaForMaskedLM this tokenizer: run this first.
Run with the reference environment:
  $(scripts/python-env) scripts/make-byte-bpe-fixtures.py
"""
import gzip
import hashlib
import json
import os
import shutil
import tempfile

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import RobertaTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
FOLDER = os.path.join(OUT, "byte-bpe")

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]  # RoBERTa's ids 0..3; <mask> is the last id
# 5 special tokens + 256 bytes + 279 merges: enough that the words of the tiny RoBERTa's
# prompt (" It", " was", " good", " bad", ...) are one token each, and that merges of
# accented letters, CJK and emoji bytes exist for the cases to exercise.
VOCAB_SIZE = 540
CORPUS = """What a great day! The weather was good and the food was great.
The bus was late again and it was bad. I was sad, so sad.
It was okay. The movie was okay, not good, not bad.
This is a good movie. It was a great show. The game was bad.
I love this song, it was good. I hate the rain, it was bad.
The news is sad today. These photos are fine, not terrible.
It was great! It was good. It was bad. It was sad. It was okay.
We went to the city with my friends and we had a great time.
My team lost the game again, what a bad day. Really boring, but the music was fine.
Don't worry, it's fine. They're here, we've got it, I'm happy, you'll see, he'd know.
Café déjà vu, naïve façade, straße, über, résumé, señor, élan, à la carte.
東京 and 北京, 你好 世界, 东京欢迎你. 😀 🎉 ❤️ 😀😀
Numbers: 1, 2, 3, 10, 100, 2024, 3.14 and 1,000,000 or 42.
#happy @user http://t.co/abc RT :) :-( !!! ... ??
"""

CASES = [
    "Hello, World!",
    "What a great day!",
    "The bus was late again and it was bad.",
    "Wait... what?!? (really) [yes] {no} -- ok; fine: 'quoted' \"double\" a/b\\c",
    "#happy @user_42 http://t.co/AbC123 RT :) :-( !!!",
    # Contractions are lower-case only, and taken before a letter run.
    "don't won't it's we're they've I'm we'll he'd",
    "DON'T IT'S I'M We'Re 's 'S ''s x'sy 'll'd",
    "numbers 12345 3.14 1,000,000 2024-06-16 ½ ² ³ ٣٤ Ⅻ abc123def 123abc 42nd",
    # Whitespace: a run keeps its last character for the word after it, unless it ends the text.
    "a  b   c    d",
    "   leading and trailing spaces   ",
    "tab\tsep\t\ttwo \t mixed",
    "line one\nline two\n\nline four\r\nCRLF \n x",
    "\n\n\n",
    " ",
    "ends with a space ",
    "",
    "a\u00a0b\u3000c\u2028d\u0085e \u00a0 f\u2009\u2009g",
    "control\u0001chars\u200band\ufeffzero width\u0000nul",
    "emoji 😀🎉 and ❤️ and 🇬🇧 and 👨‍👩‍👧 😀😀😀",
    "东京 is 東京 and 北京欢迎你",
    "日本語のテキスト、句読点。한국어 텍스트",
    "Café déjà vu — naïve façade über straße",
    "Cafe\u0301 decomposed e\u0301 and ﬁ ligature",
    "İstanbul ΣΊΣΥΦΟΣ Ελληνικά кириллица עברית العربية हिन्दी",
    "greatest goodness sadly okayish badly",
    # The mask token: lstrip takes the whitespace before it, nothing after it.
    "It was <mask>.",
    "It was<mask>.",
    "It was  <mask> .",
    "It was <mask>",
    "<mask>",
    "<mask><mask> <mask>",
    "a <mask>b",
    "\t<mask> x\n<mask>\n",
    "<mask> at the start",
    "<MASK> <Mask> <mask <mask>> <<mask>",
    "<s>hi</s> <pad> <unk> </s><s>",
    "word " * 200,
    ("This is a longer post about the weather, the bus and the movie. " * 6).strip(),
]

# tokenizer_config.json for vocab.json + merges.txt: transformers 5 registers the named special
# tokens with no flags; "added_tokens_decoder" sets them (lstrip, rstrip, single_word).
FILES_CONFIG = {
    "add_prefix_space": False,
    "added_tokens_decoder": {
        "0": {"content": "<s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": True,
              "special": True},
        "2": {"content": "</s>", "lstrip": False, "normalized": False, "rstrip": True, "single_word": False,
              "special": True},
        "LAST": {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False,
                 "special": True},
    },
}

BLOCK = 256


def sha(data):
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def digest(ids):
    return sha(",".join(map(str, ids)))


def byte_symbols():
    # GPT-2's bytes_to_unicode, in byte order.
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    out, extra = [], 0
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


def train():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE - 1, min_frequency=2, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(CORPUS.strip().split("\n") * 20, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab = dict(model["vocab"])
    vocab["<mask>"] = len(vocab)
    assert len(vocab) == VOCAB_SIZE and sorted(vocab.values()) == list(range(VOCAB_SIZE))
    return vocab, [tuple(m) for m in model["merges"]]


def probe_tokenizer():
    # Specials, the 256 byte symbols in byte order, then the merges of every byte symbol B
    # with "!" after it, "x" before it, "x" after it and the space before it (in that order
    # of rank; a pair met again keeps its first rank), each merge's result a new token.
    symbols = byte_symbols()
    space = symbols[ord(" ")]
    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>"] + symbols)}
    merges = []
    for pairs in ([(b, "!") for b in symbols], [("x", b) for b in symbols], [(b, "x") for b in symbols],
                  [(space, b) for b in symbols]):
        for pair in pairs:
            if pair not in merges:
                merges.append(pair)
                vocab.setdefault(pair[0] + pair[1], len(vocab))
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    header = ["tokenizer", str(len(vocab)),
              sha("\n".join(f"{i}\t{t}" for t, i in sorted(vocab.items(), key=lambda item: item[1]))),
              sha("\n".join(f"{a} {b}" for a, b in merges))]
    return tokenizer, header


def block_code_points(first):
    return [cp for cp in range(first, first + BLOCK) if not 0xD800 <= cp <= 0xDFFF]


def probe(first):
    # "x{c}x" shows a letter (one word with the x's); " {c}!" shows a number (the space joins
    # it, "!" does not), other characters (both join) and whitespace (neither).
    return " ".join(f"x{chr(cp)}x {chr(cp)}!" for cp in block_code_points(first))


def main():
    vocab, merges = train()
    shutil.rmtree(FOLDER, ignore_errors=True)
    os.makedirs(FOLDER)
    mask = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)
    RobertaTokenizerFast(vocab=vocab, merges=merges, mask_token=mask).save_pretrained(FOLDER)
    Tokenizer.from_file(os.path.join(FOLDER, "tokenizer.json")).model.save(FOLDER)  # vocab.json, merges.txt

    def ids(tokenizer, text, max_length=None):
        kw = {"truncation": True, "max_length": max_length} if max_length else {}
        return tokenizer(text, **kw)["input_ids"]

    tokenizer = RobertaTokenizerFast.from_pretrained(FOLDER)
    assert len(tokenizer) == VOCAB_SIZE and tokenizer.mask_token_id == VOCAB_SIZE - 1 and tokenizer.pad_token_id == 1
    backend = Tokenizer.from_file(os.path.join(FOLDER, "tokenizer.json"))
    files_config = json.loads(json.dumps(FILES_CONFIG).replace('"LAST"', f'"{VOCAB_SIZE - 1}"'))
    with tempfile.TemporaryDirectory() as tmp:
        prefix_dir, files_dir = os.path.join(tmp, "prefix"), os.path.join(tmp, "files")
        shutil.copytree(FOLDER, prefix_dir)
        for name in ["tokenizer.json", "tokenizer_config.json"]:
            path = os.path.join(prefix_dir, name)
            with open(path, encoding="utf-8") as f:
                j = json.load(f)
            if name == "tokenizer.json":
                j["pre_tokenizer"]["add_prefix_space"] = True
            else:
                j["add_prefix_space"] = True
            with open(path, "w", encoding="utf-8") as f:
                json.dump(j, f, ensure_ascii=False)
        os.makedirs(files_dir)
        for name in ["vocab.json", "merges.txt"]:
            shutil.copy(os.path.join(FOLDER, name), files_dir)
        with open(os.path.join(files_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(files_config, f)
        prefix = RobertaTokenizerFast.from_pretrained(prefix_dir)
        files = RobertaTokenizerFast.from_pretrained(files_dir)
        assert prefix.add_prefix_space and len(files) == VOCAB_SIZE
        # transformers builds the pre-tokenizer from tokenizer_config.json's add_prefix_space
        # alone (the test relies on it): tokenizer.json saying false changes nothing.
        config_only_dir = os.path.join(tmp, "config-only")
        shutil.copytree(FOLDER, config_only_dir)
        shutil.copy(os.path.join(prefix_dir, "tokenizer_config.json"), config_only_dir)
        config_only = RobertaTokenizerFast.from_pretrained(config_only_dir)
        assert all(ids(config_only, text) == ids(prefix, text) for text in CASES)
        cases = []
        for text in CASES:
            case = {"text": text, "ids": ids(tokenizer, text), "ids_16": ids(tokenizer, text, 16),
                    "prefix_space": ids(prefix, text), "files": ids(files, text)}
            # The tokenizers library alone reads tokenizer.json the same way.
            assert backend.encode(text).ids == case["ids"], text
            cases.append(case)
    assert any(c["ids"] != c["prefix_space"] for c in cases) and any(c["ids"] != c["files"] for c in cases)
    with open(os.path.join(OUT, "byte-bpe-cases.json"), "w", encoding="utf-8") as f:
        f.write("{\n\"files_config\": " + json.dumps(files_config, ensure_ascii=False) + ",\n\"cases\": [\n")
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]\n}\n")

    probe_tok, header = probe_tokenizer()
    rows = ["\t".join(header)]
    for first in range(0, 0x110000, BLOCK):
        if not block_code_points(first):
            continue
        got = probe_tok.encode(probe(first)).ids
        rows.append("\t".join(["x", f"{first:04X}", str(len(got)), digest(got)]))
    with gzip.GzipFile(os.path.join(OUT, "byte-bpe-code-points.tsv.gz"), "wb", mtime=0) as f:
        f.write(("\n".join(rows) + "\n").encode())
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {FOLDER}; {len(cases)} cases, "
          f"{len(rows) - 1} code-point blocks")


if __name__ == "__main__":
    main()
