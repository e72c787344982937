# msa trial on [clip] manifests with the tiny CLIP fixture (random weights) and a
# generated dataset: the linear probe and zero-shot write their run folders, a rerun
# reads the CLIP features from the store and predicts the same, a missing checkpoint
# folder is an error that says where CLIP checkpoints come from.
source "$(dirname "$0")/lib.sh"

# The fixture's CLIPModel with a tokenizer that fits its 99-token vocabulary (the same
# as clip_text_fixture in tests/unit/test_helpers.hpp).
mkdir -p "$WORK/clip"
cp "$MSA_SOURCE_DIR"/tests/fixtures/parity/clip/model/{config.json,model.safetensors} "$WORK/clip/"
python3 - "$WORK/clip" <<'PY'
import json, string, sys
vocab = {c: i for i, c in enumerate(string.ascii_lowercase)}
vocab.update({c + "</w>": 26 + i for i, c in enumerate(string.ascii_lowercase)})
vocab.update({"th": 52, "the</w>": 53, "<|startoftext|>": 97, "<|endoftext|>": 98})
json.dump(vocab, open(sys.argv[1] + "/vocab.json", "w"))
open(sys.argv[1] + "/merges.txt", "w").write("#version: 0.2\nt h\nth e</w>\n")
PY

cd "$WORK"
expect_exit 0 "$MSA" demo-data --out data --samples 120 --size 64
cat >probe.toml <<TOML
schema_version = 1
name = "probe"
seed = 2
output = "runs"
[dataset]
root = "data"
[split]
valid = 0.2
test = 0.2
[store]
path = "store.h5"
[clip]
checkpoint = "clip"
method = "linear-probe"
l2 = [1e-4, 1e-2, 1]
TOML
expect_exit 0 "$MSA" trial probe.toml
run=runs/probe
for f in config.toml metrics.json predictions.csv model.pt log.txt; do
  [[ -s $run/$f ]] || fail "run folder lacks $f"
done
[[ ! -e $run/error.txt ]] || fail "a successful trial left error.txt"
expect_contains "$ERR" "image features (clip-image"
expect_contains "$ERR" "text features (clip-text"
expect_contains "$(cat "$run/log.txt")" "chose l2 = "
metric() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d$2)" "$1/metrics.json"; }
[[ $(metric $run "['status']") == ok ]] || fail "status is not ok"
[[ $(metric $run "['clip']['method']") == linear-probe ]] || fail "clip.method is not linear-probe"
python3 - $run/metrics.json <<'PY' || fail "the chosen l2 is not on the grid, or a metric is missing"
import json, sys
m = json.load(open(sys.argv[1]))
clip = m["clip"]
assert clip["l2"] in [1e-4, 1e-2, 1], clip["l2"]
assert [p["l2"] for p in clip["sweep"]] == [1e-4, 1e-2, 1]
assert 0 <= m["test"]["accuracy"] <= 1 and "weighted_f1" in m["valid"]
PY
samples=$(($(wc -l <data/train.txt) + $(wc -l <data/test_without_label.txt) - 2))
[[ $(wc -l <"$run/predictions.csv") == $((samples + 1)) ]] || fail "predictions.csv should have a row per sample"
expect_contains "$(cat "$run/predictions.csv")" ",unlabelled,"
# The resolved config is a valid manifest, [clip] included.
expect_exit 0 "$MSA" validate "$run/config.toml"
expect_contains "$(cat "$run/config.toml")" 'l2 = [0.0001, 0.01, 1.0]'

# Again, into another folder: every feature from the store, the same predictions.
expect_exit 0 "$MSA" trial probe.toml --out runs/again
expect_contains "$ERR" "image features (clip-image"
expect_contains "$ERR" "$samples from the store, 0 encoded"
cmp -s $run/predictions.csv runs/again/predictions.csv || fail "same seed, different predictions"

# Zero-shot: the prompts of the default templates, no training, image features from the store.
sed 's/^method = .*/method = "zero-shot"/' probe.toml >zero.toml
expect_exit 0 "$MSA" trial zero.toml --out runs/zero
expect_contains "$ERR" "image features (clip-image"
expect_contains "$ERR" "from the store, 0 encoded"
[[ $(metric runs/zero "['clip']['prompts'][0]") == "a photo that feels negative." ]] || fail "unexpected first prompt"
[[ ! -e runs/zero/model.pt ]] || fail "zero-shot trains nothing, yet wrote model.pt"

