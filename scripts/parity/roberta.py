"""Parity fixture for RoBERTa: a tiny random-weight transformers model saved as a task model.

Writes OUT/roberta (OUT is the first argument, tests/fixtures/parity): config.json and
model.safetensors of a RobertaForSequenceClassification (names under "roberta.", a
"classifier." head, no pooler; 2 layers, hidden 32, gelu_new, layer_norm_eps 1e-5,
type_vocab_size 1, max_position_embeddings 9 = exactly 7 tokens), and io.safetensors with
the inputs (rows right-padded, left-padded and full, padded with pad_token_id 1 so that
position ids skip the padding) and the base model's outputs in float32 eval mode:
hidden_states.0..2, last_hidden_state.
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import RobertaConfig, RobertaForSequenceClassification

SEED = 20240613
VOCAB = 99
BOS, PAD, EOS = 0, 1, 2


def randomize(model, generator):
    # Random biases and LayerNorm parameters make a swapped or unloaded tensor visible.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias") or "LayerNorm" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))


def main(out: Path):
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    tokens = 7
    config = RobertaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu_new",
        max_position_embeddings=tokens + PAD + 1,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        initializer_range=0.3,
        num_labels=3,
    )
    model = RobertaForSequenceClassification(config)
    randomize(model, generator)
    model.eval()

    # (first real position, length): right-padded, left-padded, full.
    rows = [(0, 4), (2, 5), (0, 7)]
    input_ids = torch.full((len(rows), tokens), PAD, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), tokens), dtype=torch.long)
    for row, (start, length) in enumerate(rows):
        input_ids[row, start:start + length] = torch.randint(3, VOCAB, (length,), generator=generator)
        input_ids[row, start] = BOS
        input_ids[row, start + length - 1] = EOS
        attention_mask[row, start:start + length] = 1

    with torch.no_grad():
        outputs = model.roberta(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    assert model.roberta.pooler is None
    assert len(outputs.hidden_states) == config.num_hidden_layers + 1

    folder = out / "roberta"
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    io = {"input_ids": input_ids, "attention_mask": attention_mask, "last_hidden_state": outputs.last_hidden_state}
    for i, hidden in enumerate(outputs.hidden_states):
        io[f"hidden_states.{i}"] = hidden
    save_file({k: v.clone().contiguous() for k, v in io.items()}, str(folder / "io.safetensors"))
    print(f"wrote {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity"))
