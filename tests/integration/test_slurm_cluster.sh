# The test Slurm cluster the slurm executor's tests run on (slurm_cluster.sh): it starts
# with its node idle, runs a job array with a concurrency limit, records each task's
# final state and exit code (jobcomp/filetxt, no slurmdbd), cancels a running task, and
# is stopped and removed at the end. Skipped with the reason where Slurm cannot start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/slurm_cluster.sh"
slurm_start
cd "$WORK"

expect_exit 0 sinfo -h -o "%P %a %t %c"
expect_contains "$OUT" "debug* up idle $(nproc)"

# Three tasks, two at a time: task i sleeps a little and exits with code i.
cat >array.sh <<'SH'
#!/bin/bash
#SBATCH --output=task-%a.out
echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID in $PWD"
sleep 1
exit "$SLURM_ARRAY_TASK_ID"
SH
expect_exit 0 sbatch --parsable --array=0-2%2 --cpus-per-task=1 --chdir="$WORK" array.sh
job=$OUT
[[ $job =~ ^[0-9]+$ ]] || fail "sbatch --parsable printed '$job', not a job id"
for _ in $(seq 100); do
  [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break
  sleep 0.2
done
[[ -z $(squeue -h -j "$job") ]] || fail "the array did not finish in 20 s: $(squeue)"
for _ in $(seq 50); do [[ -n $(slurm_job_state "$job" 2) ]] && break; sleep 0.2; done
[[ $(slurm_job_state "$job" 0) == COMPLETED ]] || fail "task 0: $(cat "$SLURM_JOBCOMP")"
[[ $(slurm_job_state "$job" 1) == FAILED ]] || fail "task 1: $(cat "$SLURM_JOBCOMP")"
expect_contains "$(grep "ArrayJobId=$job ArrayTaskId=2 " "$SLURM_JOBCOMP")" "ExitCode=2:0"
expect_contains "$(cat task-1.out)" "task 1 of job $job in $WORK"

# A running task cancelled: its final state says so.
expect_exit 0 sbatch --parsable --array=0 --wrap "sleep 60"
long=$OUT
for _ in $(seq 100); do [[ $(squeue -h -j "$long" -o %t) == R ]] && break; sleep 0.2; done
expect_exit 0 scancel "$long"
for _ in $(seq 100); do [[ -n $(slurm_job_state "$long" 0) ]] && break; sleep 0.2; done
[[ $(slurm_job_state "$long" 0) == CANCELLED ]] || fail "the cancelled task: $(cat "$SLURM_JOBCOMP")"

# Stopped and removed.
cluster=$SLURM_DIR
daemons=$(slurm_pids)
slurm_stop
[[ ! -e $cluster ]] || fail "the cluster folder $cluster is still there"
for pid in $daemons; do
  ! slurm_alive "$pid" || fail "daemon $pid still runs after slurm_stop"
done
passed=$((passed + 1))
done_ok
