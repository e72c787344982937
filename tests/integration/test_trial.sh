# msa trial: a small generated dataset trains end to end and writes its run folder; the
# same seed gives the same metrics; a failing trial writes its error and exits non-zero;
# on mvsa-ecnu (when ../shared is present) a hashed-ngram trial beats the majority class.
source "$(dirname "$0")/lib.sh"

# 60 posts, 20 per class; each class has its own words (with shared filler).
mkdir -p "$WORK/data/data"
echo "guid,tag" >"$WORK/data/train.txt"
words=(awful great fine)
tags=(negative positive neutral)
for i in $(seq 1 60); do
  c=$((i % 3))
  echo "$i,${tags[$c]}" >>"$WORK/data/train.txt"
  cp "$MSA_SOURCE_DIR/tests/fixtures/images/photo.jpg" "$WORK/data/data/$i.jpg"
  echo "today was ${words[$c]} really ${words[$c]} number $i" >"$WORK/data/data/$i.txt"
done
cat >"$WORK/trial.toml" <<TOML
schema_version = 1
name = "small"
seed = 3
output = "runs"
[dataset]
root = "data"
[split]
valid = 0.2
test = 0.2
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 256
[train]
epochs = 20
batch_size = 8
learning_rate = 0.01
patience = 0
TOML
cd "$WORK"
expect_exit 0 "$MSA" trial trial.toml
run=runs/small
for f in config.toml metrics.json predictions.csv history.csv model.pt log.txt; do
  [[ -s $run/$f ]] || fail "run folder lacks $f"
done
[[ ! -e $run/error.txt ]] || fail "a successful trial left error.txt"
expect_contains "$ERR" "text features (hashed-ngram"
expect_contains "$(cat "$run/log.txt")" "epoch 20/20"
metric() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d$2)" "$1/metrics.json"; }
[[ $(metric $run "['status']") == ok ]] || fail "status is not ok"
acc=$(metric $run "['test']['accuracy']")
python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.9 else 1)" || fail "test accuracy $acc on separable words"
[[ $(wc -l <"$run/predictions.csv") == 61 ]] || fail "predictions.csv should have a header and 60 rows"
expect_contains "$(head -1 "$run/predictions.csv")" "id,split,label,predicted,p_negative,p_neutral,p_positive"
[[ $(wc -l <"$run/history.csv") == 21 ]] || fail "history.csv should have a header and 20 epochs"
# The resolved config is itself a valid manifest with every default written out.
expect_exit 0 "$MSA" validate "$run/config.toml"
expect_contains "$(cat "$run/config.toml")" 'grad_clip = 1.0'

# The same trial again, into another folder, from the store: identical metrics and predictions.
expect_exit 0 "$MSA" trial trial.toml --out runs/again
expect_contains "$ERR" "60 from the store, 0 encoded"
cmp -s $run/predictions.csv runs/again/predictions.csv || fail "same seed, different predictions"
[[ "$(metric $run "['test']")" == "$(metric runs/again "['test']")" ]] || fail "same seed, different test metrics"

# A trial that fails keeps its error in the run folder and exits non-zero (here: CUDA
# asked for where LibTorch has none; a machine with CUDA runs it instead).
sed 's/^\[train\]$/[train]\ndevice = "cuda"/' trial.toml >cuda.toml
code=0
"$MSA" trial cuda.toml --out runs/cuda >"$WORK/stdout" 2>"$WORK/stderr" || code=$?
if [[ $code != 0 ]]; then
  [[ $code == 1 ]] || fail "a failed trial should exit 1, got $code: $(cat "$WORK/stderr")"
  expect_contains "$(cat "$WORK/stderr")" 'device = "cuda"'
  expect_contains "$(cat runs/cuda/error.txt)" "no CUDA device"
  [[ $(metric runs/cuda "['status']") == failed ]] || fail "a failed trial should say status failed"
