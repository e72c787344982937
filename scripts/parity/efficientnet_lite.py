"""Parity fixture for EfficientNet-Lite: a width/depth-reduced random-weight model built by
the reference package efficientnet_lite_pytorch, with fixed inputs and its eval
outputs (float64, see main), read by tests/unit/test_parity_efficientnet_lite.cpp.

Usage: python scripts/parity/efficientnet_lite.py tests/fixtures/parity

Why reduced: a real lite0 holds 4.7M parameters (19 MB). The reference builds any width and
depth through its own override mechanism (EfficientNet.from_name(..., width_coefficient=,
depth_coefficient=), i.e. GlobalParams._replace), and the same code paths (round_filters
with the 10% rule, round_repeats, fixed head/stem, first/last group not depth-scaled,
expand_ratio 1 in block 0, residuals only in repeated blocks, stride-2 asymmetric "same"
padding, 3x3 and 5x5 depthwise convs) build it. So efficientnet-lite/ is lite0's table at
width 0.25 and depth 0.5: 10 blocks, 8..80 block channels, the full 1280-channel head,
10 classes. BatchNorm running statistics and affine parameters are random, so they matter.
The full-size variants are covered in two other ways: variants.json lists every tensor
name and shape the reference creates for lite0..lite4 (our module must create exactly
those), and tests/unit/test_efficientnet_lite_real.cpp runs the real lite0 checkpoint.

Writes tests/fixtures/parity/efficientnet-lite/:
  config.json        model_type, variant, the overrides above, image_size 41, num_classes 10
  model.safetensors  the reference's state_dict (num_batches_tracked included)
  io.safetensors     pixel_values [2,3,41,41] (the configured size: the reference's static
                     "same" padding) and its hidden_states.{0..10} (stem output, then every
                     block's output), last_hidden_state [N, h*w, 1280], pooled,
                     logits; dynamic.* : [3,3,29,38] (odd, non-square) run through the same
                     weights built with image_size=None (the reference's dynamic "same"
                     padding): dynamic.pixel_values, dynamic.hidden_states.*, dynamic.pooled,
                     dynamic.logits, dynamic.last_hidden_state
  variants.json      {variant: [[name, shape], ...]} of the reference's state_dict for lite0..4
"""

import json
import sys
from pathlib import Path

import torch
from efficientnet_lite_pytorch import EfficientNet
from safetensors.torch import save_file

SEED = 20240611
OVERRIDES = {"width_coefficient": 0.25, "depth_coefficient": 0.5, "image_size": 41, "num_classes": 10}


def randomize(model: EfficientNet, generator: torch.Generator) -> None:
    """He-scaled random conv/linear weights; random BatchNorm affine parameters and running
    statistics, wide enough that ReLU6 clips at both ends (a plain ReLU would not match)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(0.5 + 2.0 * torch.rand(c, generator=generator))
                module.bias.copy_(0.8 * torch.randn(c, generator=generator))
                module.running_mean.copy_(0.5 * torch.randn(c, generator=generator))
                module.running_var.copy_(0.3 + 2.0 * torch.rand(c, generator=generator))
                module.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=generator)))
            elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) *
                                    (2.0 / module.weight[0].numel()) ** 0.5)
                if module.bias is not None:
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))


def run(model: EfficientNet, prefix: str, pixel_values: torch.Tensor) -> dict:
    """extract_features and forward, step by step, keeping every block's output; the
    replay is checked against the reference's own forward."""
    with torch.no_grad():
        x = model._swish(model._bn0(model._conv_stem(pixel_values)))
        hidden = [x]
        for idx, block in enumerate(model._blocks):
            rate = model._global_params.drop_connect_rate
            if rate:
                rate *= float(idx) / len(model._blocks)
            x = block(x, drop_connect_rate=rate)
            hidden.append(x)
        feature_map = model._swish(model._bn1(model._conv_head(x)))
        pooled = model._avg_pooling(feature_map).flatten(1)
        logits = model._fc(model._dropout(pooled))
        reference = model(pixel_values)
    assert torch.equal(logits, reference), "the step-by-step replay differs from EfficientNet.forward"
    assert torch.equal(feature_map, model.extract_features(pixel_values))
    tensors = {f"{prefix}pixel_values": pixel_values}
    for i, h in enumerate(hidden):
        tensors[f"{prefix}hidden_states.{i}"] = h
    tensors[f"{prefix}last_hidden_state"] = feature_map.flatten(2).transpose(1, 2)
    tensors[f"{prefix}pooled"] = pooled
    tensors[f"{prefix}logits"] = logits
    return tensors


def describe(name: str, tensors: dict) -> None:
    for key in ("hidden_states.0", "hidden_states.5", "hidden_states.10", "last_hidden_state", "pooled", "logits"):
        t = tensors[name + key]
        print(f"  {name}{key}: {list(t.shape)} mean {t.mean():.3f} std {t.std():.3f} "
              f"fraction at 0 {(t == 0).float().mean():.2f} at 6 {(t == 6).float().mean():.2f}")


def main() -> None:
    out = Path(sys.argv[1]) / "efficientnet-lite"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)

    model = EfficientNet.from_name("efficientnet-lite0", **OVERRIDES)
    randomize(model, generator)
    model.eval()
    # The same weights with dynamic "same" padding (image_size=None), for other input sizes.
    dynamic = EfficientNet.from_name("efficientnet-lite0", **{**OVERRIDES, "image_size": None})
    dynamic.load_state_dict(model.state_dict(), strict=True)
    dynamic.eval()

    # Expected outputs in float64: with random batch-norm statistics the network amplifies
    # rounding, and the reference's own float32 result drifts ~1e-3 from its float64 one;
    # the test runs our module in float64 too, so parity is about the network.
    model.double()
    dynamic.double()
    io = run(model, "", torch.randn(2, 3, 41, 41, generator=generator).double())
    io.update(run(dynamic, "dynamic.", torch.randn(3, 3, 29, 38, generator=generator).double()))
    model.float()
    describe("", io)
    describe("dynamic.", io)

    config = {"model_type": "efficientnet-lite", "variant": "efficientnet-lite0", **OVERRIDES}
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, str(out / "io.safetensors"))

    variants = {}
    for i in range(5):
        name = f"efficientnet-lite{i}"
        reference = EfficientNet.from_name(name)
        variants[name] = [[k, list(v.shape)] for k, v in reference.state_dict().items()]
    (out / "variants.json").write_text(
        "{\n" + ",\n".join(f' "{k}": ' + json.dumps(v, separators=(",", ":")) for k, v in variants.items()) + "\n}\n")

    params = sum(v.numel() for k, v in model.state_dict().items() if "num_batches" not in k)
    print(f"wrote {out}: {len(model._blocks)} blocks, {params} parameters")


if __name__ == "__main__":
    main()
