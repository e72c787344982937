# A prompt model ([prompt] mlm-prompt on the tiny BertForMaskedLM fixture) in a study: a
# few-shot phase scores its label words untrained at k = 0 and trains the image map, top
# layer and MLM head at k = 4; a train phase fine-tunes it on the whole train split; the
# templated texts are encoded once for the study; `msa predict` labels posts with a trained
# prompt model; msa validate refuses a template without the mask token, a verbalizer word
# outside the vocabulary, a checkpoint without an MLM head and a k larger than a class's pool.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

"$MSA" demo-data --out demo --samples 180 --unlabelled 6 --size 32 >/dev/null
{
  demo_study prompt 7
  cat <<TOML
[prompt]
plugin = "mlm-prompt"
checkpoint = "$MSA_SOURCE_DIR/tests/fixtures/parity/bert-mlm"
template = "{text} It was [MASK]."
verbalizers = ["negative: bad, sad", "neutral: okay", "positive: good, great"]
image_tokens = 2
[train]
epochs = 3
batch_size = 8
learning_rate = 0.01
encoder_learning_rate = 0.001
patience = 0

[[phase]]
name = "curve"
kind = "few-shot"
shots = [0, 4]
draws = 2
set.sampler = "k-shot"

[[phase]]
name = "full"
kind = "train"
TOML
} >study.toml
expect_exit 0 "$MSA" validate study.toml
expect_exit 0 "$MSA" run study.toml --jobs 2
expect_contains "$ERR" "features prompt text (mlm-prompt): 0 from the store, 186 encoded"
study=runs/prompt
python3 - "$study" <<'PY'
import json, sys
study = sys.argv[1]
results = json.load(open(f"{study}/results.json"))
curve, full = results["phases"]
assert curve["status"] == "complete" and full["status"] == "complete", (curve["status"], full["status"])
assert [(c["shots"], len(c["trials"])) for c in curve["configs"]] == [(0, 1), (4, 2)], curve["configs"]
for config in curve["configs"] + full["configs"]:
    for trial in config["trials"]:
        folder = f"{study}/{trial['folder']}"
        metrics = json.load(open(f"{folder}/metrics.json"))
        assert metrics["status"] == "ok", metrics
        text = metrics["features"]["text"]
        assert text["plugin"] == "mlm-prompt" and text["kind"] == "prompt", text
        assert text["encoded"] == 0, "the study encoded the templated texts before its trials"
        assert 0 <= metrics["test"]["weighted_f1"] <= 1
        log = open(f"{folder}/log.txt").read()
        assert "[encoders.text]" not in log
        if config.get("shots") == 0:
            assert "evaluated untrained" in log, log
            assert metrics["best_epoch"] == 0 and metrics["epochs_run"] == 0, metrics
        else:
            assert metrics["epochs_run"] == 3, metrics["epochs_run"]
            # The image map is new (trained at the head's rate), into 2 tokens of the LM's
            # width 32; the top layer and the MLM head come pretrained (the encoder's rate).
            image_dim = metrics["features"]["image"]["dim"]
            assert metrics["parameters"]["head"] == image_dim * 2 * 32 + 2 * 32, metrics["parameters"]
            assert metrics["parameters"]["encoder_top"] > 0, metrics["parameters"]
PY
passed=$((passed + 1))

# A trained prompt model labels posts through msa predict (the study's final incumbent:
# the full phase's), encoding the templated texts it lacks with its own text encoder.
head -5 demo/test_without_label.txt >input.csv
expect_exit 0 "$MSA" predict --run "$study" --input input.csv --output predictions.csv --strict
expect_contains "$(cat predictions.csv)" "guid,tag"
[ "$(wc -l <predictions.csv)" = "$(wc -l <input.csv)" ] || fail "one prediction per input row"
passed=$((passed + 1))

# Bad [prompt] tables are refused by msa validate, naming the key and what is accepted.
sed -i 's/^template = .*/template = "{text} It was good."/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "template \"{text} It was good.\" has the mask token [MASK] 0 times"
sed -i 's/^template = .*/template = "{text} It was [MASK]."/; s/^verbalizers = .*/verbalizers = ["negative: bad", "neutral: okay", "positive: zzqx"]/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "verbalizer word 'zzqx' of label 'positive'"
sed -i 's/^verbalizers = .*/verbalizers = ["negative: bad", "neutral: okay", "positive: good"]/; s|parity/bert-mlm|parity/bert|' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "cls.predictions"
sed -i 's|parity/bert"|parity/bert-mlm"|; s/^shots = .*/shots = [0, 40]/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "shots holds k = 40, but class"
expect_contains "$ERR" "accepted k up to"

done_ok
