"""Expected sentence embeddings of the real all-MiniLM-L6-v2 checkpoint on 50 mvsa-ecnu
texts, from sentence-transformers, for tests/unit/test_minilm_real.cpp.

    $(scripts/python-env) scripts/make-real-fixtures-minilm.py

The texts are those of the first 50 guids (in numeric order) of train.txt, decoded as
GB18030 like msa's reader does. Only the guids and the embeddings are written: never the
texts or their token ids (a near copy of them).

Writes tests/fixtures/real/minilm-mvsa50.json (guids, versions) and
tests/fixtures/real/minilm-mvsa50.safetensors (embeddings [50, 384], float32).
"""
import csv
import json
import os
from pathlib import Path

import sentence_transformers
import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("MSA_MODELS_DIR", ROOT / "models"))
DATASET = Path(os.environ.get("MSA_SHARED_DIR", ROOT.parent / "shared")) / "data" / "mvsa-ecnu"
OUT = ROOT / "tests" / "fixtures" / "real"

with open(DATASET / "train.txt", newline="") as f:
    guids = sorted((row["guid"] for row in csv.DictReader(f)), key=int)[:50]
texts = [(DATASET / "data" / f"{guid}.txt").read_bytes().decode("gb18030") for guid in guids]
model = SentenceTransformer(str(MODELS / "all-MiniLM-L6-v2"), device="cpu")
embeddings = model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_tensor=True)
OUT.mkdir(parents=True, exist_ok=True)
save_file({"embeddings": embeddings.float().contiguous()}, str(OUT / "minilm-mvsa50.safetensors"))
(OUT / "minilm-mvsa50.json").write_text(json.dumps({
    "about": "all-MiniLM-L6-v2 sentence embeddings (mean pooling, normalized) from sentence-transformers on the "
             "first 50 train.txt guids of mvsa-ecnu; made by scripts/make-real-fixtures-minilm.py",
    "max_seq_length": model.max_seq_length, "sentence_transformers": sentence_transformers.__version__,
    "torch": torch.__version__, "guids": guids}, indent=1) + "\n")
print(f"{len(guids)} embeddings, max_seq_length {model.max_seq_length} -> {OUT}")
