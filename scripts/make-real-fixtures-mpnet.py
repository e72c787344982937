"""Expected sentence embeddings of the real all-mpnet-base-v2 checkpoint on 20 mvsa-ecnu
texts, from sentence-transformers, for tests/unit/test_mpnet_real.cpp.

    scripts/fetch-models --extra all-mpnet-base-v2
    $(scripts/python-env) scripts/make-real-fixtures-mpnet.py

The texts are those of the first 20 guids (in numeric order) of train.txt, decoded as
GB18030 like msa's reader does. Only the guids, the embeddings and digests of the token
ids are written: never the texts or their token ids (a near copy of them).

Writes tests/fixtures/real/mpnet-mvsa20.json (guids, id digests, versions) and
tests/fixtures/real/mpnet-mvsa20.safetensors (embeddings [20, 768], float32).
"""
import csv
import hashlib
import json
import os
from pathlib import Path

import sentence_transformers
import torch
import transformers
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("MSA_MODELS_DIR", ROOT / "models"))
DATASET = Path(os.environ.get("MSA_SHARED_DIR", ROOT.parent / "shared")) / "data" / "mvsa-ecnu"
OUT = ROOT / "tests" / "fixtures" / "real"
COUNT = 20

with open(DATASET / "train.txt", newline="") as f:
    guids = sorted((row["guid"] for row in csv.DictReader(f)), key=int)[:COUNT]
texts = [(DATASET / "data" / f"{guid}.txt").read_bytes().decode("gb18030") for guid in guids]
model = SentenceTransformer(str(MODELS / "all-mpnet-base-v2"), device="cpu")
names = [type(module).__name__ for module in model]
assert names == ["Transformer", "Pooling", "Normalize"], names
embeddings = model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_tensor=True)
# 64 bits of SHA-256 of the ids joined by commas, as tests/fixtures/tokenizers has them.
ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
digests = [hashlib.sha256(",".join(map(str, row)).encode()).hexdigest()[:16] for row in ids]
OUT.mkdir(parents=True, exist_ok=True)
save_file({"embeddings": embeddings.float().contiguous()}, str(OUT / f"mpnet-mvsa{COUNT}.safetensors"))
(OUT / f"mpnet-mvsa{COUNT}.json").write_text(json.dumps({
    "about": f"all-mpnet-base-v2 sentence embeddings (mean pooling, normalized) from sentence-transformers on the "
             f"first {COUNT} train.txt guids of mvsa-ecnu, and the first 16 hex digits of the SHA-256 of each "
             "text's token ids joined by commas; made by scripts/make-real-fixtures-mpnet.py",
    "max_seq_length": model.max_seq_length, "sentence_transformers": sentence_transformers.__version__,
    "transformers": transformers.__version__, "torch": torch.__version__, "guids": guids,
    "id_counts": [len(row) for row in ids], "id_digests": digests}, indent=1) + "\n")
print(f"{len(guids)} embeddings, max_seq_length {model.max_seq_length} -> {OUT}")
