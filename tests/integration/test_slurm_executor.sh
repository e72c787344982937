# msa run --executor slurm on the test Slurm cluster (slurm_cluster.sh): each phase's trials
# go as one job array; the run folders, results and report are those of the local
# executor for the same seeds; a rerun after msa was killed re-attaches to the running
# array; a trial whose task Slurm cancels fails with Slurm's reason and the study goes on;
# a feature store under /tmp is refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/slurm_cluster.sh"
slurm_start
cd "$WORK"
# Every node must see the store, so it may not live under /tmp.
shared=$(mktemp -d "${MSA_SLURM_SHARED:-$HOME}/.msa-slurm-test.XXXXXX")
trap 'slurm_stop; rm -rf "$WORK" "$shared"' EXIT

"$MSA" demo-data --out demo --samples 120 --size 32 >/dev/null
cat >study.toml <<TOML
schema_version = 1
name = "cluster"
seed = 1
output = "runs"
[dataset]
root = "demo"
[split]
valid = 0.2
test = 0.2
test_seed = 3
[store]
path = "$shared/store.h5"
[encoders.text]
plugin = "hashed-ngram"
dim = 128
[train]
epochs = 3
[executor]
kind = "slurm"
cpus_per_trial = 1
partition = "debug"
max_parallel = 2
time = "10"
setup = ["export MSA_SLURM_SETUP_RAN=1"]
extra = ["--comment=msa-test"]

[[phase]]
name = "sweep"
seeds = [1, 2]
sweep.fusion = ["concat", "text-only"]
TOML
expect_exit 0 "$MSA" run study.toml --out "$WORK/slurm-run"
expect_contains "$ERR" "(slurm executor)"
expect_contains "$ERR" "as job array"
expect_contains "$ERR" "[sweep 4/4]"
expect_exit 0 "$MSA" run study.toml --executor local --jobs 2 --out "$WORK/local-run"
expect_contains "$ERR" "(local executor)"
python3 - "$WORK/slurm-run" "$WORK/local-run" <<'PY'
import json, os, sys
slurm, local = (json.load(open(f"{d}/results.json")) for d in sys.argv[1:])
assert slurm["status"] == local["status"] == "complete", (slurm["status"], local["status"])
for a, b in zip(slurm["phases"][0]["configs"], local["phases"][0]["configs"]):
    assert a["label"] == b["label"]
    assert [t["folder"] for t in a["trials"]] == [t["folder"] for t in b["trials"]]
    assert a["test"] == b["test"] and a["valid"] == b["valid"], (a["label"], a["test"], b["test"])
phase = os.path.join(sys.argv[1], "sweep", "slurm")
tasks = open(f"{phase}/tasks.tsv").read().splitlines()
assert len(tasks) == 4 and all(t.split("\t")[0] == str(i) for i, t in enumerate(tasks)), tasks
assert "#SBATCH --cpus-per-task=1" in open(f"{phase}/array.sh").read()
script = open(f"{phase}/array.sh").read()
assert "#SBATCH --time=10" in script and "#SBATCH --partition=debug" in script, script
assert "#SBATCH --comment=msa-test" in script and "export MSA_SLURM_SETUP_RAN=1" in script, script
PY
passed=$((passed + 1))
[[ -s $WORK/slurm-run/sweep/concat-s1/worker.log ]] || fail "a Slurm task wrote no worker.log in its trial folder"

# msa killed while its array runs: a rerun re-attaches to the array, not submitting again.
sed -i 's/^epochs = 3$/epochs = 3000\npatience = 0/' study.toml
"$MSA" run study.toml --out "$WORK/attach" >attach.out 2>attach.err &
runner=$!
for _ in $(seq 150); do
  job=$(cat "$WORK/attach/sweep/slurm/job_id" 2>/dev/null || true)
  [[ -n $job && $(squeue -h -r -j "$job" -t R -o %K | head -1) != "" ]] && break
  sleep 0.2
done
[[ -n $job ]] || fail "no job array was submitted: $(cat attach.err)"
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
expect_exit 0 "$MSA" run study.toml --out "$WORK/attach"
expect_contains "$ERR" "re-attached to job array $job"
[[ $(cat "$WORK/attach/sweep/slurm/job_id") == "$job" ]] || fail "a second array was submitted"
expect_contains "$ERR" "[sweep 4/4]"

# A task Slurm cancels fails its trial with the reason; the others finish.
"$MSA" run study.toml --out "$WORK/cancelled" >run.out 2>run.err &
runner=$!
for _ in $(seq 150); do
  job=$(cat "$WORK/cancelled/sweep/slurm/job_id" 2>/dev/null || true)
  [[ -n $job && $(squeue -h -r -j "$job" -t R -o %K | head -1) != "" ]] && break
  sleep 0.2
done
[[ -n $job ]] || fail "no job array was submitted: $(cat run.err)"
scancel "${job}_0"
sleep 2
scancel "$job"
wait "$runner" || true
error=$(cat "$WORK/cancelled/sweep/concat-s1/error.txt")
expect_contains "$error" "Slurm ended array task ${job}_0: CANCELLED"

# A store under /tmp cannot be shared with other nodes.
sed -i "s|^path = .*|path = \"/tmp/store.h5\"|" study.toml
expect_exit 1 "$MSA" run study.toml --out "$WORK/refused"
expect_contains "$ERR" "is under /tmp/: set [store] path to shared storage"

# [executor] as msa validate checks it: no sbatch option msa sets, a partition sinfo knows.
sed -i 's/^extra = .*/extra = ["--time=5"]/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "'executor.extra' sets --time, which msa sets itself; use executor.time instead"
sed -i 's/^extra = .*/extra = ["--comment=msa-test"]/; s/^partition = "debug"/partition = "nope"/' study.toml
expect_exit 1 "$MSA" validate study.toml
expect_contains "$ERR" "partition = \"nope\": sinfo on this machine knows no such partition"
done_ok
