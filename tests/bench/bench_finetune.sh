# Fine-tuning benchmark (CTest label bench): seconds per training epoch of a trial that
# trains all-MiniLM-L6-v2's top 2 layers (trainable_layers = 2, cached_prefix = true)
# with a gated fusion over frozen EfficientNet-Lite0 features, cross-entropy, batch 32,
# 2 threads, on mvsa-ecnu's 2,801 training rows: float32 with and without [train]
# bucket_by_length, and, on a CPU with native BF16, bucketed in bfloat16 mixed precision
# ([train] precision; the reference under torch.autocast). msa's figure is the epoch time history.csv reports (the training
# steps and the validation pass); tests/bench/reference_finetune.py does the same epoch in
# PyTorch (transformers' BertLayers from the same checkpoint) on the same stored prefix
# states and rows. The two alternate, one epoch each, for MSA_BENCH_ROUNDS rounds
# (default 3), so that a change in the machine's load falls on both; medians over the
# rounds. Filling the store (`msa encode`, the prefix included) is not timed. Needs
# models/, ../shared and scripts/python-env; skips without them.
set -euo pipefail
: "${MSA_BINARY_DIR:?}" "${MSA_SOURCE_DIR:?}"
# The figures depend on the CPU (AVX2 only, or AVX-512 with native BF16): say which.
"$MSA_BINARY_DIR/bin/msa" version | grep '^cpu '
msa="$MSA_BINARY_DIR/bin/msa"
data="$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu"
models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
out="$MSA_BINARY_DIR/bench/finetune"
rounds=${MSA_BENCH_ROUNDS:-3}
mkdir -p "$out"
for need in "$data" "$models/all-MiniLM-L6-v2" "$models/efficientnet-lite0"; do
  [[ -d $need ]] || { echo "skipped: $need is absent (scripts/fetch-models; ../shared)"; exit 0; }
done
python=$("$MSA_SOURCE_DIR/scripts/python-env" 2>"$out/python-env.log") ||
  { echo "skipped: scripts/python-env could not set up the reference environment (see $out/python-env.log)"; exit 0; }
# msa runs with OMP_WAIT_POLICY=PASSIVE unless the variable is set (host/util/
# omp_wait_policy.cpp); the reference runs under the same policy, so that the two compare
# the training step, not libgomp's spinning (which costs either side dearly on a busy machine).
wait_policy=${OMP_WAIT_POLICY:-PASSIVE}
echo "OMP_WAIT_POLICY=$wait_policy for msa and the reference"

variants="cut bucketed"
# bfloat16 only where it is native: emulated, it is tens of times slower on both sides.
if "$msa" version | grep -q 'computes in bfloat16'; then variants="$variants bf16"
else echo "bf16 variant skipped: this CPU has no native BF16 (AVX512_BF16 or AMX)"; fi

for variant in $variants; do
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
epochs = 1
patience = 0
threads = 2
# The reference trains on the stored image features as they are.
standardize = false
bucket_by_length = $([[ $variant == cut ]] && echo false || echo true)
precision = "$([[ $variant == bf16 ]] && echo bfloat16 || echo float32)"
TOML
done
# Fills the store once (prefix states entering layer 4, image features); not timed.
"$msa" encode "$out/cut.toml" >"$out/encode.txt" 2>&1 || { cat "$out/encode.txt"; exit 1; }

# Under load the figures mean less: keep the load beside them, before and after.
echo "load before: $(uptime | sed 's/.*load average/load average/')"
for round in $(seq "$rounds"); do
  for variant in $variants; do
    run="$out/run-$variant-$round"
    "$msa" trial "$out/$variant.toml" --out "$run" >/dev/null 2>"$run.log" || { cat "$run.log"; exit 1; }
    flags=$([[ $variant == cut ]] || echo --bucket)
    [[ $variant == bf16 ]] && flags="$flags --bf16"
    OMP_WAIT_POLICY=$wait_policy "$python" "$MSA_SOURCE_DIR/tests/bench/reference_finetune.py" "$run" --epochs 1 \
      --threads 2 $flags >"$run.reference.json" 2>"$run.reference.log" || { cat "$run.reference.log"; exit 1; }
  done
done
echo "load after: $(uptime | sed 's/.*load average/load average/')"

python3 - "$out" "$rounds" $variants <<'PY' | tee "$out/summary.txt"
import csv, json, statistics, sys
out, rounds, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
listed = lambda values, digits=2: ", ".join(f"{v:.{digits}f}" for v in values)
for variant in variants:
    runs = [f"{out}/run-{variant}-{r}" for r in range(1, rounds + 1)]
    history = [next(csv.DictReader(open(f"{run}/history.csv"))) for run in runs]
    refs = [json.load(open(f"{run}.reference.json")) for run in runs]
    metrics = json.load(open(f"{runs[-1]}/metrics.json"))
    ours = [float(h["seconds"]) for h in history]
    theirs = [r["epoch_seconds"][0] for r in refs]
    name = {"cut": "batches cut to their longest text, float32", "bucketed": "bucket_by_length, float32",
            "bf16": "bucket_by_length, bfloat16 mixed precision"}[variant]
    print(f"fine-tuning, {name}: {metrics['train_rows']} training rows, MiniLM's top "
          f"{metrics['features']['text']['trainable_layers']} layers + gated fusion, "
          f"{refs[0]['mean_batch_tokens']:.1f} tokens per training batch (mean)")
    print(f"  msa      {statistics.median(ours):6.2f} s/epoch (median of {rounds}: {listed(ours)}); "
          f"train loss {listed((float(h['train_loss']) for h in history), 3)}")
    print(f"  PyTorch  {statistics.median(theirs):6.2f} s/epoch (median of {rounds}: {listed(theirs)}), of which "
          f"training steps {statistics.median(r['train_seconds'][0] for r in refs):.2f} s; train loss "
          f"{listed((r['train_loss'][0] for r in refs), 3)}; torch {refs[0]['torch']}, transformers "
          f"{refs[0]['transformers']}, attention {refs[0]['attention']}")
    print(f"  ratio msa/PyTorch {statistics.median(ours) / statistics.median(theirs):.2f}x "
          f"(round by round: {listed(a / b for a, b in zip(ours, theirs))})")
PY
