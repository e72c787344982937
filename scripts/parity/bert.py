"""Parity fixture for BERT: a tiny random-weight transformers BertModel and its outputs.

Writes OUT/bert (OUT is the first argument, tests/fixtures/parity): config.json and
model.safetensors of a BertModel with a pooler (2 layers, hidden 32, 4 heads, exact gelu),
and io.safetensors with the inputs (three right-padded rows of different lengths, mixed
token types) and transformers' outputs in float32 eval mode: hidden_states.0..2 (the
embedding output, then each layer's), last_hidden_state, pooler_output.
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

SEED = 20240612
VOCAB = 99
CLS, SEP, PAD = 2, 3, 0


def randomize(model, generator):
    # transformers initializes biases to 0 and LayerNorm to (1, 0); random values make a
    # swapped or unloaded tensor visible in the outputs.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias") or "LayerNorm" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))


def main(out: Path):
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu",
        max_position_embeddings=16,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        pad_token_id=PAD,
        initializer_range=0.3,
    )
    model = BertModel(config, add_pooling_layer=True)
    randomize(model, generator)
    model.eval()

    lengths = [7, 5, 2]
    tokens = max(lengths)
    input_ids = torch.full((len(lengths), tokens), PAD, dtype=torch.long)
    attention_mask = torch.zeros((len(lengths), tokens), dtype=torch.long)
    for row, length in enumerate(lengths):
        input_ids[row, :length] = torch.randint(4, VOCAB, (length,), generator=generator)
        input_ids[row, 0] = CLS
        input_ids[row, length - 1] = SEP
        attention_mask[row, :length] = 1
    token_type_ids = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]])

    with torch.no_grad():
        outputs = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        output_hidden_states=True)
    assert len(outputs.hidden_states) == config.num_hidden_layers + 1

    folder = out / "bert"
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    io = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
          "last_hidden_state": outputs.last_hidden_state, "pooler_output": outputs.pooler_output}
    for i, hidden in enumerate(outputs.hidden_states):
        io[f"hidden_states.{i}"] = hidden
    save_file({k: v.clone().contiguous() for k, v in io.items()}, str(folder / "io.safetensors"))
    print(f"wrote {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity"))
