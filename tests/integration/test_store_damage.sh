# A feature store damaged on disk: a flipped byte in a group's features fails its
# checksum, so `msa cache verify` names the group and `msa encode` refuses to read it,
# saying how to repair (prune the group; it is encoded again); a truncated file is
# damaged as a whole, and verify says to delete or restore it.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
"$MSA" demo-data --out demo --samples 120 --size 32 >/dev/null
cat >study.toml <<TOML
schema_version = 1
[dataset]
root = "demo"
[store]
path = "store.h5"
compression = 0
[encoders.text]
plugin = "hashed-ngram"
dim = 256
TOML
expect_exit 0 "$MSA" encode study.toml
cp store.h5 sound.h5
key=$("$MSA" cache ls --store store.h5 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["groups"][0]["key"])')
# Half way into the file: inside the group's 132 x 256 float32 features (135 of 290 KB).
python3 - store.h5 <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 2] ^= 0xFF
open(sys.argv[1], "wb").write(data)
PY
expect_exit 1 "$MSA" cache verify --store store.h5
expect_contains "$OUT" "group $key"
expect_contains "$OUT" "data error detected by Fletcher32 checksum"
expect_exit 1 "$MSA" encode study.toml
expect_contains "$ERR" "the group's stored data is damaged: \`msa cache prune --store $WORK/store.h5 --key $key\` removes it"
expect_exit 0 "$MSA" cache prune --store store.h5 --key "$key"
expect_exit 0 "$MSA" encode study.toml --json
expect_contains "$OUT" '"encoded": 132'
expect_exit 0 "$MSA" cache verify --store store.h5

# Cut short: the file as a whole.
head -c $(($(stat -c %s sound.h5) * 2 / 3)) sound.h5 >store.h5
expect_exit 1 "$MSA" cache verify --store store.h5
expect_contains "$OUT" "truncated file"
expect_contains "$OUT" "the file as a whole is damaged: delete it (msa encodes what a study needs again) or restore it"
expect_exit 1 "$MSA" encode study.toml
expect_contains "$ERR" "$WORK/store.h5"
done_ok
