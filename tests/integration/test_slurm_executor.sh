# msa run --executor slurm on the test Slurm cluster (slurm_cluster.sh): a phase's
# missing features are encoded by a job of their own, then its trials go as one job
# array; the run folders, results and report are those of the local executor for the
# same seeds. A rerun after msa was killed re-attaches to the running array; a task Slurm
# requeues runs again from nothing; a task Slurm cancels or ends past its time fails
# its trial with Slurm's reason and the study goes on; Ctrl-C cancels the array. gres
# GPUs make trials train on cuda; a feature store under /tmp is refused; msa validate
# checks [executor].
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/slurm_cluster.sh"
slurm_start
cd "$WORK"
# Every node must see the store, so it may not live under /tmp.
shared=$(mktemp -d "${MSA_SLURM_SHARED:-$HOME}/.msa-slurm-test.XXXXXX")
trap 'slurm_stop; rm -rf "$WORK" "$shared"' EXIT

"$MSA" demo-data --out demo --samples 120 --size 32 >/dev/null
# study FILE EPOCHS SEEDS FUSIONS [EXECUTOR LINES...]: a one-phase study on the demo data.
study() {
  local file=$1 epochs=$2 seeds=$3 fusions=$4
  shift 4
  cat >"$file" <<TOML
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
epochs = $epochs
patience = 0
[executor]
kind = "slurm"
cpus_per_trial = 1
partition = "debug"
max_parallel = 2
time = "10"
setup = ["export MSA_SLURM_SETUP_RAN=1"]
extra = ["--comment=msa-test"]
$(printf '%s\n' "$@")

[[phase]]
name = "sweep"
seeds = $seeds
sweep.fusion = $fusions
TOML
}
# started RUN_FOLDER [FOLDER] COUNT: waits until the phase's array (or FOLDER's, under the
# phase) runs COUNT tasks; sets $job.
started() {
  local folder=$1/sweep/${2:-slurm} count=$3
  for _ in $(seq 300); do
    job=$(cat "$folder/job_id" 2>/dev/null || true)
    [[ -n $job && $(squeue -h -r -j "$job" -t R -o %K | wc -l) -ge $count ]] && return 0
    sleep 0.2
  done
  fail "no job array of $folder ran $count tasks within 60 s"
}

study fast.toml 3 "[1, 2]" '["concat", "text-only"]'
expect_exit 0 "$MSA" run fast.toml --out "$WORK/slurm-run"
expect_contains "$ERR" "(slurm executor)"
expect_contains "$ERR" "submitted the phase's encode step (1) as job array"
expect_contains "$ERR" "features text (hashed-ngram): 132 encoded by the encode job"
expect_contains "$ERR" "submitted the phase's trials (4) as job array"
expect_contains "$ERR" "[sweep 4/4]"
grep -q "msa.* 'encode' '--counts'" "$WORK/slurm-run/sweep/encode/tasks.tsv" || fail "the encode job does not run msa encode"
expect_exit 0 "$MSA" run fast.toml --executor local --jobs 2 --out "$WORK/local-run"
expect_contains "$ERR" "(local executor)"
expect_contains "$ERR" "features text (hashed-ngram): 132 from the store, 0 encoded"
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
script = open(f"{phase}/array.sh").read()
assert "#SBATCH --cpus-per-task=1" in script and "#SBATCH --time=10" in script, script
assert "#SBATCH --partition=debug" in script and "#SBATCH --comment=msa-test" in script, script
assert "export MSA_SLURM_SETUP_RAN=1" in script, script
# The encode step is not a trial: the partition's time limit, not the trial's.
assert "--time" not in open(os.path.join(sys.argv[1], "sweep", "encode", "array.sh")).read()
PY
passed=$((passed + 1))
[[ -s $WORK/slurm-run/sweep/concat-s1/worker.log ]] || fail "a Slurm task wrote no worker.log in its trial folder"

# msa killed while its array runs: a rerun re-attaches to the array, not submitting again.
study fast.toml 3000 "[1, 2]" '["concat", "text-only"]'
"$MSA" run fast.toml --out "$WORK/attach" >attach.out 2>attach.err &
runner=$!
started "$WORK/attach" slurm 1
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
expect_exit 0 "$MSA" run fast.toml --out "$WORK/attach"
expect_contains "$ERR" "re-attached to job array $job"
[[ $(cat "$WORK/attach/sweep/slurm/job_id") == "$job" ]] || fail "a second array was submitted"
# Every trial finished once (some may have ended before msa was killed: resumed, not rerun).
python3 - "$WORK/attach/results.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
trials = [t for c in results["phases"][0]["configs"] for t in c["trials"]]
assert results["status"] == "complete" and len(trials) == 4 and all(t["status"] == "ok" for t in trials), results
PY
passed=$((passed + 1))

