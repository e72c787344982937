"""Parity fixtures for Swin Transformer V2: tiny random Swinv2Model checkpoints with fixed
inputs and transformers' float32 eval outputs, read by tests/unit/test_parity_swinv2.cpp.

Usage: python scripts/parity/swinv2.py tests/fixtures/parity

Writes two model folders, each with config.json, model.safetensors and io.safetensors:
  swinv2/          the task's tiny config (image 32, patch 4, window 4, depths [2, 2]): stage 0
                   has shifted windows with the cyclic-shift mask, stage 1 (4x4 tokens) has its
                   shift turned off by transformers' clamping rule. Also run on 36x44 pixels
                   (odd, non-square token grids: window padding, patch-merging padding, a
                   non-square mask).
  swinv2/variant/  window 8 on a 12x12 grid (padded to 16, shifted) then clamped to 6x6 in stage 1,
                   pretrained_window_sizes [8, 4], no q/v bias, gelu_new, mlp_ratio 2,
                   layer_norm_eps 1e-6, and a mask token applied through bool_masked_pos.
"""

import json
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Swinv2Config, Swinv2Model


def randomize(model: Swinv2Model, seed: int) -> None:
    """Weights far from the defaults, so that every parameter changes the outputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("logit_scale"):
                # Around log(100) = 4.605: some heads are above the clamp, some below.
                param.copy_(4.3 + 0.6 * noise)
            elif "norm" in name and name.endswith("weight"):
                param.copy_(1.0 + 0.2 * noise)
            elif name.endswith("mask_token"):
                param.copy_(noise)
            else:
                param.copy_(0.2 * noise)


def run(model: Swinv2Model, prefix: str, pixel_values: torch.Tensor, bool_masked_pos=None) -> dict:
    # In float64: Swin V2's cosine attention amplifies rounding so much that transformers'
    # own float32 result is 3e-4 from its float64 one after two stages on these random
    # weights; the test runs our module in float64 too, so parity is about the network.
    pixel_values = pixel_values.double()
    with torch.no_grad():
        out = model.double()(pixel_values, bool_masked_pos=bool_masked_pos, output_hidden_states=True)
    model.float()
    tensors = {f"{prefix}pixel_values": pixel_values}
    if bool_masked_pos is not None:
        tensors[f"{prefix}bool_masked_pos"] = bool_masked_pos.to(torch.int64)
    for i, hidden in enumerate(out.hidden_states):
        tensors[f"{prefix}hidden_states.{i}"] = hidden
    tensors[f"{prefix}last_hidden_state"] = out.last_hidden_state
    tensors[f"{prefix}pooler_output"] = out.pooler_output
    return tensors


def save(model: Swinv2Model, folder: Path, io: dict, notes: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    save_file({k: v.contiguous() for k, v in io.items()}, str(folder / "io.safetensors"),
              metadata={k: json.dumps(v) for k, v in notes.items()})
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    print(f"{folder}: {len(io)} io tensors, {size / 1024:.0f} KiB")


def main() -> None:
    out_root = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity")
    torch.manual_seed(0)

    base = Swinv2Config(
        image_size=32, patch_size=4, num_channels=3, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
        window_size=4, pretrained_window_sizes=[0, 0], mlp_ratio=4.0, qkv_bias=True, hidden_act="gelu",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, drop_path_rate=0.1, layer_norm_eps=1e-5,
    )
    model = Swinv2Model(base).eval()
    randomize(model, seed=1)
    io = run(model, "", torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(2)))
    io.update(run(model, "odd.", torch.randn(2, 3, 36, 44, generator=torch.Generator().manual_seed(3))))
    save(model, out_root / "swinv2", io, {"windows": {"stage0": [4, 2], "stage1": [4, 0]}})

    variant = Swinv2Config(
        image_size=24, patch_size=2, num_channels=3, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
        window_size=8, pretrained_window_sizes=[8, 4], mlp_ratio=2.0, qkv_bias=False, hidden_act="gelu_new",
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, drop_path_rate=0.2, layer_norm_eps=1e-6,
    )
    model = Swinv2Model(variant, use_mask_token=True).eval()
    randomize(model, seed=4)
    pixels = torch.randn(2, 3, 24, 24, generator=torch.Generator().manual_seed(5))
    masked = torch.rand(2, 144, generator=torch.Generator().manual_seed(6)) < 0.3
    io = run(model, "", pixels, bool_masked_pos=masked)
    save(model, out_root / "swinv2" / "variant", io, {"windows": {"stage0": [8, 4], "stage1": [6, 0]}})


if __name__ == "__main__":
    main()
