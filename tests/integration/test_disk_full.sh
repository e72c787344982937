# A full disk (ENOSPC, on a small tmpfs the test mounts) while the feature store appends
# and while msa run writes run folders and results.json: the error says what was full,
# the store stays readable and `msa cache verify` clean, nothing half-written is taken
# for a result, and once there is room a rerun finishes with the results of a run that
# never ran short.
source "$(dirname "$0")/lib.sh"
full=$WORK/full
mkdir -p "$full"
# small_disk SIZE: (re)mounts $full as a tmpfs of SIZE.
small_disk() {
  if mountpoint -q "$full"; then
    mount -o "remount,size=$1" "$full"
  else
    mount -t tmpfs -o "size=$1" tmpfs "$full" 2>"$WORK/mount.err" ||
      { echo "skipped: cannot mount a small tmpfs to fill ($(cat "$WORK/mount.err"); needs root)"; exit 77; }
  fi
}
trap 'umount "$full" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
"$MSA" demo-data --out demo --samples 120 --size 32 >/dev/null
# study FILE STORE OUTPUT: hashed n-grams stored raw (no compression) so they take room.
study() {
  cat >"$1" <<TOML
schema_version = 1
name = "full"
seed = 1
output = "$3"
[dataset]
root = "demo"
[split]
valid = 0.2
test = 0.2
test_seed = 3
[store]
path = "$2"
compression = 0
[encoders.text]
plugin = "hashed-ngram"
dim = 4096
[fusion]
plugin = "text-only"
[train]
epochs = 3

[[phase]]
name = "sweep"
seeds = [1, 2, 3]
sweep."train.learning_rate" = [1e-3, 3e-3]
TOML
}

# --- The feature store fills its disk while appending: 132 rows of 16 KiB, 1 MiB free.
small_disk 1m
study store.toml "$full/store.h5" runs
expect_exit 1 "$MSA" encode store.toml
expect_contains "$ERR" "No space left on device"
expect_contains "$ERR" "$full/store.h5"
expect_exit 0 "$MSA" cache verify --store "$full/store.h5"
stored=$("$MSA" cache ls --store "$full/store.h5" --json | python3 -c 'import json,sys; print(sum(g["rows"] for g in json.load(sys.stdin)["groups"]))')
[[ $stored -lt 132 ]] || fail "the store took every row on a disk too small for them"
small_disk 64m
expect_exit 0 "$MSA" encode store.toml --json
python3 - "$WORK/stdout" "$stored" <<'PY'
import json, sys
counts = json.load(open(sys.argv[1]))["encoders"][0]
assert counts["from_store"] == int(sys.argv[2]) and counts["encoded"] == 132 - int(sys.argv[2]), counts
PY
passed=$((passed + 1))
expect_exit 0 "$MSA" cache verify --store "$full/store.h5"

# --- Run folders and results.json on a full disk.
study reference.toml "$WORK/store.h5" "$WORK/reference"
expect_exit 0 "$MSA" run reference.toml
rm -rf "${full:?}"/*
small_disk 160k
study run.toml "$WORK/store.h5" "$full/runs"
code=0
"$MSA" run run.toml >run.out 2>run.err || code=$?
[[ $code != 0 ]] || fail "msa run succeeded on a full disk"
grep -q "No space left on device" run.err "$full"/runs/full/sweep/*/error.txt 2>/dev/null ||
  fail "no error says the disk was full: $(tail -5 run.err)"
# What says ok is whole: every trial with an ok metrics.json has its predictions and model.
python3 - "$full/runs/full" <<'PY'
import glob, json, os, sys
for metrics in glob.glob(f"{sys.argv[1]}/sweep/*/metrics.json"):
    m = json.load(open(metrics))
    folder = os.path.dirname(metrics)
    if m["status"] == "ok":
        rows = open(f"{folder}/predictions.csv").read().splitlines()
        assert len(rows) == 133, (folder, len(rows))
        assert os.path.getsize(f"{folder}/model.pt") > 0, folder
results = f"{sys.argv[1]}/results.json"
if os.path.exists(results):
    json.load(open(results))
PY
passed=$((passed + 1))
small_disk 64m
expect_exit 0 "$MSA" run run.toml
python3 - "$WORK/reference/full" "$full/runs/full" <<'PY'
import json, sys
a, b = (json.load(open(f"{d}/results.json")) for d in sys.argv[1:])
assert b["status"] == "complete", b["status"]
for x, y in zip(a["phases"][0]["configs"], b["phases"][0]["configs"]):
    assert x["valid"] == y["valid"] and x["test"] == y["test"], (x["label"], x["test"], y["test"])
PY
passed=$((passed + 1))
done_ok