else
  # A machine with CUDA (scripts/cuda-check): the trial trained on the GPU.
  [[ $(metric runs/cuda "['status']") == ok && $(metric runs/cuda "['device']") == cuda ]] ||
    fail "the trial did not train on cuda: $(cat runs/cuda/metrics.json)"
  acc=$(metric runs/cuda "['test']['accuracy']")
  python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.9 else 1)" || fail "test accuracy $acc on cuda"
fi

# Fine-tuning without models/: the tiny BERT (lib.sh); its top layer trains from the stored
# prefix, on the CPU and, where LibTorch sees one, on the GPU.
tiny_bert tiny-bert
sed "s|^plugin = \"hashed-ngram\"|plugin = \"hf-text\"\ncheckpoint = \"tiny-bert\"\nmax_length = 16\ntrainable_layers = 1\ncached_prefix = true|; s|^dim = 256||; s|^epochs = 20|epochs = 3|" trial.toml >tiny-tune.toml
for device in cpu cuda; do
  [[ $device == cpu || $code == 0 ]] || continue
  sed "s/^\[train\]$/[train]\ndevice = \"$device\"/" tiny-tune.toml >tiny-tune-$device.toml
  expect_exit 0 "$MSA" trial tiny-tune-$device.toml --out runs/tiny-tune-$device
  python3 - runs/tiny-tune-$device/metrics.json "$device" <<'PY' || fail "the tiny BERT's top layer did not train on $device"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["status"] == "ok" and m["device"] == sys.argv[2], (m["status"], m["device"])
assert m["features"]["text"]["trainable_layers"] == 1 and m["parameters"]["encoder_top"] > 5000, m["parameters"]
assert m["epochs_run"] == 3, m["epochs_run"]
assert sys.argv[2] == "cpu" or m["encoder_top_precision"] == "float32", m["encoder_top_precision"]
PY
done

# An augmenter is not silently ignored: it needs the hard samples it augments.
printf 'include = ["trial.toml"]\n[augmenter]\nplugin = "identity"\n' >augmented.toml
expect_exit 1 "$MSA" trial augmented.toml --out runs/augmented
expect_contains "$ERR" "augmented.toml:2:1: [augmenter] identity needs [augmentation] hard_samples"

# With the hard samples of the first trial, the identity augmenter's copies join training
# (group = source, so they are training rows) and are predicted as split "augmented".
cat >augmented.toml <<TOML
include = ["trial.toml"]
name = "augmented"
[augmenter]
plugin = "identity"
[augmentation]
hard_samples = "runs/small/predictions.csv"
hard_threshold = 0.9
TOML
expect_exit 0 "$MSA" trial augmented.toml
hard=$(awk -F, 'NR > 1 && $2 == "train" { p = $3 == "negative" ? $5 : ($3 == "neutral" ? $6 : $7); if (p < 0.9) n++ } END { print n + 0 }' runs/small/predictions.csv)
copies=$(grep -c '^[^,]*#identity1,augmented,' runs/augmented/predictions.csv || true)
[[ $hard -gt 0 && $copies == "$hard" ]] || fail "expected one copy per hard training row ($hard), found $copies"
grep -q "\"augmented\": $hard" runs/augmented/metrics.json || fail "metrics.json does not count $hard augmented rows"
expect_contains "$(cat runs/augmented/log.txt)" "augmentation: $hard hard samples"
# Identity copies have their sources' inputs, so they read their sources' stored features.
python3 -c "import json; f = json.load(open('runs/augmented/metrics.json'))['features']['text']; assert f['encoded'] == 0, f" ||
  fail "the identity copies were encoded again instead of reading their sources' features"