# A task Slurm requeues (preemption, node failure) starts again from nothing, and its
# trial ends as if it had run once.
"$MSA" run fast.toml --out "$WORK/requeue" >requeue.out 2>requeue.err &
runner=$!
started "$WORK/requeue" slurm 1
scontrol requeue "${job}_0"
for _ in $(seq 100); do [[ $(squeue -h -r -j "${job}_0" -o %T) == PENDING ]] && break; sleep 0.1; done
scontrol update JobId="${job}_0" StartTime=now # else Slurm holds a requeued job for two minutes
wait "$runner" || fail "msa run failed after a requeue: $(cat requeue.err)"
[[ $(scontrol -o show job "${job}_0") == *" Restarts=1 "* ]] || fail "task 0 was not requeued"
python3 - "$WORK/requeue/sweep/concat-s1" "$WORK/attach/sweep/concat-s1" <<'PY'
import json, sys
requeued, once = (json.load(open(f"{d}/metrics.json")) for d in sys.argv[1:])
assert requeued["status"] == "ok" and requeued["valid"] == once["valid"] and requeued["test"] == once["test"], \
    (requeued, once)
PY
passed=$((passed + 1))

# A task Slurm cancels, and one past its time, fail their trials with Slurm's reason.
study slow.toml 100000 "[1, 2]" '["concat"]'
sed -i 's/^time = "10"$/time = "1"/' slow.toml
"$MSA" run slow.toml --out "$WORK/ended" >ended.out 2>ended.err &
ended=$!
started "$WORK/ended" slurm 2
ended_job=$job
scancel "${ended_job}_0"

# Ctrl-C cancels the array, keeps what finished, writes results.json as interrupted, exits 130.
study one.toml 100000 "[1]" '["concat"]'
"$MSA" run one.toml --out "$WORK/interrupted" >interrupted.out 2>interrupted.err &
runner=$!
started "$WORK/interrupted" slurm 1
kill -INT "$runner"
code=0
wait "$runner" || code=$?
[[ $code == 130 ]] || fail "msa run exited $code after Ctrl-C, expected 130: $(cat interrupted.err)"
expect_contains "$(cat interrupted.err)" "slurm: cancelled job array $job"
for _ in $(seq 50); do [[ -z $(squeue -h -r -j "$job" -o %K) ]] && break; sleep 0.2; done
[[ -z $(squeue -h -r -j "$job" -o %K) ]] || fail "job array $job still runs after Ctrl-C"
grep -q '"status": "interrupted"' "$WORK/interrupted/results.json" || fail "results.json does not say interrupted"
[[ ! -e $WORK/interrupted/sweep/concat-s1/metrics.json ]] || fail "an interrupted trial left metrics.json"

# gres GPUs: trials train on cuda unless [train] names a device. This node has no GPU, so
# sbatch refuses the array, with its reason. --encode-locally encodes here first.
study gpu.toml 3 "[1]" '["concat"]' 'gres = "gpu:1"'
sed -i "s|^path = .*|path = \"$shared/gpu-store.h5\"|" gpu.toml
expect_exit 1 "$MSA" run gpu.toml --encode-locally --out "$WORK/gpu"
expect_contains "$ERR" "features text (hashed-ngram): 0 from the store, 132 encoded"
expect_contains "$ERR" "slurm: sbatch did not take the phase's trials"
expect_contains "$ERR" "Invalid generic resource"
grep -q '^device = "cuda"' "$WORK/gpu/sweep/concat-s1/trial.toml" || fail "a gres GPU trial does not train on cuda"
grep -q "#SBATCH --gres=gpu:1" "$WORK/gpu/sweep/slurm/array.sh" || fail "array.sh asks for no GPU"

# A store under /tmp cannot be shared with other nodes.
sed -i "s|^path = .*|path = \"/tmp/store.h5\"|" fast.toml
expect_exit 1 "$MSA" run fast.toml --out "$WORK/refused"
expect_contains "$ERR" "is under /tmp/: set [store] path to shared storage"

# [executor] as msa validate checks it: no sbatch option msa sets, a partition sinfo
# knows, values in Slurm's forms.
sed -i "s|^path = .*|path = \"$shared/store.h5\"|; s/^extra = .*/extra = [\"--time=5\"]/" fast.toml
expect_exit 1 "$MSA" validate fast.toml
expect_contains "$ERR" "'executor.extra' sets --time, which msa sets itself; use executor.time instead"
sed -i 's/^extra = .*/extra = ["--comment=msa-test"]/; s/^partition = "debug"/partition = "nope"/' fast.toml
expect_exit 1 "$MSA" validate fast.toml
expect_contains "$ERR" "partition = \"nope\": sinfo on this machine knows no such partition"
sed -i 's/^partition = "nope"/partition = "debug"/; s/^time = "10"/time = "2h"/' fast.toml
expect_exit 1 "$MSA" validate fast.toml
expect_contains "$ERR" "fast.toml:$(grep -n '^time' fast.toml | cut -d: -f1)"
expect_contains "$ERR" "'executor.time' is \"2h\"; Slurm takes minutes"

# The cancelled task and the one past its time (Slurm checks limits every 30 s or so).
code=0
wait "$ended" || code=$?
[[ $code == 1 ]] || fail "msa run exited $code with two failed trials, expected 1: $(cat ended.err)"
expect_contains "$(cat "$WORK/ended/sweep/concat-s1/error.txt")" "Slurm ended array task ${ended_job}_0: CANCELLED"
expect_contains "$(cat "$WORK/ended/sweep/concat-s2/error.txt")" \
  "Slurm ended array task ${ended_job}_1: TIMEOUT (past [executor] time)"
done_ok
