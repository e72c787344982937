# msa demo-data: writes the guid-tag layout with the documented counts, byte-identical for
# a seed and different for another; msa reads it (validate, encode) and a hashed-ngram
# trial on it beats the majority class; a folder that is not empty is refused.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

expect_exit 0 "$MSA" demo-data --out demo --seed 5
expect_contains "$OUT" "demo-data: 600 labelled (300 positive, 180 negative, 120 neutral), 60 unlabelled, 99 image/text conflicts (90 labelled), seed 5, 96 px: demo"
[[ $(echo "$OUT" | wc -l) == 1 ]] || fail "expected a one-line summary, got: $OUT"
[[ -z $ERR ]] || fail "no progress lines expected for 660 samples, got: $ERR"

# Layout and counts.
[[ $(head -1 demo/train.txt) == guid,tag ]] || fail "train.txt lacks the guid,tag header"
[[ $(head -1 demo/test_without_label.txt) == guid,tag ]] || fail "test_without_label.txt lacks the header"
[[ $(($(wc -l <demo/train.txt) - 1)) == 600 ]] || fail "train.txt should list 600 samples"
[[ $(($(wc -l <demo/test_without_label.txt) - 1)) == 60 ]] || fail "test_without_label.txt should list 60 samples"
[[ $(grep -c ',positive$' demo/train.txt) == 300 ]] || fail "expected 300 positive rows"
[[ $(grep -c ',negative$' demo/train.txt) == 180 ]] || fail "expected 180 negative rows"
[[ $(grep -c ',neutral$' demo/train.txt) == 120 ]] || fail "expected 120 neutral rows"
[[ $(tail -n +2 demo/test_without_label.txt | grep -vc ',null$' || true) == 0 ]] || fail "unlabelled rows must have tag null"
[[ $(find demo/data -name '*.jpg' | wc -l) == 660 ]] || fail "expected 660 images"
[[ $(find demo/data -name '*.txt' | wc -l) == 660 ]] || fail "expected 660 texts"
[[ $(head -c 3 demo/data/1.jpg | od -An -tx1 | tr -d ' ') == ffd8ff ]] || fail "data/1.jpg is not a JPEG"
[[ $(grep -c ',1$' demo/truth.csv) == 99 ]] || fail "truth.csv should mark 99 conflicts"
grep -q ',train,' demo/truth.csv || fail "truth.csv lacks the list column"
# Conflicts: the label is the text's sentiment, the image shows another one.
python3 - demo/truth.csv <<'PY' || fail "truth.csv does not follow the conflict rule"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    assert (r["conflict"] == "1") == (r["text_sentiment"] != r["image_sentiment"]), r
    if r["list"] == "train":
        assert r["tag"] == r["text_sentiment"], r
    else:
        assert r["tag"] == "null", r
PY
# Some texts carry non-ASCII UTF-8, and every text is valid UTF-8.
python3 -c "
import glob
texts = [open(p, encoding='utf-8').read() for p in glob.glob('demo/data/*.txt')]
assert any(not t.isascii() for t in texts), 'no non-ASCII text'
assert all(t.strip() for t in texts), 'a blank text'
" || fail "texts: not all valid UTF-8, non-blank, some non-ASCII"

# Determinism: the same seed gives the same bytes, another seed other bytes.
checksums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum); }
expect_exit 0 "$MSA" demo-data --out again --seed 5
[[ "$(checksums demo)" == "$(checksums again)" ]] || fail "the same seed gave different files"
expect_exit 0 "$MSA" demo-data --out other --seed 6
[[ "$(checksums demo)" != "$(checksums other)" ]] || fail "another seed gave the same files"
cmp -s demo/data/1.jpg other/data/1.jpg && fail "another seed gave the same first image"

# Options: sizes, counts and shares.
expect_exit 0 "$MSA" demo-data --out small --samples 50 --unlabelled 0 --conflicts 0 --size 64 --seed 2
expect_contains "$OUT" "50 labelled (25 positive, 15 negative, 10 neutral), 0 unlabelled, 0 image/text conflicts"
[[ $(wc -l <small/test_without_label.txt) == 1 ]] || fail "--unlabelled 0 should leave only the header"

# Bad usage: a folder that is not empty, without --force.
expect_exit 1 "$MSA" demo-data --out demo
expect_contains "$ERR" "msa: demo-data: demo is not empty"
expect_contains "$ERR" "--force"
expect_exit 0 "$MSA" demo-data --out demo --seed 5 --force
[[ "$(checksums demo)" == "$(checksums again)" ]] || fail "--force over the same seed changed the files"
touch afile
expect_exit 1 "$MSA" demo-data --out afile
expect_contains "$ERR" "afile exists and is not a folder"
expect_exit 2 "$MSA" demo-data --out x --samples 5
expect_exit 2 "$MSA" demo-data --out x --conflicts 1.5
expect_exit 2 "$MSA" demo-data --samples 100

# msa reads it: validate, encode with the hashed-ngram text encoder, and a trial.
cat >demo.toml <<TOML
schema_version = 1
name = "demo"
seed = 1
output = "runs"
[dataset]
root = "demo"
[split]
valid = 0.15
test = 0.15
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 512
[fusion]
plugin = "concat"
[train]
epochs = 8
batch_size = 32
learning_rate = 0.01
patience = 0
TOML
expect_exit 0 "$MSA" validate demo.toml
expect_exit 0 "$MSA" encode demo.toml
expect_contains "$OUT" "text (hashed-ngram"
expect_contains "$OUT" "660 samples, 660 encoded"
expect_exit 0 "$MSA" trial demo.toml
metric() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d$1)" runs/demo/metrics.json; }
[[ $(metric "['status']") == ok ]] || fail "the trial did not finish"
acc=$(metric "['test']['accuracy']")
# The majority class (positive) is half of every split.
python3 -c "import sys; sys.exit(0 if float('$acc') > 0.6 else 1)" || fail "test accuracy $acc does not beat the majority class (0.5)"
[[ $(grep -c ',unlabelled,' runs/demo/predictions.csv) == 60 ]] || fail "the 60 unlabelled rows should be predicted"
echo "demo trial: test accuracy $acc"

# The images carry the sentiment too, but the conflicts (labelled by the text) cap an
# image-only model below a text-only one: EfficientNet-Lite0 features, when present.
models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
if [[ -d $models/efficientnet-lite0 ]]; then
  for fusion in image-only text-only; do
    sed "s/^name = \"demo\"/name = \"$fusion\"/; s/^plugin = \"concat\"/plugin = \"$fusion\"/" demo.toml >$fusion.toml
    printf '[encoders.image]\nplugin = "efficientnet-lite"\ncheckpoint = "%s"\n' "$models/efficientnet-lite0" >>$fusion.toml
    expect_exit 0 "$MSA" trial $fusion.toml
  done
  image=$(python3 -c "import json; print(json.load(open('runs/image-only/metrics.json'))['test']['accuracy'])")
  text=$(python3 -c "import json; print(json.load(open('runs/text-only/metrics.json'))['test']['accuracy'])")
  echo "demo trials: image-only test accuracy $image, text-only $text"
  python3 -c "import sys; sys.exit(0 if 0.6 < $image < $text else 1)" ||
    fail "expected majority (0.5) < 0.6 < image-only ($image) < text-only ($text)"
else
  echo "skipped the image-only trial: $models/efficientnet-lite0 is absent (scripts/fetch-models)"
fi
done_ok
