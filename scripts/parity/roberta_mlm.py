"""Parity fixture for RoBERTa's masked-language-model head: a tiny random-weight RobertaForMaskedLM.

Writes OUT/roberta-mlm (OUT is the first argument, tests/fixtures/parity): config.json and
model.safetensors of a RobertaForMaskedLM (names under "roberta.", the head under "lm_head.",
decoder tied to the word embeddings; 2 layers, hidden 32, gelu_new in the layers while the head
uses exact gelu, layer_norm_eps 1e-5, type_vocab_size 1, no pooler), and io.safetensors with the
inputs (three rows right-padded with pad_token_id 1, each with a <mask> somewhere) and
transformers' outputs in float32 eval mode: last_hidden_state [N,T,32], logits [N,T,V].
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import RobertaConfig, RobertaForMaskedLM

SEED = 20240616
VOCAB = 99
BOS, PAD, EOS, MASK = 0, 1, 2, 3


def randomize(model, generator):
    # Random biases and LayerNorm parameters make a swapped or unloaded tensor visible
    # (lm_head.bias and lm_head.layer_norm too).
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))


def main(out: Path):
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    config = RobertaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu_new",
        max_position_embeddings=16 + PAD + 1,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        initializer_range=0.3,
        tie_word_embeddings=True,
    )
    model = RobertaForMaskedLM(config)
    randomize(model, generator)
    model.eval()
    assert model.roberta.pooler is None
    assert model.lm_head.decoder.weight.data_ptr() == model.roberta.embeddings.word_embeddings.weight.data_ptr()

    # (length, mask position): right-padded rows of different lengths.
    rows = [(6, 2), (9, 7), (4, 1)]
    tokens = max(length for length, _ in rows)
    input_ids = torch.full((len(rows), tokens), PAD, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), tokens), dtype=torch.long)
    for row, (length, mask) in enumerate(rows):
        input_ids[row, :length] = torch.randint(4, VOCAB, (length,), generator=generator)
        input_ids[row, 0] = BOS
        input_ids[row, length - 1] = EOS
        input_ids[row, mask] = MASK
        attention_mask[row, :length] = 1

    with torch.no_grad():
        outputs = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)

    folder = out / "roberta-mlm"
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    reloaded = RobertaForMaskedLM.from_pretrained(folder).eval()
    with torch.no_grad():
        again = reloaded(input_ids=input_ids, attention_mask=attention_mask).logits
    assert torch.equal(again, outputs.logits), "the saved model gives other logits"

    io = {"input_ids": input_ids, "attention_mask": attention_mask,
          "last_hidden_state": outputs.hidden_states[-1], "logits": outputs.logits}
    save_file({k: v.clone().contiguous() for k, v in io.items()}, str(folder / "io.safetensors"))
    print(f"wrote {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity"))
