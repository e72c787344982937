# Fine-tuning benchmark (CTest label bench): seconds per training epoch of a trial that
# trains all-MiniLM-L6-v2's top 2 layers (trainable_layers = 2, cached_prefix = true)
# with a gated fusion over frozen EfficientNet-Lite0 features, cross-entropy, batch 32,
# float32, 2 threads, on mvsa-ecnu's 2,801 training rows, with and without [train]
# bucket_by_length. msa's figure is the epoch time history.csv reports (the training
# steps and the validation pass); in the same run tests/bench/reference_finetune.py does
# the same in PyTorch (transformers' BertLayers from the same checkpoint) on the same
# stored prefix states and rows. Medians over the epochs. Filling the store (`msa encode`,
# the prefix included) is not timed. Needs models/, ../shared and scripts/python-env;
# skips without them. MSA_BENCH_EPOCHS (default 3) sets the epochs per variant.
set -euo pipefail
: "${MSA_BINARY_DIR:?}" "${MSA_SOURCE_DIR:?}"
# The figures depend on the CPU (AVX2 only, or AVX-512 with native BF16): say which.
"$MSA_BINARY_DIR/bin/msa" version | grep '^cpu '
msa="$MSA_BINARY_DIR/bin/msa"
data="$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu"
models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
out="$MSA_BINARY_DIR/bench/finetune"
epochs=${MSA_BENCH_EPOCHS:-3}
mkdir -p "$out"
for need in "$data" "$models/all-MiniLM-L6-v2" "$models/efficientnet-lite0"; do
  [[ -d $need ]] || { echo "skipped: $need is absent (scripts/fetch-models; ../shared)"; exit 0; }
done
python=$("$MSA_SOURCE_DIR/scripts/python-env" 2>"$out/python-env.log") ||
  { echo "skipped: scripts/python-env could not set up the reference environment (see $out/python-env.log)"; exit 0; }
# Under load the figures mean less: keep the load beside them.
echo "load: $(uptime | sed 's/.*load average/load average/')"
# msa runs with OMP_WAIT_POLICY=PASSIVE unless the variable is set (host/util/
# omp_wait_policy.cpp); the reference runs under the same policy, so that the two compare
# the training step, not libgomp's spinning (which costs either side dearly on a busy machine).
wait_policy=${OMP_WAIT_POLICY:-PASSIVE}
echo "OMP_WAIT_POLICY=$wait_policy for msa and the reference"

for variant in cut bucketed; do
  bucket=$([[ $variant == bucketed ]] && echo true || echo false)
  cat >"$out/$variant.toml" <<TOML
include = ["$MSA_SOURCE_DIR/experiments/trials/mvsa-ecnu-frozen.toml"]
name = "bench-finetune-$variant"
[dataset]
root = "$data"
[encoders.text]
plugin = "hf-text"
checkpoint = "$models/all-MiniLM-L6-v2"
trainable_layers = 2
cached_prefix = true
[encoders.image]
plugin = "efficientnet-lite"
checkpoint = "$models/efficientnet-lite0"
[fusion]
plugin = "gated"
hidden = 256
dropout = 0.1
[train]
epochs = $epochs
patience = 0
threads = 2
bucket_by_length = $bucket
TOML
done
# Fills the store once (prefix states entering layer 4, image features); not timed.
"$msa" encode "$out/cut.toml" >"$out/encode.txt" 2>&1 || { cat "$out/encode.txt"; exit 1; }

for variant in cut bucketed; do
  "$msa" trial "$out/$variant.toml" --out "$out/run-$variant" >/dev/null 2>"$out/log-$variant.txt" ||
    { cat "$out/log-$variant.txt"; exit 1; }
  bucket=$([[ $variant == bucketed ]] && echo --bucket || true)
  OMP_WAIT_POLICY=$wait_policy "$python" "$MSA_SOURCE_DIR/tests/bench/reference_finetune.py" "$out/run-$variant" \
    --epochs "$epochs" --threads 2 $bucket >"$out/reference-$variant.json" 2>"$out/reference-$variant.log" ||
    { cat "$out/reference-$variant.log"; exit 1; }
done

python3 - "$out" <<'PY' | tee "$out/summary.txt"
import csv, json, statistics, sys
out = sys.argv[1]
listed = lambda values: ", ".join(f"{v:.2f}" for v in values)
for variant in ("cut", "bucketed"):
    history = list(csv.DictReader(open(f"{out}/run-{variant}/history.csv")))
    metrics = json.load(open(f"{out}/run-{variant}/metrics.json"))
    ref = json.load(open(f"{out}/reference-{variant}.json"))
    ours = [float(h["seconds"]) for h in history]
    name = "bucket_by_length" if variant == "bucketed" else "cut to the longest text only"
    print(f"fine-tuning ({name}): {metrics['train_rows']} training rows, MiniLM's top "
          f"{metrics['features']['text']['trainable_layers']} layers + gated fusion, "
          f"{ref['mean_batch_tokens']:.1f} tokens per training batch (mean)")
    print(f"  msa       {statistics.median(ours):6.2f} s/epoch (median of {len(ours)}: {listed(ours)}); "
          f"first epoch's train loss {float(history[0]['train_loss']):.3f}")
    print(f"  PyTorch   {ref['epoch_seconds_median']:6.2f} s/epoch (median of {len(ref['epoch_seconds'])}: "
          f"{listed(ref['epoch_seconds'])}), of which training steps {ref['train_seconds_median']:.2f} s; "
          f"first epoch's train loss {ref['train_loss'][0]:.3f}; torch {ref['torch']}, transformers "
          f"{ref['transformers']}, attention {ref['attention']}, OMP_WAIT_POLICY {ref['omp_wait_policy']}")
    print(f"  ratio msa/PyTorch {statistics.median(ours) / ref['epoch_seconds_median']:.2f}x")
PY
