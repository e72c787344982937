# Trial benchmark (CTest label bench): seconds for one 30-epoch trial (concat fusion,
# cross-entropy, no early stopping) on mvsa-ecnu's cached features (all-MiniLM-L6-v2 +
# EfficientNet-Lite0, 2,801 training rows of the 3,501 labelled), median of 3, against
# the same head trained in PyTorch on the same stored features in the same run.
# Encoding (the first time only) is not timed. Needs models/, ../shared and
# scripts/python-env; skips without them.
set -euo pipefail
: "${MSA_BINARY_DIR:?}" "${MSA_SOURCE_DIR:?}"
# The figures depend on the CPU (AVX2 only, or AVX-512 with native BF16): say which.
"$MSA_BINARY_DIR/bin/msa" version | grep '^cpu '
msa="$MSA_BINARY_DIR/bin/msa"
data="$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu"
models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
out="$MSA_BINARY_DIR/bench/trial"
mkdir -p "$out"
for need in "$data" "$models/all-MiniLM-L6-v2" "$models/efficientnet-lite0"; do
  [[ -d $need ]] || { echo "skipped: $need is absent (scripts/fetch-models; ../shared)"; exit 0; }
done
python=$("$MSA_SOURCE_DIR/scripts/python-env")
cat >"$out/trial.toml" <<TOML
include = ["$MSA_SOURCE_DIR/experiments/trials/mvsa-ecnu-frozen.toml"]
name = "bench-trial"
[dataset]
root = "$data"
[encoders.text]
plugin = "hf-text"
checkpoint = "$models/all-MiniLM-L6-v2"
[encoders.image]
plugin = "efficientnet-lite"
checkpoint = "$models/efficientnet-lite0"
[train]
epochs = 30
patience = 0
threads = 2
# The reference trains on the stored features as they are.
standardize = false
TOML
"$msa" encode "$out/trial.toml" >/dev/null  # fills the store once; not timed
times=()
for r in 1 2 3; do
  start=$(date +%s.%N)
  "$msa" trial "$out/trial.toml" --out "$out/run" 2>"$out/log-$r.txt" >/dev/null
  times+=("$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")")
  cp "$out/run/metrics.json" "$out/metrics-$r.json"
done
ref=$("$python" "$MSA_SOURCE_DIR/tests/bench/reference_trial.py" "$out/run" --epochs 30 --batch 32 --threads 2 --repeat 3)
python3 - "$out" "$ref" "${times[@]}" <<'PY' | tee "$out/summary.txt"
import json, statistics, sys
runs = [json.load(open(f"{sys.argv[1]}/metrics-{r}.json")) for r in (1, 2, 3)]
m, ref, wall = runs[-1], json.loads(sys.argv[2]), [float(t) for t in sys.argv[3:]]
train = statistics.median(r["seconds"]["train"] for r in runs)
print(f"trial: 30 epochs on {m['train_rows']} cached rows; msa trial command {statistics.median(wall):.2f} s, "
      f"training loop {train:.2f} s (medians of {len(wall)}); PyTorch reference training loop "
      f"{ref['seconds']:.2f} s (median of 3, torch {ref['torch']}); ratio {ref['seconds'] / train:.2f}x; "
      f"test weighted F1 msa {m['test']['weighted_f1']:.3f}, reference {ref['test_weighted_f1']:.3f}")
PY
