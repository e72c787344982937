# `msa cache ls | verify | prune | keys` on stores this test writes (with msa_store_tool,
# which writes groups under given keys), through a manifest and through --store.
source "$(dirname "$0")/lib.sh"
TOOL=$(dirname "$MSA")/msa_store_tool
[[ -x $TOOL ]] || fail "msa_store_tool not built beside $MSA"
export XDG_CACHE_HOME=$WORK/cache

expect_exit 0 "$MSA" cache --help
for sub in ls verify prune keys; do expect_exit 0 "$MSA" cache "$sub" --help; done
expect_exit 2 "$MSA" cache
expect_exit 2 "$MSA" cache ls
expect_contains "$ERR" "name a study manifest or --store FILE"

mkdir -p "$WORK/mvsa"
cat >"$WORK/study.toml" <<'TOML'
schema_version = 1
[dataset]
root = "mvsa"
[store]
path = "features.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 64
TOML
# Without [store] path: the per-dataset default under $XDG_CACHE_HOME.
grep -v -e '^\[store\]' -e '^path' "$WORK/study.toml" >"$WORK/default.toml"
expect_exit 0 "$MSA" cache ls "$WORK/default.toml"
expect_contains "$OUT" "$WORK/cache/msa-workbench/features/mvsa-"
expect_contains "$OUT" "no store yet"

# The manifest's encoder key, and a store holding it plus a stale encoder's group.
expect_exit 0 "$MSA" cache keys "$WORK/study.toml" --json
read -r key plugin version < <(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["store"].endswith("/features.h5"), doc
e = doc["encoders"][0]
assert e["modality"] == "text" and e["plugin"] == "hashed-ngram" and "dim=64" in e["cache_key"], e
print(e["key"], e["plugin"], e["version"])' "$WORK/stdout") || fail "cache keys --json: $OUT"
store=$WORK/features.h5
expect_exit 0 "$TOOL" write "$store" --key "$key" --plugin "$plugin" --version "$version" --count 300 --dim 64
expect_exit 0 "$TOOL" write "$store" --plugin old-encoder --count 2000 --dim 256 --compression 0
expect_exit 0 "$TOOL" write "$store" --plugin image-encoder --count 50 --dim 16 --length 5 --token-dim 8 --dtype float16
old_key=$("$TOOL" check "$store" --plugin old-encoder >/dev/null && "$MSA" cache ls --store "$store" --json |
  python3 -c 'import json, sys; print(next(g["key"] for g in json.load(sys.stdin)["groups"] if g["plugin"] == "old-encoder"))')

expect_exit 0 "$MSA" cache ls "$WORK/study.toml"
expect_contains "$OUT" "$store: 3 group(s)"
expect_contains "$OUT" "${key:0:12}  hashed-ngram"
expect_contains "$OUT" "old-encoder"
expect_contains "$OUT" "16 + tokens 5x8"
expect_contains "$OUT" "float16"
expect_exit 0 "$MSA" cache ls --store "$store" --json
python3 - "$WORK/stdout" "$key" <<'PY' || fail "cache ls --json: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["exists"] and doc["bytes"] > 0
groups = {g["plugin"]: g for g in doc["groups"]}
assert set(groups) == {"hashed-ngram", "old-encoder", "image-encoder"}, groups
g = groups["hashed-ngram"]
assert g["key"] == sys.argv[2] and g["count"] == 300 and g["dim"] == 64 and g["dtype"] == "float32", g
assert groups["image-encoder"]["length"] == 5 and groups["image-encoder"]["token_dim"] == 8
assert groups["old-encoder"]["params"] == {"dim": 256}
PY

expect_exit 0 "$MSA" cache verify "$WORK/study.toml"
expect_contains "$OUT" "sound (3 group(s), 2350 ids)"

# A damaged copy: bytes overwritten in the middle of the big group's raw data.
cp "$store" "$WORK/damaged.h5"
python3 - "$WORK/damaged.h5" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0, 2)
    size = f.tell()
    f.seek(size // 2)
    f.write(b"\xff" * 4096)  # 0xffffffff is a NaN as float32
PY
expect_exit 1 "$MSA" cache verify --store "$WORK/damaged.h5"
expect_contains "$OUT" "problem(s)"
expect_exit 1 "$MSA" cache verify --store "$WORK/damaged.h5" --json
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert not d["ok"] and d["problems"], d' "$WORK/stdout"
expect_exit 1 "$MSA" cache verify --store "$WORK/nothing.h5"
expect_contains "$OUT" "no such file"
mkdir -p "$WORK/a-folder"
expect_exit 1 "$MSA" cache ls --store "$WORK/a-folder"
expect_contains "$ERR" "feature store $WORK/a-folder is a folder; [store] path names the store's HDF5 file, e.g. $WORK/a-folder/features.h5"

# prune: what to remove must be said; wrong prefixes name the groups there are.
expect_exit 2 "$MSA" cache prune --store "$store"
expect_exit 1 "$MSA" cache prune --store "$store" --key XYZ
expect_contains "$ERR" "not a key prefix"
expect_exit 1 "$MSA" cache prune --store "$store" --key 0123456789abcdef0123
expect_contains "$ERR" "matches no group"
expect_contains "$ERR" "old-encoder"
expect_exit 2 "$MSA" cache prune --store "$store" --all --key "${key:0:6}"
expect_exit 2 "$MSA" cache ls "$store"
expect_contains "$ERR" "looks like a store, not a manifest; name it with --store"

expect_exit 0 "$MSA" cache prune --keep-manifest "$WORK/study.toml" --dry-run
expect_contains "$OUT" "would remove ${old_key:0:12}  old-encoder"
[[ $OUT != *hashed-ngram* ]] || fail "the dry run would remove the manifest's own encoder: $OUT"
before=$(stat -c %s "$store")
expect_exit 0 "$MSA" cache prune --keep-manifest "$WORK/study.toml"
expect_contains "$OUT" "removed ${old_key:0:12}  old-encoder"
expect_contains "$OUT" "image-encoder"
expect_contains "$OUT" "removed 2 group(s), reclaimed"
after=$(stat -c %s "$store")
((after < before / 2)) || fail "prune did not shrink the store: $before -> $after bytes"
expect_exit 0 "$MSA" cache ls "$WORK/study.toml"
expect_contains "$OUT" "1 group(s)"
expect_exit 0 "$TOOL" check "$store" --key "$key" --expect-count 300
expect_exit 0 "$MSA" cache prune "$WORK/study.toml" --keep-manifest "$WORK/study.toml"
expect_contains "$OUT" "nothing to remove"

expect_exit 0 "$MSA" cache prune --store "$store" --key "${key:0:8}"
expect_contains "$OUT" "removed ${key:0:12}"
expect_exit 0 "$TOOL" write "$store" --plugin a --count 10 --dim 4
expect_exit 0 "$TOOL" write "$store" --plugin b --count 10 --dim 4
expect_exit 0 "$MSA" cache prune --store "$store" --all
expect_contains "$OUT" "removed 2 group(s)"
expect_exit 0 "$MSA" cache ls --store "$store"
expect_contains "$OUT" "0 group(s)"
expect_exit 0 "$MSA" cache verify --store "$store"

done_ok