# Fine-tuning: MiniLM's top layer trains with the head from the stored prefix features.
models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
if [[ -d $models/all-MiniLM-L6-v2 ]]; then
  sed "s|^plugin = \"hashed-ngram\"|plugin = \"hf-text\"\ncheckpoint = \"$models/all-MiniLM-L6-v2\"\ntrainable_layers = 1\ncached_prefix = true|; s|^dim = 256||; s|^epochs = 20|epochs = 3|" trial.toml >tune.toml
  expect_exit 0 "$MSA" trial tune.toml --out runs/tune
  expect_contains "$ERR" "text prefix features (hf-text"
  [[ $(metric runs/tune "['features']['text']['trainable_layers']") == 1 ]] || fail "the top layer did not train"
  top=$(metric runs/tune "['parameters']['encoder_top']")
  ((top > 1000000)) || fail "MiniLM's top layer should bring over a million parameters, got $top"
  # SetFit: the top layer first learns from pairs of the 8-per-class training rows, then the head.
  printf 'include = ["tune.toml"]\n[sampler]\nplugin = "k-shot"\nk = 8\n[contrastive]\npairs_per_post = 4\nepochs = 2\n' >setfit.toml
  expect_exit 0 "$MSA" trial setfit.toml --out runs/setfit
  python3 - runs/setfit/metrics.json <<'PY' || fail "the contrastive stage did not run as configured"
import json, sys
c = json.load(open(sys.argv[1]))["contrastive"]
assert c["pairs"] == 24 * 4 and c["same_label"] == 24 * 2 and c["steps"] == 2 * 6, c
assert len(c["epoch_loss"]) == 2 and c["frozen_after"] is True, c
PY
  expect_contains "$(cat runs/setfit/log.txt)" "contrastive: 96 pairs (48 of one label) from 24 training rows"
  # Without a trainable text top there is nothing for the pairs to tune: said before training.
  printf 'include = ["trial.toml"]\n[contrastive]\n' >setfit-frozen.toml
  expect_exit 1 "$MSA" trial setfit-frozen.toml --out runs/setfit-frozen
  expect_contains "$ERR" "[contrastive] fine-tunes the text encoder's top layers: set trainable_layers"
  # Without cached_prefix a trial cannot train the top layers: a clear error.
  grep -v "cached_prefix" tune.toml >uncached.toml
  expect_exit 1 "$MSA" trial uncached.toml --out runs/uncached
  expect_contains "$ERR" "set cached_prefix = true"
  # A token-level fusion without token sequences stops before training, saying what to set.
  grep -v "cached_prefix\|trainable_layers" tune.toml >tokens.toml
  printf '[encoders.image]\nplugin = "efficientnet-lite"\ncheckpoint = "%s"\n[fusion]\nplugin = "cross-attention"\n' \
    "$models/efficientnet-lite0" >>tokens.toml
  expect_exit 1 "$MSA" trial tokens.toml --out runs/tokens
  expect_contains "$ERR" "works on token sequences: set tokens = true in [encoders."
else
  echo "skipped the fine-tuning trial: $models/all-MiniLM-L6-v2 is absent (scripts/fetch-models)"
fi

# mvsa-ecnu: a real trial on the labelled tweets beats always predicting "positive".
shared="${MSA_SHARED_DIR:-$MSA_SOURCE_DIR/../shared}/data/mvsa-ecnu"
if [[ -d $shared ]]; then
  mvsa_manifest mvsa.toml "$shared" 5
  expect_exit 0 "$MSA" trial mvsa.toml
  python3 - runs/mvsa/metrics.json <<'PY' || fail "mvsa-ecnu trial did not beat the majority class"
import json, sys
m = json.load(open(sys.argv[1]))
test = m["test"]
majority = max(c["support"] for c in test["per_class"].values()) / test["samples"]
print(f"mvsa-ecnu hashed-ngram: test accuracy {test['accuracy']:.3f} (majority {majority:.3f}), "
      f"weighted F1 {test['weighted_f1']:.3f}, {m['train_rows']} training rows")
sys.exit(0 if test["accuracy"] > majority and m["train_rows"] == 2801 else 1)
PY
else
  echo "skipped the mvsa-ecnu trial: $shared is absent"
fi
done_ok
