#!/usr/bin/env python3
"""Generates tests/fixtures/images: small synthetic images and what Pillow and Hugging Face
image processors make of them (the expected values of tests/unit/test_image_*.cpp).

    python3 -m venv .venv && .venv/bin/pip install pillow numpy [transformers]
    .venv/bin/python scripts/make-image-fixtures.py

Expected values come from Pillow plus numpy replaying transformers' steps (resize through
PIL, center crop, float64 rescale cast to float32, float32 normalize). When transformers is
installed, its PIL-backend processors are run on the same configs as a cross-check and any
difference stops the script.

    .venv/bin/python scripts/make-image-fixtures.py --checksums DIR 1.jpg 2.jpg

writes tests/fixtures/images/dataset-checksums.json, the FNV-1a checksums that the dataset
tests (which skip when the dataset is absent) compare with; nothing derived from dataset
images beyond those checksums is written.
"""

import argparse
import json
import math
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "images"
CHECKSUMS = "dataset-checksums.json"  # kept when the rest is regenerated

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
EFFICIENTNET_STD = [0.47853944, 0.4732864, 0.47434163]


# ---- synthetic images ---------------------------------------------------------------------

def photo_like(width, height, seed):
    """Gradients, a sharp-edged disc and noise: smooth areas and edges that make bicubic
    overshoot (so clipping is exercised), with no two rows alike."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / width * 5.0 + y / height * 1.3)
    g = 255 * (y / max(height - 1, 1))
    b = 128 + 110 * np.cos((x - y) / 9.0)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (min(width, height) * 0.25) ** 2
    rgb = np.stack([r, g, b], axis=-1)
    rgb[disc] = [250, 20, 240]
    rgb[:, : max(width // 8, 1)] = [5, 5, 5]
    rgb += rng.normal(0, 12, rgb.shape)
    return np.clip(rgb, 0, 255).round().astype(np.uint8)


# ---- a minimal PNG writer, for layouts Pillow cannot save ---------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def pack_rows(samples, bit_depth):
    """samples: (h, w, channels) integers -> list of packed rows (filter byte 0 added)."""
    h = samples.shape[0]
    rows = []
    for yy in range(h):
        row = samples[yy].reshape(-1)
        if bit_depth == 16:
            data = row.astype(">u2").tobytes()
        elif bit_depth == 8:
            data = row.astype(np.uint8).tobytes()
        else:
            per_byte = 8 // bit_depth
            padded = np.zeros(math.ceil(len(row) / per_byte) * per_byte, dtype=np.int64)
            padded[: len(row)] = row
            data = bytes(
                sum(int(v) << (8 - bit_depth * (i + 1)) for i, v in enumerate(padded[j : j + per_byte]))
                for j in range(0, len(padded), per_byte)
            )
        rows.append(b"\0" + data)
    return rows


def write_png(path, samples, bit_depth, color_type, plte=None, trns=None, interlace=False):
    h, w = samples.shape[:2]

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b""
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += b"".join(pack_rows(sub, bit_depth))
    else:
        raw = b"".join(pack_rows(samples, bit_depth))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlace)))
    if plte is not None:
        png += chunk(b"PLTE", bytes(np.asarray(plte, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def make_images():
    """Writes the source images; returns {file name: PIL's convert("RGB") of it}."""
    rng = np.random.default_rng(7)
    photo = photo_like(97, 61, seed=1)
    Image.fromarray(photo).save(OUT / "photo.jpg", quality=90)  # 4:2:0
    Image.fromarray(photo_like(45, 37, seed=2)).save(OUT / "progressive444.jpg", quality=92, subsampling=0,
                                                     progressive=True)
    Image.fromarray(photo_like(33, 40, seed=3)).convert("L").save(OUT / "grey.jpg", quality=90)
    Image.fromarray(photo_like(20, 16, seed=4)).convert("CMYK").save(OUT / "cmyk.jpg", quality=95)
    Image.fromarray(photo_like(333, 250, seed=5)).save(OUT / "big.jpg", quality=80)

    rgba = np.dstack([photo_like(31, 23, seed=6), rng.integers(0, 256, (23, 31), dtype=np.uint8)])
    Image.fromarray(rgba, "RGBA").save(OUT / "alpha.png")
    la = np.dstack([photo_like(15, 12, seed=8)[..., 1], rng.integers(0, 256, (12, 15), dtype=np.uint8)])
    Image.fromarray(la, "LA").save(OUT / "grey-alpha.png")

    palette = rng.integers(0, 256, (16, 3))
    indices = rng.integers(0, 16, (19, 29, 1))
    write_png(OUT / "palette4-trns.png", indices, 4, 3, plte=palette, trns=bytes(range(0, 256, 32)))
    grey16 = np.concatenate([rng.integers(0, 300, (6, 17, 1)), rng.integers(0, 65536, (7, 17, 1))])
    write_png(OUT / "grey16.png", grey16, 16, 0)
    write_png(OUT / "grey-alpha16.png", rng.integers(0, 65536, (9, 11, 2)), 16, 4)
    write_png(OUT / "rgb16-interlaced.png", rng.integers(0, 65536, (14, 19, 3)), 16, 2, interlace=True)
    write_png(OUT / "grey2-trns.png", rng.integers(0, 4, (7, 13, 1)), 2, 0, trns=struct.pack(">H", 2))

    # Pillow suggests RGBA for palette images with tRNS; convert("RGB") is what is wanted.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    decoded = {}
    for path in sorted(OUT.iterdir()):
        if path.suffix in (".jpg", ".png") and not path.name.startswith("expected"):
            decoded[path.name] = np.asarray(Image.open(path).convert("RGB"))
    return decoded


# ---- Hugging Face's steps, replayed ---------------------------------------------------------

SHORTEST_EDGE_TYPES = ("CLIPImageProcessor", "BitImageProcessor")


def size_dict(value, default_to_square):
    """transformers' get_size_dict: what an int or a [height, width] list means."""
    if isinstance(value, int):
        return {"height": value, "width": value} if default_to_square else {"shortest_edge": value}
    if isinstance(value, list):
        return {"height": value[0], "width": value[1]}
    return value


def output_size(cfg, height, width):
    size = size_dict(cfg["size"], cfg["image_processor_type"] not in SHORTEST_EDGE_TYPES)
    if "shortest_edge" in size:  # get_resize_output_image_size(default_to_square=False)
        s = size["shortest_edge"]
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = s, int(s * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)
    return size["height"], size["width"]


def center_crop(chw, crop_h, crop_w):
    """transformers.image_transforms.center_crop, padding included."""
    _, h, w = chw.shape
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    bottom, right = top + crop_h, left + crop_w
    if top >= 0 and bottom <= h and left >= 0 and right <= w:
        return chw[:, top:bottom, left:right]
    new_h, new_w = max(crop_h, h), max(crop_w, w)
    padded = np.zeros((chw.shape[0], new_h, new_w), dtype=chw.dtype)
    top_pad, left_pad = math.ceil((new_h - h) / 2), math.ceil((new_w - w) / 2)
    padded[:, top_pad : top_pad + h, left_pad : left_pad + w] = chw
    top, bottom, left, right = top + top_pad, bottom + top_pad, left + left_pad, right + left_pad
    return padded[:, max(0, top) : min(new_h, bottom), max(0, left) : min(new_w, right)]


def hf_preprocess(rgb, cfg):
    image = np.moveaxis(rgb, -1, 0)  # CHW uint8, as the PIL backend works
    if cfg.get("do_resize", True):
        h, w = output_size(cfg, *image.shape[1:])
        pil = Image.fromarray(np.moveaxis(image, 0, -1))
        image = np.moveaxis(np.asarray(pil.resize((w, h), resample=cfg["resample"])), -1, 0)
    if cfg.get("do_center_crop", False):
        crop = size_dict(cfg["crop_size"], True)
        image = center_crop(image, crop["height"], crop["width"])
    if cfg.get("do_rescale", True):
        image = (image.astype(np.float64) * cfg.get("rescale_factor", 1 / 255)).astype(np.float32)
        if cfg.get("rescale_offset", False):
            image -= 1
    std = np.array(cfg["image_std"], dtype=np.float32)
    if cfg.get("do_normalize", True):
        image = image.astype(np.float32) if image.dtype == np.uint8 else image
        mean = np.array(cfg["image_mean"], dtype=np.float32)
        image = ((image.T - mean) / std).T
    if cfg.get("include_top", False):
        image = ((image.T - np.float32(0)) / std).T
    return image


def transformers_preprocess(rgb, cfg):
    """transformers' own PIL-backend processor, or None when it is not installed."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        return None
    kind = cfg["image_processor_type"]
    modules = {
        "ViTImageProcessor": ("vit", "ViTImageProcessorPil"),
        "CLIPImageProcessor": ("clip", "CLIPImageProcessorPil"),
        "EfficientNetImageProcessor": ("efficientnet", "EfficientNetImageProcessorPil"),
    }
    module, name = modules[kind]
    try:
        mod = __import__(f"transformers.models.{module}.image_processing_pil_{module}", fromlist=[name])
        cls = getattr(mod, name)
    except (ImportError, AttributeError):  # transformers 4.x: the slow processor is the PIL one
        import transformers as t
        cls = getattr(t, kind)
    kwargs = {k: v for k, v in cfg.items() if k != "image_processor_type"}
    processor = cls(**kwargs)
    out = processor(Image.fromarray(rgb), return_tensors="np")["pixel_values"][0]
    return np.asarray(out)


# ---- cases ----------------------------------------------------------------------------------

def vit(size, resample=2, **extra):
    return {"image_processor_type": "ViTImageProcessor", "do_resize": True, "size": size, "resample": resample,
            "do_rescale": True, "rescale_factor": 0.00392156862745098, "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], **extra}


def clip(shortest_edge, crop, **extra):
    return {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": shortest_edge},
            "resample": 3, "do_center_crop": True, "crop_size": crop, "do_rescale": True,
            "rescale_factor": 0.00392156862745098, "do_normalize": True, "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD, "do_convert_rgb": True, **extra}


def efficientnet(size, **extra):
    return {"image_processor_type": "EfficientNetImageProcessor", "do_resize": True, "size": size, "resample": 0,
            "do_center_crop": False, "crop_size": {"height": 289, "width": 289}, "do_rescale": True,
            "rescale_factor": 0.00392156862745098, "rescale_offset": False, "do_normalize": True,
            "image_mean": IMAGENET_MEAN, "image_std": EFFICIENTNET_STD, "include_top": True, **extra}


RAW = {"do_rescale": False, "do_normalize": False}  # pixel_values stay 0..255: expected stored as PNG

CASES = [
    # name, image, config
    ("vit-bilinear-32", "photo.jpg", vit({"height": 32, "width": 32})),
    ("vit-bilinear-upscale", "alpha.png", vit({"height": 48, "width": 64})),
    ("vit-bicubic-int-size", "progressive444.jpg", vit(30, resample=3)),
    ("clip-bicubic-crop-24", "photo.jpg", clip(24, {"height": 24, "width": 24})),
    ("clip-portrait-int-size", "grey.jpg", clip(19, 17, size=19)),
    ("clip-crop-larger-than-image", "photo.jpg", clip(14, {"height": 25, "width": 31})),
    ("crop-without-resize-pads", "palette4-trns.png", clip(1, {"height": 14, "width": 40}, do_resize=False)),
    ("bicubic-upscale", "grey-alpha.png", vit({"height": 41, "width": 37}, resample=3)),
    ("efficientnet-nearest-down", "photo.jpg", efficientnet({"height": 40, "width": 50})),
    ("efficientnet-nearest-up-offset", "cmyk.jpg",
     efficientnet({"height": 37, "width": 23}, rescale_factor=1 / 127.5, rescale_offset=True, include_top=False)),
    # The height shrinks far more than the width: Pillow 13 resamples columns first.
    ("vit-bilinear-columns-first", "grey.jpg", vit({"height": 16, "width": 30})),
    ("lanczos", "grey16.png", vit({"height": 9, "width": 23}, resample=1)),
    ("box", "rgb16-interlaced.png", vit({"height": 11, "width": 7}, resample=4)),
    ("hamming", "grey2-trns.png", vit({"height": 5, "width": 20}, resample=5)),
    ("vit-224-raw", "big.jpg", vit({"height": 224, "width": 224}, **RAW)),
    ("clip-224-raw", "big.jpg", clip(224, {"height": 224, "width": 224}, **RAW)),
]


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def checksums(folder, names):
    """Writes the checksums of Pillow's decoded pixels and of the ViT-224 and CLIP-224
    uint8 pixel values of dataset images, for the test that skips without the dataset."""
    entries = []
    for name in names:
        rgb = np.asarray(Image.open(Path(folder) / name).convert("RGB"))
        vit224 = hf_preprocess(rgb, vit({"height": 224, "width": 224}, **RAW))
        clip224 = hf_preprocess(rgb, clip(224, {"height": 224, "width": 224}, **RAW))
        entries.append({"image": name, "width": rgb.shape[1], "height": rgb.shape[0],
                        "rgb": f"{fnv1a64(rgb.tobytes()):016x}",
                        "vit-224-raw": f"{fnv1a64(vit224.tobytes()):016x}",
                        "clip-224-raw": f"{fnv1a64(clip224.tobytes()):016x}"})
    doc = {"about": "FNV-1a 64 of Pillow's RGB bytes and of CHW uint8 pixel values (configs/vit-224-raw.json, "
                    "configs/clip-224-raw.json) of dataset images; made by make-image-fixtures.py --checksums",
           "pillow": PIL.__version__, "images": entries}
    (OUT / CHECKSUMS).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT / CHECKSUMS}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checksums", nargs="+", metavar=("DIR", "NAME"))
    args = parser.parse_args()
    # The tests use PillowPassOrder::pillow13, the default; older Pillow orders the two
    # resampling passes differently in some cases.
    if int(PIL.__version__.split(".")[0]) < 13:
        sys.exit(f"Pillow {PIL.__version__}: the expected values are Pillow 13's; pip install 'pillow>=13'")
    if args.checksums:
        checksums(args.checksums[0], args.checksums[1:])
        return

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.rglob("*"):
        if old.is_file() and old.name != CHECKSUMS:
            old.unlink()
    (OUT / "expected").mkdir(exist_ok=True)
    (OUT / "configs").mkdir(exist_ok=True)

    decoded = make_images()
    manifest = {"decode": [], "preprocess": []}
    for name, rgb in decoded.items():
        if rgb.nbytes > 32768:  # big.jpg: its pixels are checked through the 224-pixel cases
            continue
        (OUT / "expected" / f"{name}.rgb").write_bytes(rgb.tobytes())
        manifest["decode"].append({"image": name, "width": rgb.shape[1], "height": rgb.shape[0],
                                   "expected": f"expected/{name}.rgb"})

    checked = 0
    for name, image, cfg in CASES:
        (OUT / "configs" / f"{name}.json").write_text(json.dumps(cfg, indent=1) + "\n")
        expected = hf_preprocess(decoded[image], cfg)
        reference = transformers_preprocess(decoded[image], cfg)
        if reference is not None:
            if reference.shape != expected.shape or not np.array_equal(reference.astype(np.float32),
                                                                       expected.astype(np.float32)):
                sys.exit(f"{name}: transformers disagrees with the replayed steps "
                         f"(max abs diff {np.abs(reference - expected).max()})")
            checked += 1
        entry = {"name": name, "image": image, "config": f"configs/{name}.json", "shape": list(expected.shape)}
        if expected.dtype == np.uint8:  # raw pixels: a lossless PNG is about half the raw size
            Image.fromarray(np.moveaxis(expected, 0, -1)).save(OUT / "expected" / f"{name}.png", optimize=True)
            entry.update(expected=f"expected/{name}.png", dtype="uint8")
        else:
            (OUT / "expected" / f"{name}.f32").write_bytes(expected.astype("<f4").tobytes())
            entry.update(expected=f"expected/{name}.f32", dtype="float32", image_std=cfg["image_std"],
                         divided_by_std_twice=cfg.get("include_top", False),
                         rescale_factor=cfg.get("rescale_factor", 1 / 255))
        manifest["preprocess"].append(entry)

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total / 1024:.0f} KiB); transformers cross-checked {checked} of {len(CASES)} cases")


if __name__ == "__main__":
    main()
