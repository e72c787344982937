#!/usr/bin/env python3
"""Expected outputs of a real EfficientNet-Lite ImageNet checkpoint (Lite0 or Lite2, as
scripts/fetch-models puts them in models/) on 20 mvsa-ecnu images, computed by the reference
package efficientnet_lite_pytorch, for tests/unit/test_efficientnet_lite_real.cpp.

    .venv/bin/python scripts/make-real-fixtures-efficientnet.py \
        [--variant efficientnet-lite0 | efficientnet-lite2] [--weights FILE] [--data DIR]

--weights defaults to the variant's file in models/<variant>/. The images are the first 20
guids in numeric order from DATA/*.jpg (default ../shared/data/mvsa-ecnu/data, or
$MSA_SHARED_DIR/data/mvsa-ecnu/data). Each is decoded with Pillow and preprocessed by
transformers' own PIL-backend image processor with the options
msa::models::efficientnet_lite_image_options gives the variant at the reference's resolution
R (EfficientNet.get_image_size: 224 for lite0, 260 for lite2): short side R + 32, bicubic,
centre crop R, rescale 1/255, mean 127/255, std 128/255, which libmsa-media reproduces bit
for bit; the C++ test checks that through the FNV-1a checksum of each image's float32
pixels. Nothing derived from the images except those checksums and the model's outputs is
written.

Writes tests/fixtures/real/:
  <variant>-mvsa20.json         images, preprocessing, checksums, top-5 per image
  <variant>-mvsa20.safetensors  logits [20, 1000] and pooled [20, 1280] (float32)
"""

import argparse
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
import transformers
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "real"
COUNT = 20
CROP_PADDING = 32  # TensorFlow's eval crop: image_size out of image_size + 32
# The checkpoints scripts/fetch-models fetches, by variant: the name in messages, and the
# weights file in models/<variant>/.
TITLES = {"efficientnet-lite0": "EfficientNet-Lite0", "efficientnet-lite2": "EfficientNet-Lite2"}
WEIGHTS = {
    "efficientnet-lite0": "efficientnet-lite0-57934424.pth",
    "efficientnet-lite2": "efficientnet-lite2-9656183e.pth",
}


def preprocessing(image_size):
    return {
        "do_resize": True,
        "size": {"shortest_edge": image_size + CROP_PADDING},
        "resample": 3,  # bicubic
        "do_center_crop": True,
        "crop_size": {"height": image_size, "width": image_size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        # TensorFlow's efficientnet_lite_builder: MEAN_RGB 127, STDDEV_RGB 128 on 0..255 pixels.
        "image_mean": [127 / 255] * 3,
        "image_std": [128 / 255] * 3,
        "do_convert_rgb": True,
    }


IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def processor(options, mean, std):
    try:
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil as cls
    except ImportError:  # transformers 4.x: the slow processor is the PIL one
        from transformers import CLIPImageProcessor as cls
    return cls(**{**options, "image_mean": mean, "image_std": std})


def default_data() -> Path:
    shared = os.environ.get("MSA_SHARED_DIR")
    base = Path(shared) if shared else ROOT.parent / "shared"
    return base / "data" / "mvsa-ecnu" / "data"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=sorted(WEIGHTS), default="efficientnet-lite0")
    parser.add_argument("--weights", type=Path, help="default: the variant's file in models/<variant>/ (scripts/fetch-models)")
    parser.add_argument("--data", type=Path, default=default_data())
    args = parser.parse_args()
    variant = args.variant
    if args.weights is None:
        args.weights = ROOT / "models" / variant / WEIGHTS[variant]
    if not args.weights.is_file():
        raise SystemExit(f"{args.weights}: no such file (scripts/fetch-models puts {variant} in models/{variant})")
    options = preprocessing(EfficientNet.get_image_size(variant))

    guids = sorted(int(p.stem) for p in args.data.glob("*.jpg") if p.stem.isdigit())[:COUNT]
    names = [f"{g}.jpg" for g in guids]
    if len(names) < COUNT:
        raise SystemExit(f"{args.data}: found {len(names)} <guid>.jpg images, need {COUNT}")

    proc = processor(options, options["image_mean"], options["image_std"])
    pixels = [np.asarray(proc(Image.open(args.data / n).convert("RGB"), return_tensors="np")["pixel_values"][0],
                         dtype=np.float32) for n in names]
    batch = torch.from_numpy(np.stack(pixels))

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = EfficientNet.from_pretrained(variant, weights_path=str(args.weights))
    model.eval()
    with torch.no_grad():
        logits = model(batch)
        pooled = model._avg_pooling(model.extract_features(batch)).flatten(1)
        assert torch.allclose(model._fc(pooled), logits, atol=1e-5)
        # Which normalisation the weights were trained with, measured: the stem conv's output
        # statistics on these photos against _bn0's running statistics (which the training
        # inputs produced). The right normalisation gives variances near the running ones
        # and means that correlate with them.
        evidence = {}
        for label, (mean, std) in {"mean127_std128": (options["image_mean"], options["image_std"]),
                                   "imagenet_mean_std": (IMAGENET_MEAN, IMAGENET_STD)}.items():
            p = processor(options, mean, std)
            b = torch.from_numpy(np.stack([p(Image.open(args.data / n).convert("RGB"), return_tensors="np")["pixel_values"][0]
                                           for n in names]).astype(np.float32))
            y = model._conv_stem(b)
            var_ratio = y.var((0, 2, 3)) / model._bn0.running_var
            corr = np.corrcoef(y.mean((0, 2, 3)).numpy(), model._bn0.running_mean.numpy())[0, 1]
            evidence[label] = {"stem_variance_over_bn0_running_variance_median": round(float(var_ratio.median()), 3),
                               "stem_mean_correlation_with_bn0_running_mean": round(float(corr), 3)}
        print(json.dumps(evidence, indent=1))

    top5 = logits.topk(5, dim=-1)
    doc = {
        "about": f"{TITLES[variant]} ImageNet logits from efficientnet_lite_pytorch (EfficientNet.from_pretrained, "
                 "eval, float32) on the first 20 mvsa-ecnu guids; made by scripts/make-real-fixtures-efficientnet.py",
        "weights": args.weights.name,
        "weights_sha256": hashlib.sha256(args.weights.read_bytes()).hexdigest(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "pillow": Image.__version__,
        "preprocessing": options,
        "normalisation_evidence": evidence,
        "images": [
            {"image": n, "pixels_fnv1a64": fnv1a64(pixels[i].tobytes()),
             "top5": top5.indices[i].tolist(), "top5_logits": [round(v, 4) for v in top5.values[i].tolist()]}
            for i, n in enumerate(names)
        ],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{variant}-mvsa20.json").write_text(json.dumps(doc, indent=1) + "\n")
    save_file({"logits": logits.contiguous(), "pooled": pooled.contiguous()},
              str(OUT / f"{variant}-mvsa20.safetensors"))
    print(f"wrote {OUT}/{variant}-mvsa20.*: {len(names)} images, top-1 "
          f"{[t[0] for t in (e['top5'] for e in doc['images'])]}")


if __name__ == "__main__":
    main()