# A checkpoint folder that is not there: exit 1, with where such a folder comes from.
sed 's/^checkpoint = .*/checkpoint = "clip-vit-base-patch32"/' probe.toml >missing.toml
expect_exit 1 "$MSA" trial missing.toml --out runs/missing
expect_contains "$ERR" "missing.toml:12:1: CLIP checkpoint folder $WORK/clip-vit-base-patch32 does not exist"
expect_contains "$ERR" "cannot be fetched by scripts/fetch-models"
expect_contains "$(cat runs/missing/error.txt)" "Hugging Face CLIP model folder"
[[ $(metric runs/missing "['status']") == failed ]] || fail "a failed trial should say status failed"

# In a study: the clip phase runs both methods beside the incumbent; one whose folder is
# absent is skipped with the reason, and the study goes on.
cat >study.toml <<TOML
schema_version = 1
name = "study"
output = "runs"
[dataset]
root = "data"
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 64
[train]
epochs = 2
[[phase]]
name = "base"
[[phase]]
name = "clip"
kind = "clip"
from = "base"
clip = "clip"
[[phase]]
name = "no-clip"
kind = "clip"
from = "base"
clip = "clip-vit-base-patch32"
TOML
expect_exit 0 "$MSA" run study.toml --jobs 1
python3 - runs/study/results.json <<'PY' || fail "the study's clip phases are not as expected"
import json, sys
phases = {p["name"]: p for p in json.load(open(sys.argv[1]))["phases"]}
clip = phases["clip"]
assert clip["status"] == "complete", clip
labels = [c["label"] for c in clip["configs"]]
assert labels[1:] == ["CLIP linear-probe", "CLIP zero-shot"], labels
assert all(t["status"] == "ok" for c in clip["configs"] for t in c["trials"]), clip
skipped = phases["no-clip"]
assert skipped["status"] == "skipped" and "cannot be fetched by scripts/fetch-models" in skipped["reason"], skipped
PY

# CLIP on a learning curve: a few-shot phase's k = 0 is CLIP's zero-shot (no descriptions
# needed), every other k a linear probe on k per class, its l2 chosen on k per class from
# the rest of the train split; a configuration whose CLIP folder is absent is skipped.
cat >curve.toml <<TOML
schema_version = 1
name = "curve"
seed = 1
output = "runs"
[dataset]
root = "data"
[split]
valid = 0.2
test = 0.2
test_seed = 3
[store]
path = "store.h5"
[clip]
checkpoint = "clip"
method = "linear-probe"
l2 = [1e-2, 1]
[[phase]]
name = "curve"
kind = "few-shot"
shots = [0, 2]
draws = 2
set.sampler = "k-shot"
[[phase]]
name = "absent"
kind = "few-shot"
shots = [0, 2]
draws = 1
set.sampler = "k-shot"
set.clip.checkpoint = "no-such-clip"
TOML
expect_exit 0 "$MSA" validate curve.toml
expect_exit 0 "$MSA" run curve.toml --jobs 2
python3 - runs/curve <<'PY' || fail "CLIP's few-shot points are not as expected"
import json, sys
study = sys.argv[1]
curve, absent = json.load(open(f"{study}/results.json"))["phases"]
assert curve["status"] == "complete", curve["status"]
assert [(c["shots"], len(c["trials"])) for c in curve["configs"]] == [(0, 1), (2, 2)], curve["configs"]
for config in curve["configs"]:
    for trial in config["trials"]:
        m = json.load(open(f"{study}/{trial['folder']}/metrics.json"))
        if config["shots"] == 0:
            assert m["clip"]["method"] == "zero-shot", m["clip"]
        else:
            assert m["clip"]["method"] == "linear-probe" and m["train_rows"] == 6, (m["clip"], m["train_rows"])
            assert m["few_shot"]["valid_rows"] == 6, m["few_shot"]
assert absent["status"] == "skipped" and "no-such-clip" in absent["reason"], absent
PY
passed=$((passed + 1))
done_ok
