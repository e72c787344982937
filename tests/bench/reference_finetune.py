"""Python reference for the fine-tuning benchmark: what an msa trial with a trainable text
top does per epoch, in PyTorch. The top layers are transformers' BertLayers of the same
checkpoint (the last `trainable_layers` of BertModel.from_pretrained), fed the prefix
hidden states msa stored (h5py, the trial's prefix key in metrics.json) with the mask
transformers builds for its attention implementation; mean pooling over real tokens and
L2 normalisation as the trial's config.toml says; a gated fusion (msa's `gated`: tanh
projections mixed by a sigmoid gate, dropout) over the stored image features; a linear
classifier; cross-entropy; AdamW in two groups (head, encoder) with transformers' linear
warmup/decay; gradient clipping. Each training batch takes 32 rows cut to their longest
real text, as msa's trainer cuts them; with --bucket, batches of similar lengths as
[train] bucket_by_length makes them. After each epoch a validation pass in batches of 256
(msa's evaluation batch), as msa times its epochs. Rows and splits come from the trial's
predictions.csv. Prints one JSON object: seconds per epoch (training steps + validation)
and of the training steps alone, their medians, the train losses.

  reference_finetune.py RUN_FOLDER --epochs 3 --threads 2 [--bucket] [--attention sdpa|eager]
"""
import argparse
import csv
import json
import math
import os
import statistics
import time
import tomllib

import h5py
import numpy as np
import torch
import transformers
from transformers import BertModel
from transformers.masking_utils import create_bidirectional_mask

# msa's trainer: bucket_by_length sorts within spans of this many batches; evaluation
# runs this many rows per pass.
BUCKET_SPAN_BATCHES = 50
EVAL_BATCH = 256


def read_group(feature, index, tokens):
    """Rows `index` (into the group's ids) of a store group: pooled, or tokens and mask."""
    with h5py.File(feature["store"], "r") as h5:
        g = h5[feature["key"]]
        if not tokens:
            return torch.from_numpy(g["pooled"][:].astype(np.float32)[index])
        mask = g["mask"][:][index]
        # Positions no row uses are dropped here once; each batch is cut further below.
        used = int(np.nonzero(mask.any(0))[0].max()) + 1
        states = g["tokens"][:, :used][index].astype(np.float32)
        return torch.from_numpy(states), torch.from_numpy(mask[:, :used].astype(np.float32))


def load(run):
    metrics = json.load(open(f"{run}/metrics.json"))
    config = tomllib.load(open(f"{run}/config.toml", "rb"))
    rows = list(csv.DictReader(open(f"{run}/predictions.csv", encoding="utf-8")))
    labels = [k[2:] for k in rows[0] if k.startswith("p_")]
    rows = [r for r in rows if r["split"] in ("train", "valid")]
    features = {}
    for modality in ("text", "image"):
        f = metrics["features"][modality]
        with h5py.File(f["store"], "r") as h5:
            ids = {i: n for n, i in enumerate(h5[f["key"]]["ids"].asstr()[:])}
        features[modality] = read_group(f, [ids[r["id"]] for r in rows], tokens=modality == "text")
    y = torch.tensor([labels.index(r["label"]) for r in rows])
    split = np.array([r["split"] for r in rows])
    pick = lambda name: torch.from_numpy(np.nonzero(split == name)[0])
    return config, features, y, pick("train"), pick("valid"), len(labels)


class GatedFusion(torch.nn.Module):
    """msa's `gated` fusion, then the trainer's linear classifier."""

    def __init__(self, text_dim, image_dim, hidden, dropout, classes):
        super().__init__()
        self.text = torch.nn.Linear(text_dim, hidden)
        self.image = torch.nn.Linear(image_dim, hidden)
        self.gate = torch.nn.Linear(text_dim + image_dim, hidden)
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(hidden, classes)

    def forward(self, x_text, x_image):
        z = torch.sigmoid(self.gate(torch.cat([x_text, x_image], dim=1)))
        h = z * torch.tanh(self.text(x_text)) + (1 - z) * torch.tanh(self.image(x_image))
        return self.classifier(self.dropout(h))


