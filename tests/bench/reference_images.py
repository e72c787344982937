"""Python reference for `msa_bench images`: the same decode + ViT preprocessing with
Pillow and numpy (what transformers' ViTImageProcessor does), in N processes.
Prints one JSON object with the median of R runs."""
import argparse
import glob
import json
import multiprocessing
import os
import statistics
import time

import numpy as np
from PIL import Image


def preprocess(path, size):
    image = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) * (1 / 255)
    return ((pixels - 0.5) / 0.5).transpose(2, 0, 1)


def work(args):
    paths, size = args
    for path in paths:
        preprocess(path, size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(glob.glob(os.path.join(args.folder, "*.jpg")))
    chunks = [(paths[i::args.threads], args.size) for i in range(args.threads)]
    runs = []
    with multiprocessing.Pool(args.threads) as pool:
        for _ in range(args.repeat):
            start = time.perf_counter()
            pool.map(work, chunks)
            runs.append(time.perf_counter() - start)
    seconds = statistics.median(runs)
    print(json.dumps({"benchmark": "images-python", "images": len(paths), "threads": args.threads,
                      "size": args.size, "seconds": seconds, "images_per_second": len(paths) / seconds}))


if __name__ == "__main__":
    main()
