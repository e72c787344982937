"""Parity fixture for MPNet: a tiny random-weight transformers MPNetModel, its tokenizer, and
their outputs on a few texts.

Writes OUT/mpnet (OUT is the first argument, tests/fixtures/parity):
  config.json, model.safetensors  an MPNetModel with a pooler (2 layers, hidden 32, 4 heads,
                                  exact gelu, layer_norm_eps 1e-5, 32 relative-position buckets,
                                  max_position_embeddings 34 = at most 32 tokens)
  tokenizer.json, tokenizer_config.json
                                  MPNetTokenizer over a small WordPiece vocabulary (RoBERTa's
                                  special tokens <s> <pad> </s> <unk> <mask> beside BERT's [UNK])
  texts.json                      the texts with transformers' ids, whole and truncated to 12
  io.safetensors                  the padded batch of the texts at max_length 32 (input_ids,
                                  attention_mask; right-padded with <pad> = 1) and transformers'
                                  outputs in float32 eval mode: hidden_states.0..2 (the embedding
                                  output, then each layer's), last_hidden_state, pooler_output;
                                  and relative_position / relative_position_bucket: every
                                  distance from -300 to 300 with MPNetEncoder.relative_position_bucket
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import MPNetConfig, MPNetModel, MPNetTokenizer

SEED = 20240614
MAX_LENGTH = 32
TRUNCATED = 12

# Lower-case letters with their continuations make every ASCII word known; a few whole
# words and pieces make the splits less trivial; 東 is known and 京 is not.
VOCAB = (["<s>", "<pad>", "</s>", "<unk>", "[PAD]", "[UNK]"]
         + [c for c in "abcdefghijklmnopqrstuvwxyz"] + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
         + ["the", "cat", "sat", "on", "mat", "happy", "movie", "great", "not", "good", "what", "day", "never",
            "again", "worst", "##s", "##ing", "##ed", "1", "##1", "東", "北",
            ".", ",", "!", "?", ":", ")", "(", "#", "'", "-", "<mask>"])

TEXTS = [
    "The cat sat on the mat.",
    "Happy movie! Not good <mask> great, 1 1 11",
    "Café déjà VU: 東京 and 北京 (the cats' mats) #happy <unk> [UNK] <s>",
    "what a day - never again, the worst movies ever seen on a sunny Monday in the city ! ? : )",
    "",
]


def randomize(model, generator):
    # transformers initializes biases to 0 and LayerNorm to (1, 0); random values make a
    # swapped or unloaded tensor visible in the outputs.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias") or "LayerNorm" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))
            elif "relative_attention_bias" in name:
                # Large enough that a wrong bucket changes the outputs well beyond tolerance.
                param.copy_(2.0 * torch.randn(param.shape, generator=generator))


def main(out: Path):
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    folder = out / "mpnet"
    folder.mkdir(parents=True, exist_ok=True)

    tokenizer = MPNetTokenizer(vocab={token: i for i, token in enumerate(VOCAB)})
    tokenizer.save_pretrained(folder)
    tokenizer = MPNetTokenizer.from_pretrained(folder)  # what a reader of the folder gets
    assert tokenizer.pad_token_id == 1 and tokenizer.cls_token_id == 0 and tokenizer.sep_token_id == 2

    config = MPNetConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu",
        max_position_embeddings=MAX_LENGTH + 2,
        layer_norm_eps=1e-5,
        relative_attention_num_buckets=32,
        pad_token_id=1,
        initializer_range=0.3,
    )
    model = MPNetModel(config, add_pooling_layer=True)
    randomize(model, generator)
    model.eval()

    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    assert batch["input_ids"].shape[1] == MAX_LENGTH, "one text must reach max_length"
    with torch.no_grad():
        outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        output_hidden_states=True)
    assert len(outputs.hidden_states) == config.num_hidden_layers + 1

    model.save_pretrained(folder, safe_serialization=True)
    texts = [{"text": text,
              "ids": tokenizer(text)["input_ids"],
              f"ids_max_length_{TRUNCATED}": tokenizer(text, truncation=True, max_length=TRUNCATED)["input_ids"]}
             for text in TEXTS]
    rows = ",\n".join("  " + json.dumps(text, ensure_ascii=False) for text in texts)  # one text a line
    (folder / "texts.json").write_text(f'{{"max_length": {MAX_LENGTH}, "truncated": {TRUNCATED}, "texts": [\n{rows}\n]}}\n',
                                       encoding="utf-8")

    distances = torch.arange(-300, 301, dtype=torch.long)
    io = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
          "last_hidden_state": outputs.last_hidden_state, "pooler_output": outputs.pooler_output,
          "relative_position": distances,
          "relative_position_bucket": model.encoder.relative_position_bucket(distances)}
    for i, hidden in enumerate(outputs.hidden_states):
        io[f"hidden_states.{i}"] = hidden
    save_file({k: v.clone().contiguous() for k, v in io.items()}, str(folder / "io.safetensors"))
    print(f"wrote {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity"))