class Model(torch.nn.Module):
    def __init__(self, bert, k, normalize, head, bf16=False):
        super().__init__()
        self.bf16 = bf16
        self.config = bert.config
        self.layers = torch.nn.ModuleList(bert.encoder.layer[-k:])
        # msa's trainable top holds the pooler too (no gradient under mean pooling).
        self.pooler = bert.pooler
        self.normalize = normalize
        self.head = head

    def forward(self, states, mask, image):
        attention_mask = create_bidirectional_mask(config=self.config, inputs_embeds=states, attention_mask=mask)
        # --bf16: the top under CPU autocast, as msa's [train] precision = "bfloat16"; the head in float32.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for layer in self.layers:
                states = layer(states, attention_mask)
            weights = mask.unsqueeze(-1)
            pooled = (states * weights).sum(1) / weights.sum(1).clamp_min(1e-9)
            if self.normalize:
                pooled = pooled / pooled.norm(2, 1, True).clamp_min(1e-12)
        return self.head(pooled.float(), image)


def cut(states, mask, rows):
    """The rows, cut after the last position any of them uses (msa's trainer)."""
    m = mask[rows]
    length = int(m.any(0).nonzero().max()) + 1
    return states[rows][:, :length], m[:, :length]


def bucketed(order, lengths, batch, rng):
    """msa's bucket_by_length: sorted by length within spans of 50 batches, the full
    batches shuffled, the partial one last."""
    span = BUCKET_SPAN_BATCHES * batch
    order = np.concatenate([s[np.argsort(lengths[s], kind="stable")] for s in np.split(order, range(span, len(order), span))])
    full = len(order) // batch
    picks = rng.permutation(full)
    return np.concatenate([order[b * batch:(b + 1) * batch] for b in picks] + [order[full * batch:]])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bucket", action="store_true")
    parser.add_argument("--attention", default=None, help="attn_implementation (default: transformers' choice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="the top layers under bfloat16 CPU autocast")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config, features, y, train, valid, classes = load(args.run)
    states, mask = features["text"]
    image = features["image"]
    text_cfg, fusion_cfg, train_cfg = config["encoders"]["text"], config["fusion"], config["train"]
    assert fusion_cfg["plugin"] == "gated", fusion_cfg
    bert = BertModel.from_pretrained(text_cfg["checkpoint"], attn_implementation=args.attention)
    k = text_cfg["trainable_layers"]
    head = GatedFusion(bert.config.hidden_size, image.shape[1], fusion_cfg["hidden"], fusion_cfg["dropout"], classes)
    model = Model(bert, k, text_cfg["normalize"], head, args.bf16)
    assert text_cfg["pooling"] == "mean", text_cfg
    del bert
    top = list(model.layers.parameters()) + list(model.pooler.parameters() if model.pooler is not None else [])
    opt = torch.optim.AdamW([{"params": list(head.parameters()), "lr": train_cfg["learning_rate"]},
                             {"params": top, "lr": train_cfg["encoder_learning_rate"]}],
                            weight_decay=train_cfg["weight_decay"])
    batch = train_cfg["batch_size"]
    steps = math.ceil(len(train) / batch) * args.epochs
    warmup = round(train_cfg["warmup"] * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    lengths = mask.sum(1).numpy()
    rng = np.random.default_rng(args.seed)
    epoch_seconds, train_seconds, losses, batch_tokens = [], [], [], []
    for _ in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = train.numpy()[rng.permutation(len(train))]
        if args.bucket:
            order = bucketed(order, lengths, batch, rng)
        total = 0.0
        for b in range(0, len(order), batch):
            rows = torch.from_numpy(order[b:b + batch])
            s, m = cut(states, mask, rows)
            batch_tokens.append(s.shape[1])
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(s, m, image[rows]), y[rows])
            total += loss.item()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg["grad_clip"])
            opt.step()
            sched.step()
        trained = time.perf_counter()
        model.eval()
        with torch.no_grad():
            for b in range(0, len(valid), EVAL_BATCH):
                rows = valid[b:b + EVAL_BATCH]
                s, m = cut(states, mask, rows)
                logits = model(s, m, image[rows])
                logits.softmax(1)
                torch.nn.functional.cross_entropy(logits, y[rows]).item()
        done = time.perf_counter()
        epoch_seconds.append(done - start)
        train_seconds.append(trained - start)
        losses.append(total / math.ceil(len(order) / batch))
    print(json.dumps({"epoch_seconds": epoch_seconds, "epoch_seconds_median": statistics.median(epoch_seconds),
                      "train_seconds": train_seconds, "train_seconds_median": statistics.median(train_seconds),
                      "train_loss": losses, "mean_batch_tokens": float(np.mean(batch_tokens)),
                      "train_rows": len(train), "valid_rows": len(valid), "bucket": args.bucket, "bf16": args.bf16,
                      "attention": model.config._attn_implementation, "threads": torch.get_num_threads(),
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
                      "torch": torch.__version__, "transformers": transformers.__version__}))


if __name__ == "__main__":
    main()
