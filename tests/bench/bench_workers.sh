# Worker start-up benchmark (CTest label bench): a study of 27 short trials on the demo
# data (hashed n-grams + the ViT fixture, 3 fusions x 3 seeds x 3 folds, two workers),
# run with workers forked by msa run's fork server (the default) and started afresh
# (MSA_FORK_SERVER=0), alternating, 3 rounds each: the study's wall time and the median
# trial's, and their ratios. Both sides must train the same trials (their metrics are
# compared). Needs nothing beyond the build.
set -euo pipefail
: "${MSA_BINARY_DIR:?}" "${MSA_SOURCE_DIR:?}"
source "$MSA_SOURCE_DIR/tests/integration/lib.sh" # demo_study
# The figures depend on the CPU: say which.
"$MSA_BINARY_DIR/bin/msa" version | grep '^cpu '
msa="$MSA_BINARY_DIR/bin/msa"
out="$MSA_BINARY_DIR/bench/workers"
rm -rf "$out"
mkdir -p "$out"
cd "$out"
"$msa" demo-data --out demo --samples 160 --size 32 >/dev/null
{
  demo_study workers 7 64
  cat <<TOML
[train]
epochs = 4
batch_size = 16
learning_rate = 0.01
patience = 0
standardize = false

[[phase]]
name = "architecture"
seeds = [1, 2, 3]
select_folds = 3
sweep.fusion = [{ plugin = "concat", hidden = 16 }, "gated", "attention"]
TOML
} >study.toml
"$msa" run study.toml --jobs 2 --out warm 2>/dev/null # fills the store once; not timed
for r in 1 2 3; do
  for mode in 1 0; do
    start=$(date +%s.%N)
    MSA_FORK_SERVER=$mode "$msa" run study.toml --jobs 2 --out "run-$mode-$r" 2>/dev/null
    python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)" >"wall-$mode-$r"
  done
done
python3 - <<'PY' | tee summary.txt
import glob, json, statistics
def trials(run):
    r = json.load(open(f"{run}/results.json"))
    return [t for p in r["phases"] for c in p["configs"] for t in c["trials"]]
rows = {}
for mode in ("1", "0"):
    walls = [float(open(f"wall-{mode}-{r}").read()) for r in (1, 2, 3)]
    trial = [statistics.median(t["seconds"] for t in trials(f"run-{mode}-{r}")) for r in (1, 2, 3)]
    rows[mode] = (statistics.median(walls), statistics.median(trial), len(trials(f"run-{mode}-1")))
# The same trials either way: every metrics.json's valid and test scores.
for f in glob.glob("run-1-1/*/*/metrics.json"):
    a, b = (json.load(open(x)) for x in (f, f.replace("run-1-1", "run-0-1")))
    assert a["valid"] == b["valid"] and a["test"] == b["test"], f
(fw, ft, n), (sw, st, _) = rows["1"], rows["0"]
print(f"workers: {n} trials, 2 at a time; forked by the fork server: study {fw:.2f} s, trial {ft:.3f} s; "
      f"started afresh: study {sw:.2f} s, trial {st:.3f} s (medians of 3 rounds); "
      f"ratio {sw / fw:.2f}x (study), {st / ft:.2f}x (trial); same metrics")
PY
