"""Python reference for the trial benchmark: the same head as msa's concat fusion
(Linear -> ReLU -> Dropout -> Linear classifier), cross-entropy, AdamW with transformers'
linear warmup/decay schedule, gradient clipping, a validation pass per epoch, on the same
stored features (h5py) and the same training rows (from the msa run's predictions.csv).
Prints one JSON object: median seconds of R runs and the test weighted F1.

  reference_trial.py RUN_FOLDER --epochs 30 --batch 32 --threads 2 --repeat 3
"""
import argparse
import csv
import json
import math
import statistics
import time

import h5py
import numpy as np
import torch


def load(run):
    metrics = json.load(open(f"{run}/metrics.json"))
    rows = list(csv.DictReader(open(f"{run}/predictions.csv", encoding="utf-8")))
    labels = [k[2:] for k in rows[0] if k.startswith("p_")]
    parts = []
    for modality in ("text", "image"):
        f = metrics["features"].get(modality)
        if not f:
            continue
        with h5py.File(f["store"], "r") as h5:
            g = h5[f["key"]]
            index = {i: n for n, i in enumerate(g["ids"].asstr()[:])}
            pooled = g["pooled"][:].astype(np.float32)
            parts.append(pooled[[index[r["id"]] for r in rows]])
    x = torch.from_numpy(np.concatenate(parts, axis=1))
    y = torch.tensor([labels.index(r["label"]) if r["label"] else -1 for r in rows])
    split = np.array([r["split"] for r in rows])
    pick = lambda name: torch.from_numpy(np.nonzero(split == name)[0])
    return x, y, pick("train"), pick("valid"), pick("test"), len(labels)


def weighted_f1(y, p, classes):
    total = 0.0
    for c in range(classes):
        tp = int(((p == c) & (y == c)).sum())
        pred, true = int((p == c).sum()), int((y == c).sum())
        prec, rec = (tp / pred if pred else 0.0), (tp / true if true else 0.0)
        total += (2 * prec * rec / (prec + rec) if prec + rec else 0.0) * true
    return total / len(y)


def train_once(x, y, train, valid, test, classes, args, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(256, classes))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    steps = math.ceil(len(train) / args.batch) * args.epochs
    warmup = round(0.1 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        for b in train[torch.randperm(len(train), generator=g)].split(args.batch):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            probs = torch.cat([model(x[b]).softmax(1) for b in valid.split(args.batch)])
            weighted_f1(y[valid], probs.argmax(1), classes)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        model.eval()
        f1 = weighted_f1(y[test], model(x[test]).argmax(1), classes)
    return seconds, f1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y, train, valid, test, classes = load(args.run)
    runs = [train_once(x, y, train, valid, test, classes, args, seed) for seed in range(args.repeat)]
    print(json.dumps({"seconds": statistics.median(r[0] for r in runs), "test_weighted_f1": runs[0][1],
                      "train_rows": len(train), "epochs": args.epochs, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
