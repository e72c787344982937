# msa run SIGKILLed at random moments, 20 times in a row, each followed by a rerun: the
# final results.json and every trial's metrics equal those of an uninterrupted run, a
# trial once finished is never run again, and no worker outlives the msa run that
# started it. Two msa runs on one study folder: the second refuses.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
"$MSA" demo-data --out demo --samples 120 --size 32 >/dev/null
cat >study.toml <<TOML
schema_version = 1
name = "killed"
seed = 1
[dataset]
root = "demo"
[split]
valid = 0.2
test = 0.2
[store]
path = "store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 256
[encoders.image]
plugin = "hf-vit"
checkpoint = "$MSA_SOURCE_DIR/tests/fixtures/parity/vit"
[train]
epochs = 40
patience = 0

[[phase]]
name = "architecture"
seeds = [1, 2]
sweep.fusion = ["concat", "gated", "text-only"]

[[phase]]
name = "loss"
from = "architecture"
seeds = [1, 2]
sweep.loss = ["cross-entropy", "focal"]
TOML
expect_exit 0 "$MSA" run study.toml --jobs 2 --out "$WORK/reference"

# The finished trials' metrics.json (inode and mtime): a rerun must leave them untouched.
finished() {
  python3 - "$WORK/killed" "$WORK/finished.json" <<'PY'
import json, os, sys
root, record = sys.argv[1:]
seen = json.load(open(record)) if os.path.exists(record) else {}
for phase in ("architecture", "loss"):
    folder = os.path.join(root, phase)
    for trial in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        metrics = os.path.join(folder, trial, "metrics.json")
        try:
            ok = json.load(open(metrics))["status"] == "ok"
        except (OSError, ValueError, KeyError):
            continue
        if not ok:
            continue
        stat = os.stat(metrics)
        now = [stat.st_ino, stat.st_mtime_ns]
        key = f"{phase}/{trial}"
        if key in seen and seen[key] != now:
            sys.exit(f"{key} finished earlier and was written again by a rerun")
        seen[key] = now
json.dump(seen, open(record, "w"))
print(len(seen))
PY
}
RANDOM=7
counts=()
for round in $(seq 1 20); do
  "$MSA" run study.toml --jobs 2 --out "$WORK/killed" >"$WORK/run.$round.out" 2>&1 &
  runner=$!
  sleep "$((RANDOM % 25 / 10)).$((RANDOM % 10))"
  kill -9 "$runner" 2>/dev/null || true
  wait "$runner" 2>/dev/null || true
  # Its workers and its fork server die with it (they would otherwise run trials beside
  # the rerun's). They are found by the files they hold open: a worker its worker.log, the
  # server msa run's stderr.
  for _ in $(seq 50); do [[ -z $(holders "$WORK/killed/*" "$WORK/run.$round.out") ]] && break; sleep 0.1; done
  left=$(holders "$WORK/killed/*" "$WORK/run.$round.out")
  [[ -z $left ]] || fail "round $round: processes outlived the killed msa run: $left
$(cat "$WORK/run.$round.out")"
  count=$(finished) || fail "round $round: $count"
  counts+=("$count")
done
echo "finished trials (of 20) after each kill: ${counts[*]}"
expect_exit 0 "$MSA" run study.toml --jobs 2 --out "$WORK/killed"
finished >/dev/null || fail "the last run wrote a finished trial again"
python3 - "$WORK/reference" "$WORK/killed" <<'PY'
import json, os, sys
reference, killed = (json.load(open(f"{d}/results.json")) for d in sys.argv[1:])
assert killed["status"] == "complete", killed["status"]
assert killed["final_incumbent"] == reference["final_incumbent"]
for p, q in zip(reference["phases"], killed["phases"]):
    assert p["incumbent"] == q["incumbent"], p["name"]
    for a, b in zip(p["configs"], q["configs"]):
        assert a["label"] == b["label"] and a["valid"] == b["valid"] and a["test"] == b["test"], (a["label"], a, b)
        for s, t in zip(a["trials"], b["trials"]):
            m, n = (json.load(open(os.path.join(d, s["folder"], "metrics.json"))) for d in sys.argv[1:])
            assert m["valid"] == n["valid"] and m["test"] == n["test"], s["folder"]
PY
passed=$((passed + 1))

# One msa run per study folder; the lock goes with its process.
sed -i 's/^epochs = 40$/epochs = 100000/' study.toml
"$MSA" run study.toml --out "$WORK/locked" >locked.out 2>locked.err &
runner=$!
for _ in $(seq 100); do [[ -s $WORK/locked/.msa-run.lock ]] && break; sleep 0.1; done
expect_exit 1 "$MSA" run study.toml --out "$WORK/locked"
expect_contains "$ERR" "another msa run is running on the study folder $WORK/locked (host $(hostname), pid $runner, since "
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
sed -i 's/^epochs = 100000$/epochs = 2/' study.toml
expect_exit 0 "$MSA" run study.toml --out "$WORK/locked"
done_ok
