# msa encode: the first run encodes every sample, the second reads them all from the store.
source "$(dirname "$0")/lib.sh"

# A small guid-tag dataset from the committed fixture images.
mkdir -p "$WORK/data/data"
printf 'guid,tag\n1,positive\n2,negative\n3,neutral\n' >"$WORK/data/train.txt"
for id in 1 2 3; do
  cp "$MSA_SOURCE_DIR/tests/fixtures/images/photo.jpg" "$WORK/data/data/$id.jpg"
  echo "tweet number $id is great" >"$WORK/data/data/$id.txt"
done
cat >"$WORK/study.toml" <<TOML
schema_version = 1
[dataset]
root = "data"
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 64
TOML
count() { python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['encoders'][0]; print(e['encoded'], e['from_store'])" "$WORK/stdout"; }

expect_exit 0 "$MSA" encode "$WORK/study.toml" --json
[[ $(count) == "3 0" ]] || fail "first run: expected 3 encoded, 0 from the store; got $(count)"
expect_contains "$ERR" "encode text (hashed-ngram): 3/3 (100%)"
expect_exit 0 "$MSA" encode "$WORK/study.toml" --json
[[ $(count) == "0 3" ]] || fail "second run: expected 0 encoded, 3 from the store; got $(count)"
expect_exit 0 "$MSA" cache verify --store "$WORK/store.h5"

# Several manifests at once (msa run's encode step on a cluster): alike ones are encoded
# once, the others each into their own group.
sed 's/^dim = 64$/dim = 32/' "$WORK/study.toml" >"$WORK/narrow.toml"
cp "$WORK/study.toml" "$WORK/again.toml"
expect_exit 0 "$MSA" encode "$WORK/study.toml" "$WORK/again.toml" "$WORK/narrow.toml" --counts "$WORK/counts.json"
expect_contains "$OUT" "text (hashed-ngram, key "
python3 - "$WORK/counts.json" <<'PY2'
import json, sys
encoders = json.load(open(sys.argv[1]))["encoders"]
got = [(e["manifest"].rsplit("/", 1)[1], e["encoded"], e["from_store"]) for e in encoders]
assert got == [("study.toml", 0, 3), ("narrow.toml", 3, 0)], got
PY2
passed=$((passed + 1))

# A bad sample stops the run before any work, naming the file, line and id.
rm "$WORK/data/data/2.txt"
expect_exit 1 "$MSA" encode "$WORK/study.toml"
expect_contains "$ERR" "train.txt:3: sample '2'"

# On the real dataset, when present: 4,012 listed samples, all from the store the second time.
manifest="$MSA_SOURCE_DIR/experiments/mvsa-ecnu.toml"
if [[ -d "$MSA_SOURCE_DIR/../shared/data/mvsa-ecnu" ]]; then
  expect_exit 0 "$MSA" encode "$manifest" --store "$WORK/mvsa.h5" --json
  [[ $(count) == "4012 0" ]] || fail "mvsa-ecnu first run: $(count)"
  expect_exit 0 "$MSA" encode "$manifest" --store "$WORK/mvsa.h5" --json
  [[ $(count) == "0 4012" ]] || fail "mvsa-ecnu second run: $(count)"
else
  echo "skipped the mvsa-ecnu part: ../shared/data/mvsa-ecnu is absent"
fi
done_ok
