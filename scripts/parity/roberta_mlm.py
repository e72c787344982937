"""Parity fixture for RoBERTa's masked-language-model head: a tiny random-weight RobertaForMaskedLM,
its byte-level BPE tokenizer, and a zero-shot prompt scored through the head.

Writes OUT/roberta-mlm (OUT is the first argument, tests/fixtures/parity):
  config.json, model.safetensors  RobertaForMaskedLM (names under "roberta.", the head under
                                  "lm_head.", decoder tied to the word embeddings; 2 layers,
                                  hidden 32, gelu_new in the layers while the head uses exact
                                  gelu, layer_norm_eps 1e-5, type_vocab_size 1, no pooler, 64
                                  positions), its vocabulary that of the tokenizer
  tokenizer.json, tokenizer_config.json
                                  the tiny byte-level BPE of tests/fixtures/tokenizers/byte-bpe
                                  (scripts/make-byte-bpe-fixtures.py: run it first), as
                                  transformers' RobertaTokenizer saves it
  io.safetensors                  the inputs (three rows of random ids right-padded with
                                  pad_token_id 1, each with a <mask> somewhere) and transformers'
                                  outputs in float32 eval mode: last_hidden_state [N,T,32], logits
                                  [N,T,V]
  prompt.json                     a zero-shot prompt as bert-mlm's (scripts/parity/bert_mlm.py):
                                  template, verbalizers (each word one token after a space:
                                  "Ġgood"), texts, each templated text's input_ids, the <mask>
                                  position and the scores per label (negative, neutral, positive):
                                  the mean over the label's words of the word's logit at the mask
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

SEED = 20240616
TOKENIZER = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tokenizers" / "byte-bpe"

TEMPLATE = "{text} It was <mask>."
VERBALIZERS = {"negative": ["bad", "sad"], "neutral": ["okay"], "positive": ["good", "great"]}
TEXTS = [
    "What a great day!",
    "The bus was late again and it rained.",
    "I love this movie, so funny.",
    "The news is so sad today.",
    "These photos are fine, not terrible.",
]


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
    tokenizer = RobertaTokenizerFast.from_pretrained(TOKENIZER)
    vocab = len(tokenizer)
    bos, pad, eos, mask = (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id,
                           tokenizer.mask_token_id)
    assert (bos, pad, eos, mask) == (0, 1, 2, vocab - 1), (bos, pad, eos, mask)
    config = RobertaConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu_new",
        max_position_embeddings=64 + pad + 1,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=pad,
        bos_token_id=bos,
        eos_token_id=eos,
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
    input_ids = torch.full((len(rows), tokens), pad, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), tokens), dtype=torch.long)
    for row, (length, at) in enumerate(rows):
        input_ids[row, :length] = torch.randint(4, mask, (length,), generator=generator)
        input_ids[row, 0] = bos
        input_ids[row, length - 1] = eos
        input_ids[row, at] = mask
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
    tokenizer.save_pretrained(folder)
    tokenizer = RobertaTokenizerFast.from_pretrained(folder)  # what a reader of the folder gets
    assert len(tokenizer) == vocab and tokenizer.mask_token_id == mask

    labels = list(VERBALIZERS)
    word_ids = {}
    for words in VERBALIZERS.values():
        for word in words:
            # A label word follows a space in the template: its token is "Ġword".
            pieces = tokenizer.tokenize(" " + word)
            assert pieces == ["\u0120" + word], f"verbalizer {word!r} is not one token after a space: {pieces}"
            word_ids[word] = tokenizer.convert_tokens_to_ids(pieces[0])
    after = tokenizer(TEMPLATE.split("{text}")[1])["input_ids"][1:-1]
    prompts = []
    for text in TEXTS:
        ids = tokenizer(TEMPLATE.replace("{text}", text))["input_ids"]
        # msa tokenizes the post and the template apart: the same ids here.
        assert ids == tokenizer(text)["input_ids"][:-1] + after + [eos], text
        assert ids.count(mask) == 1 and len(ids) <= 64
        position = ids.index(mask)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, position]
        scores = [sum(logits[word_ids[w]].item() for w in VERBALIZERS[label]) / len(VERBALIZERS[label])
                  for label in labels]
        prompts.append({"text": text, "input_ids": ids, "mask_position": position, "scores": scores})

    prompt = {"template": TEMPLATE, "verbalizers": VERBALIZERS,
              "verbalizer_ids": {label: [word_ids[w] for w in words] for label, words in VERBALIZERS.items()},
              "texts": [p["text"] for p in prompts],
              "input_ids": [p["input_ids"] for p in prompts],
              "mask_positions": [p["mask_position"] for p in prompts],
              "scores": [p["scores"] for p in prompts]}
    def block(value):  # a list of lists one row a line; anything else on one line
        if isinstance(value, list) and value and isinstance(value[0], (list, str)):
            return "[\n" + ",\n".join("  " + json.dumps(row) for row in value) + "\n ]"
        return json.dumps(value)
    body = ",\n".join(f" {json.dumps(key)}: {block(value)}" for key, value in prompt.items())
    (folder / "prompt.json").write_text("{\n" + body + "\n}\n", encoding="utf-8")
    assert json.loads((folder / "prompt.json").read_text(encoding="utf-8")) == prompt
    print(f"wrote {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/parity"))
