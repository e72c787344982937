"""Parity fixture for BERT's masked-language-model head: a tiny random-weight BertForMaskedLM,
its WordPiece tokenizer, and a zero-shot prompt scored through the head.

Writes OUT/bert-mlm (OUT is the first argument, tests/fixtures/parity):
  config.json, model.safetensors  BertForMaskedLM (names under "bert.", the head under
                                  "cls.predictions.", decoder tied to the word embeddings;
                                  2 layers, hidden 32, 4 heads, exact gelu, 64 positions)
  vocab.txt, tokenizer.json, tokenizer_config.json, ...
                                  BertTokenizerFast over a small lower-case English vocabulary
                                  ([PAD]=0 [UNK] [CLS] [SEP] [MASK], words, punctuation, ## pieces)
  io.safetensors                  three right-padded rows of real text, each with a [MASK]
                                  somewhere, and transformers' outputs in float32 eval mode:
                                  last_hidden_state [N,T,32] and the MLM logits [N,T,V]
  prompt.json                     a zero-shot prompt: template, verbalizers (one token each),
                                  texts, each templated text's input_ids, the [MASK] position
                                  and the scores per label (negative, neutral, positive): the
                                  mean over the label's words of the word's logit at the mask
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

SEED = 20240615

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Enough lower-case English for short posts to tokenize into real words; the "##" pieces
# make some words split ("photos" = photo ##s, "rained" = rain ##ed).
WORDS = (["it", "was", "is", "are", "be", "the", "a", "an", "this", "that", "these", "what", "so", "not",
          "very", "really", "too", "and", "but", "or", "of", "to", "in", "on", "at", "for", "with", "my",
          "i", "you", "we", "they", "he", "she", "me", "our", "your",
          "day", "news", "bus", "movie", "photo", "film", "food", "weather", "game", "team", "show", "time",
          "friend", "train", "rain", "sun", "city", "home", "work", "music", "song", "place", "people",
          "good", "great", "bad", "sad", "okay", "fine", "terrible", "happy", "awful", "nice", "best", "worst",
          "amazing", "boring", "angry", "funny", "beautiful", "late", "again", "today", "ever", "never",
          "love", "hate", "like", "see", "saw", "go", "went", "get", "got", "make", "made", "look", "feel",
          "just", "all", "no", "yes", "one", "more", "much", "out", "up", "now", "here", "there",
          "##s", "##ing", "##ed", "##ly", "##er",
          ".", ",", "!", "?", "'", "-", ":", "(", ")"])
VOCAB = SPECIAL + WORDS

TEMPLATE = "{text} It was [MASK]."
VERBALIZERS = {"negative": ["bad", "sad"], "neutral": ["okay"], "positive": ["good", "great"]}
TEXTS = [
    "What a great day!",
    "The bus was late again and it rained.",
    "I love this movie, so funny.",
    "The news is so sad today.",
    "These photos are fine, not terrible.",
]
# The rows of io.safetensors (7, 8 and 11 tokens): the mask first, near the end, in the middle.
IO_TEXTS = ["[MASK] news is good.", "The bus was [MASK] again!", "I really love this [MASK], so funny."]


def randomize(model, generator):
    # transformers initializes biases to 0 and LayerNorm to (1, 0); random values make a
    # swapped or unloaded tensor visible in the outputs (the head's bias and transform too).
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias") or "LayerNorm" in name:
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))


def main(out: Path):
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    folder = out / "bert-mlm"
    folder.mkdir(parents=True, exist_ok=True)
    assert len(set(VOCAB)) == len(VOCAB), "duplicate vocabulary entries"

    # transformers 5 takes the vocabulary itself (a vocab_file argument is silently ignored, leaving
    # only the five special tokens) and saves no vocab.txt, so the script writes one beside it.
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(VOCAB)}, do_lower_case=True)
    tokenizer.save_pretrained(folder)
    (folder / "vocab.txt").write_text("".join(token + "\n" for token in VOCAB), encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(folder)  # what a reader of the folder gets
    assert tokenizer.pad_token_id == 0 and tokenizer.mask_token_id == 4 and len(tokenizer) == len(VOCAB)

    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        hidden_act="gelu",
        max_position_embeddings=64,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        initializer_range=0.3,
        tie_word_embeddings=True,
    )
    model = BertForMaskedLM(config)
    randomize(model, generator)
    model.eval()
    embeddings = model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.weight.data_ptr() == embeddings.data_ptr(), "decoder not tied"

    batch = tokenizer(IO_TEXTS, padding=True, return_tensors="pt")
    lengths = batch["attention_mask"].sum(1).tolist()
    assert len(set(lengths)) == len(lengths) and min(lengths) < batch["input_ids"].shape[1], lengths
    assert all((row == tokenizer.mask_token_id).sum() == 1 for row in batch["input_ids"])
    with torch.no_grad():
        outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        output_hidden_states=True)

    model.save_pretrained(folder, safe_serialization=True)
    # What a reader of the folder gets must be what was measured: the tie survives saving.
    reloaded = BertForMaskedLM.from_pretrained(folder).eval()
    with torch.no_grad():
        again = reloaded(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.equal(again, outputs.logits), "the saved model gives other logits"

    io = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
          "last_hidden_state": outputs.hidden_states[-1], "logits": outputs.logits}
    save_file({k: v.clone().contiguous() for k, v in io.items()}, str(folder / "io.safetensors"))

    labels = list(VERBALIZERS)
    word_ids = {}
    for words in VERBALIZERS.values():
        for word in words:
            pieces = tokenizer.tokenize(word)
            assert pieces == [word], f"verbalizer {word!r} is not one token: {pieces}"
            word_ids[word] = tokenizer.convert_tokens_to_ids(word)
    prompts = []
    for text in TEXTS:
        ids = tokenizer(TEMPLATE.replace("{text}", text))["input_ids"]
        assert tokenizer.unk_token_id not in ids, f"{text!r} has words outside the vocabulary"
        assert ids.count(tokenizer.mask_token_id) == 1
        position = ids.index(tokenizer.mask_token_id)
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
