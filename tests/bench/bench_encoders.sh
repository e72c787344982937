# Encoder benchmark (CTest label bench): MiniLM (hf-text) and EfficientNet-Lite0
# (efficientnet-lite) throughput on mvsa-ecnu, batch 32, 2 threads, against the Python
# reference (sentence-transformers / efficientnet_lite_pytorch on torch) in the same run,
# with the same batches; then the bfloat16 mode, its throughput and its cosine to float32.
# Needs models/ (scripts/fetch-models), ../shared and scripts/python-env; skips without.
set -euo pipefail
: "${MSA_BINARY_DIR:?}" "${MSA_SOURCE_DIR:?}"
# The figures depend on the CPU (AVX2 only, or AVX-512 with native BF16): say which.
"$MSA_BINARY_DIR/bin/msa" version | grep '^cpu '
bench="$MSA_BINARY_DIR/bin/msa_bench"
data="$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu"
models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
out="$MSA_BINARY_DIR/bench/encoders"
mkdir -p "$out"
text_limit=${MSA_BENCH_TEXTS:-1024}  # the first samples the guid-tag lists name
image_limit=${MSA_BENCH_IMAGES:-128}  # EfficientNet-Lite0 is ~10x the work per sample
threads=2

for need in "$data" "$models/all-MiniLM-L6-v2" "$models/efficientnet-lite0"; do
  [[ -d $need ]] || { echo "skipped: $need is absent (scripts/fetch-models; ../shared)"; exit 0; }
done
python=$("$MSA_SOURCE_DIR/scripts/python-env")

manifest() { # modality plugin checkpoint dtype extra-lines
  cat <<TOML
schema_version = 1
[dataset]
format = "guid-tag"
root = "$data"
labels = ["negative", "neutral", "positive"]
[encoders.$1]
plugin = "$2"
checkpoint = "$3"
dtype = "$4"
batch_size = 32
threads = $threads
$5
TOML
}

summary() { # ours reference label
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a, b, label = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"{label}: {a['samples_per_second']:.1f} samples/s, reference {b['samples_per_second']:.1f} samples/s, "
      f"ratio {a['samples_per_second'] / b['samples_per_second']:.2f}x; max abs diff {b['max_abs_diff']:.2e}, "
      f"min cosine {b['min_cosine']:.6f} ({a['samples']} samples, batch {a['batch_size']}, {a['threads']} threads)")
PY
}

run() { # name modality plugin checkpoint reference-model limit extra-lines
  local name=$1 modality=$2 plugin=$3 checkpoint=$4 reference=$5 limit=$6 extra=$7
  for dtype in float32 bfloat16; do
    manifest "$modality" "$plugin" "$checkpoint" "$dtype" "$extra" >"$out/$name-$dtype.toml"
    "$bench" encoder "$out/$name-$dtype.toml" "$modality" --limit "$limit" --repeat 3 --out "$out/$name-$dtype" \
      >"$out/$name-$dtype.json"
    cat "$out/$name-$dtype.json"
  done
  # The reference runs once; its output is compared with float32 and bfloat16 both.
  ref=$("$python" "$MSA_SOURCE_DIR/tests/bench/reference_encoders.py" "$reference" "$checkpoint" "$out/$name-float32" \
        --batch 32 --threads "$threads" --repeat 3)
  echo "$ref"
  summary "$(cat "$out/$name-float32.json")" "$ref" "$name float32"
  "$python" - "$out/$name-float32.f32" "$out/$name-bfloat16.f32" "$(cat "$out/$name-float32.json")" \
    "$(cat "$out/$name-bfloat16.json")" "$name" <<'PY'
import json, sys
import numpy as np
a, b = np.fromfile(sys.argv[1], dtype=np.float32), np.fromfile(sys.argv[2], dtype=np.float32)
fp32, bf16 = json.loads(sys.argv[3]), json.loads(sys.argv[4])
a, b = a.reshape(fp32["samples"], -1), b.reshape(fp32["samples"], -1)
cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
print(f"{sys.argv[5]} bfloat16: {bf16['samples_per_second']:.1f} samples/s "
      f"({bf16['samples_per_second'] / fp32['samples_per_second']:.2f}x float32); cosine to float32: "
      f"median {np.median(cos):.5f}, min {cos.min():.5f}")
PY
}

{
  run minilm text hf-text "$models/all-MiniLM-L6-v2" minilm "$text_limit" $'pooling = "mean"\nnormalize = true'
  run efficientnet-lite0 image efficientnet-lite "$models/efficientnet-lite0" efficientnet-lite "$image_limit" ""
} 2>&1 | tee "$out/summary.txt"
