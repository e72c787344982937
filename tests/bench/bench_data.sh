# Data-layer benchmark (CTest label bench): decode + preprocess throughput on the
# mvsa-ecnu images at 224 px with 1 and 2 threads against the Pillow/numpy reference in
# the same run, and the time to read 4,869 x 768 features from the store.
set -euo pipefail
: "${MSA_BINARY_DIR:?}" "${MSA_SOURCE_DIR:?}"
# The figures depend on the CPU (AVX2 only, or AVX-512 with native BF16): say which.
"$MSA_BINARY_DIR/bin/msa" version | grep '^cpu '
bench="$MSA_BINARY_DIR/bin/msa_bench"
images="$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu/data"
out="$MSA_BINARY_DIR/bench"
mkdir -p "$out"

if [[ -d $images ]]; then
  python=$("$MSA_SOURCE_DIR/scripts/python-env" 2>/dev/null) || python=""
  for threads in 1 2; do
    ours=$("$bench" images "$images" --threads "$threads" --repeat 3)
    echo "$ours"
    if [[ -n $python ]]; then
      reference=$("$python" "$MSA_SOURCE_DIR/tests/bench/reference_images.py" "$images" --threads "$threads" --repeat 3)
      echo "$reference"
      python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(f'images, {a[\"threads\"]} thread(s): {a[\"images_per_second\"]:.0f} images/s, Pillow reference {b[\"images_per_second\"]:.0f} images/s, ratio {a[\"images_per_second\"]/b[\"images_per_second\"]:.2f}x')" "$ours" "$reference"
    else
      echo "reference skipped: scripts/python-env could not provide Pillow"
    fi
  done | tee "$out/images.txt"
else
  echo "skipped images: ../shared/data/mvsa-ecnu is absent"
fi

for dtype in float32 float16; do
  "$bench" store --rows 4869 --dim 768 --dtype "$dtype" --repeat 5
done | tee "$out/store.txt"
