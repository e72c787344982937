"""Parity fixture for ViT: a tiny random-weight transformers ViTModel and its outputs.

Writes OUT/vit (OUT is the first argument, tests/fixtures/parity): config.json and
model.safetensors of a ViTModel with a pooler (2 layers, hidden 32, 4 heads, image_size
[30, 20] with 10-pixel patches = 3x2 patches, pooler_output_size 24), saved by
save_pretrained in the checkpoint names the Hub uses (encoder.layer.N.attention.attention.query),
and io.safetensors with two random images and transformers' outputs in float32 eval mode:
hidden_states.0..2 (the embedding output, then each layer's, before the final layernorm),
last_hidden_state, pooler_output.
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import ViTConfig, ViTModel

SEED = 20240614


def randomize(model, generator):
    # Random biases and layernorm parameters make a swapped or unloaded tensor visible.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias") or "norm" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))


def main(out: Path):
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        image_size=[30, 20],
        patch_size=10,
        num_channels=3,
        qkv_bias=True,
        pooler_output_size=24,
        pooler_act="tanh",
        initializer_range=0.3,
    )
    model = ViTModel(config, add_pooling_layer=True)
    randomize(model, generator)
    model.eval()

    pixel_values = torch.rand((2, 3, 30, 20), generator=generator) * 2 - 1
    with torch.no_grad():
        outputs = model(pixel_values=pixel_values, output_hidden_states=True)
        assert len(outputs.hidden_states) == config.num_hidden_layers + 1
        # hidden_states end with the last layer's output; last_hidden_state is it normalized.
        assert torch.allclose(model.layernorm(outputs.hidden_states[-1]), outputs.last_hidden_state)

    folder = out / "vit"
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    io = {"pixel_values": pixel_values, "last_hidden_state": outputs.last_hidden_state,
          "pooler_output": outputs.pooler_output}
    for i, hidden in enumerate(outputs.hidden_states):
        io[f"hidden_states.{i}"] = hidden
    save_file({k: v.clone().contiguous() for k, v in io.items()}, str(folder / "io.safetensors"))
    print(f"wrote {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity"))
