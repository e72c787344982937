"""Python reference for `msa_bench encoder`: encodes the same samples, in the same
batches, with the reference implementation on torch, times it, and compares its
features with ours. Prints one JSON object (median of R runs, max abs diff, cosine).

  minilm            sentence-transformers SentenceTransformer(folder): mean pooling,
                    normalized (all-MiniLM-L6-v2)
  efficientnet-lite efficientnet_lite_pytorch EfficientNet.from_pretrained(variant,
                    weights_path): pooled features (global average pool of the head),
                    images decoded and preprocessed with Pillow + numpy as the
                    efficientnet-lite plugin does
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time

import numpy as np
import torch


def read_samples(prefix):
    with open(prefix + ".jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def batches(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def minilm(samples, folder, batch_size):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(folder, device="cpu")
    texts = [s["text"] for s in samples]

    def run():
        out = [model.encode(chunk, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
               for chunk in batches(texts, batch_size)]
        return np.concatenate(out)

    return run


def efficientnet_lite(samples, folder, batch_size):
    from efficientnet_lite_pytorch import EfficientNet
    from PIL import Image

    config = json.load(open(os.path.join(folder, "config.json")))
    weights = [f for f in os.listdir(folder) if f.endswith(".pth")][0]
    with contextlib.redirect_stdout(sys.stderr):  # it prints "Loaded pretrained weights"
        model = EfficientNet.from_pretrained(config["variant"], weights_path=os.path.join(folder, weights),
                                             num_classes=config.get("num_classes", 1000))
    model.eval()
    # The lite preprocessing (see efficientnet_lite_image_options): short side to
    # image_size + 32, bicubic, centre crop, (x - 127) / 128 on 0..255 pixels; with
    # transformers' PIL image processor, which libmsa-media reproduces exactly.
    from transformers import CLIPImageProcessorPil

    size = config.get("image_size", 224)
    processor = CLIPImageProcessorPil(size={"shortest_edge": size + 32}, crop_size={"height": size, "width": size},
                                      resample=Image.BICUBIC, image_mean=[127 / 255] * 3, image_std=[128 / 255] * 3)

    def preprocess(path):
        return processor(Image.open(path), return_tensors="np")["pixel_values"][0]

    paths = [s["image"] for s in samples]

    def run():
        out = []
        with torch.no_grad():
            for chunk in batches(paths, batch_size):
                x = torch.from_numpy(np.stack([preprocess(p) for p in chunk]))
                features = model.extract_features(x)
                out.append(torch.flatten(model._avg_pooling(features), 1).numpy())
        return np.concatenate(out)

    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["minilm", "efficientnet-lite"])
    parser.add_argument("folder")
    parser.add_argument("prefix", help="the --out PREFIX of msa_bench encoder")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    samples = read_samples(args.prefix)
    run = (minilm if args.model == "minilm" else efficientnet_lite)(samples, args.folder, args.batch)
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        reference = run()
        runs.append(time.perf_counter() - start)
    ours = np.fromfile(args.prefix + ".f32", dtype=np.float32).reshape(len(samples), -1)
    cos = (ours * reference).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1) + 1e-12)
    seconds = statistics.median(runs)
    print(json.dumps({"benchmark": "reference", "model": args.model, "samples": len(samples), "threads": args.threads,
                      "batch_size": args.batch, "seconds": seconds, "samples_per_second": len(samples) / seconds,
                      "max_abs_diff": float(np.abs(ours - reference).max()), "min_cosine": float(cos.min()),
                      "mean_cosine": float(cos.mean())}))


if __name__ == "__main__":
    main()
