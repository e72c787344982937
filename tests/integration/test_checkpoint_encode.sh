# msa encode with the real checkpoints of scripts/fetch-models: MiniLM (hf-text) with its
# top layer trainable and the prefix kept in the store (the prefix alone: the top runs in
# the trial), EfficientNet-Lite0 for images; a second run reads everything from the store. A missing checkpoint folder is a
# validation error that names it.
source "$(dirname "$0")/lib.sh"

models="${MSA_MODELS_DIR:-$MSA_SOURCE_DIR/models}"
mkdir -p "$WORK/data/data"
printf 'guid,tag\n1,positive\n2,negative\n3,neutral\n4,positive\n' >"$WORK/data/train.txt"
images=(photo.jpg grey.jpg progressive444.jpg cmyk.jpg)
texts=("what a lovely day :)" "worst service ever, never again" "the weather in #London" "Café déjà vu 东京")
for id in 1 2 3 4; do
  cp "$MSA_SOURCE_DIR/tests/fixtures/images/${images[$((id - 1))]}" "$WORK/data/data/$id.jpg"
  echo "${texts[$((id - 1))]}" >"$WORK/data/data/$id.txt"
done
cat >"$WORK/study.toml" <<TOML
schema_version = 1
[dataset]
root = "data"
[store]
path = "store.h5"
[encoders.text]
plugin = "hf-text"
checkpoint = "$models/all-MiniLM-L6-v2"
normalize = true
trainable_layers = 1
cached_prefix = true
[encoders.image]
plugin = "efficientnet-lite"
checkpoint = "$models/efficientnet-lite0"
TOML

# Without the folder: a validation-time error naming it and how to get one.
sed "s|$models/efficientnet-lite0|$WORK/no-such-model|" "$WORK/study.toml" >"$WORK/missing.toml"
expect_exit 1 "$MSA" encode "$WORK/missing.toml"
expect_contains "$ERR" "checkpoint folder '$WORK/no-such-model' does not exist"
expect_contains "$ERR" "scripts/fetch-models"

if [[ ! -d "$models/all-MiniLM-L6-v2" || ! -d "$models/efficientnet-lite0" ]]; then
  echo "skipped the rest: $models lacks all-MiniLM-L6-v2 or efficientnet-lite0 (run scripts/fetch-models)"
  done_ok
  exit 0
fi

rows() { python3 -c "import json,sys; print(' '.join(f\"{e['modality']}={e['encoded']}/{e['from_store']}\" for e in json.load(open(sys.argv[1]))['encoders']))" "$WORK/stdout"; }
expect_exit 0 "$MSA" encode "$WORK/study.toml" --json
[[ $(rows) == "image=4/0 text prefix=4/0" ]] || fail "first run: $(rows)"
expect_contains "$ERR" "encode text prefix (hf-text): 4/4"
expect_exit 0 "$MSA" encode "$WORK/study.toml" --json
[[ $(rows) == "image=0/4 text prefix=0/4" ]] || fail "second run: $(rows)"
expect_exit 0 "$MSA" cache verify --store "$WORK/store.h5"
# Two groups: MiniLM's prefix (tokens below the top layer, pooled 384), EfficientNet's 1280.
expect_exit 0 "$MSA" cache ls --store "$WORK/store.h5" --json
python3 - "$WORK/stdout" <<'PY' || fail "unexpected groups in the store"
import json, sys
groups = json.load(open(sys.argv[1]))["groups"]
dims = sorted((g["plugin"], g["dim"], g["token_dim"]) for g in groups)
assert dims == [("efficientnet-lite", 1280, 0), ("hf-text", 384, 384)], dims
PY
done_ok
