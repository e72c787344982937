"""Parity fixtures for CLIP: tiny random-weight transformers models and their outputs.

Writes three folders under OUT/clip (OUT is the first argument, tests/fixtures/parity):
  model/        a CLIPModel (both towers, projections, logit_scale), text quick_gelu, vision gelu,
                eos_token_id 98; text rows right-padded, left-padded (a pad query sees no key)
                and one with no EOS at all (transformers then pools position 0)
  text-eos2/    a CLIPTextModelWithProjection with the legacy eos_token_id 2 (pooling at the
                highest token id, first occurrence) and hidden_act gelu_new
  vision/       a CLIPVisionModelWithProjection with hidden_act quick_gelu and odd sizes
Each holds config.json, model.safetensors and io.safetensors (inputs and expected outputs,
float32, eval mode, transformers' default attention implementation).
"""
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import (
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

SEED = 20240611
VOCAB = 99
EOS = 98
BOS = 97
PAD = 1


def text_config(**overrides):
    values = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=11,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        projection_dim=16,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
    )
    values.update(overrides)
    return values


def vision_config(**overrides):
    values = dict(
        hidden_size=24,
        intermediate_size=41,
        num_attention_heads=3,
        num_hidden_layers=2,
        image_size=32,
        patch_size=8,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        projection_dim=16,
    )
    values.update(overrides)
    return values


def randomize(model):
    # The default init leaves LayerNorms at 1/0 and biases at 0, which would hide a swapped
    # or skipped parameter; every tensor gets distinct random values instead.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("logit_scale"):
                param.fill_(3.1)
            elif "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                if name.endswith("weight"):
                    param.copy_(1.0 + 0.2 * torch.randn_like(param))
                else:
                    param.copy_(0.1 * torch.randn_like(param))
            else:
                param.copy_(torch.randn_like(param) * (0.5 / math.sqrt(param.shape[-1]) if param.dim() > 1 else 0.3))


def text_hidden(prefix, out, outputs):
    for i, h in enumerate(outputs.hidden_states):
        out[f"{prefix}.hidden_states.{i}"] = h
    out[f"{prefix}.last_hidden_state"] = outputs.last_hidden_state


def save(folder, model, tensors):
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, str(folder / "io.safetensors"))
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"{folder}: {size} bytes, {len(tensors)} io tensors")


def make_clip_model(root):
    config = CLIPConfig(
        text_config=text_config(), vision_config=vision_config(), projection_dim=16, logit_scale_init_value=3.1
    )
    model = CLIPModel(config).eval()
    randomize(model)
    assert model.config._attn_implementation == "sdpa"

    # Right padding (the CLIP tokenizer's), a left-padded row (its pad queries see no key),
    # a full-length row and one without EOS.
    input_ids = torch.tensor(
        [
            [BOS, 5, 17, 42, EOS, PAD, PAD, PAD, PAD],
            [PAD, PAD, BOS, 8, 9, 10, 11, 12, EOS],
            [BOS, 60, 61, 62, 63, 64, 65, 66, EOS],
            [BOS, 3, 96, 50, PAD, PAD, PAD, PAD, PAD],
        ]
    )
    attention_mask = torch.tensor(
        [
            [1, 1, 1, 1, 1, 0, 0, 0, 0],
            [0, 0, 1, 1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 0, 0, 0, 0, 0],
        ]
    )
    pixel_values = torch.randn(3, 3, 32, 32)

    out = {"input_ids": input_ids, "attention_mask": attention_mask, "pixel_values": pixel_values}
    with torch.no_grad():
        text = model.text_model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        text_hidden("text", out, text)
        out["text.pooler_output"] = text.pooler_output
        out["text.text_embeds"] = model.text_projection(text.pooler_output)
        # Causal mask only: no attention_mask given.
        causal = model.text_model(input_ids=input_ids, output_hidden_states=True)
        out["text_nomask.last_hidden_state"] = causal.last_hidden_state
        out["text_nomask.pooler_output"] = causal.pooler_output

        vision = model.vision_model(pixel_values=pixel_values, output_hidden_states=True)
        text_hidden("vision", out, vision)
        out["vision.pooler_output"] = vision.pooler_output
        out["vision.image_embeds"] = model.visual_projection(vision.pooler_output)

        full = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values)
        out["logits_per_image"] = full.logits_per_image
        out["logits_per_text"] = full.logits_per_text
        out["text_embeds_normalized"] = full.text_embeds
        out["image_embeds_normalized"] = full.image_embeds
    assert len(text.hidden_states) == 3 and len(vision.hidden_states) == 3
    save(root / "model", model, out)


def make_text_eos2(root):
    # Legacy configs (before transformers PR #24773) say eos_token_id 2: pooling takes the
    # highest token id; OpenAI's tokenizer pads with EOS (the highest id), so it repeats.
    config = CLIPTextConfig(**text_config(eos_token_id=2, bos_token_id=0, hidden_act="gelu_new"))
    model = CLIPTextModelWithProjection(config).eval()
    randomize(model)
    input_ids = torch.tensor(
        [
            [BOS, 5, 17, EOS, EOS, EOS, EOS],
            [BOS, 4, 96, 3, 2, 2, 2],  # highest id (BOS) first, then 96; 2 is not special here
            [10, 20, 30, 40, 50, 60, EOS],
        ]
    )
    attention_mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
    out = {"input_ids": input_ids, "attention_mask": attention_mask}
    with torch.no_grad():
        result = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        inner = model.text_model(input_ids=input_ids, attention_mask=attention_mask)
    text_hidden("text", out, result)
    out["text.pooler_output"] = inner.pooler_output
    out["text.text_embeds"] = result.text_embeds
    save(root / "text-eos2", model, out)


def make_vision(root):
    config = CLIPVisionConfig(**vision_config(hidden_act="quick_gelu", hidden_size=20, num_attention_heads=4,
                                              image_size=24, patch_size=8, projection_dim=12))
    model = CLIPVisionModelWithProjection(config).eval()
    randomize(model)
    pixel_values = torch.randn(2, 3, 24, 24)
    out = {"pixel_values": pixel_values}
    with torch.no_grad():
        result = model(pixel_values=pixel_values, output_hidden_states=True)
        inner = model.vision_model(pixel_values=pixel_values)
    text_hidden("vision", out, result)
    out["vision.pooler_output"] = inner.pooler_output
    out["vision.image_embeds"] = result.image_embeds
    save(root / "vision", model, out)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity") / "clip"
    torch.manual_seed(SEED)
    make_clip_model(root)
    make_text_eos2(root)
    make_vision(root)
    # A human-readable note beside the fixtures.
    (root / "README.md").write_text(
        "Generated by scripts/parity/clip.py (scripts/make-parity-fixtures); do not edit.\n"
        "model/: CLIPModel; text-eos2/: CLIPTextModelWithProjection, legacy eos_token_id 2;\n"
        "vision/: CLIPVisionModelWithProjection. io.safetensors: inputs and transformers' outputs.\n"
    )


if __name__ == "__main__":
    main()
