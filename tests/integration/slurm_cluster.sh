# A real single-node Slurm cluster for the slurm tests (label slurm), started in a folder
# of its own and stopped, its folder removed, when the test ends, whether it passes or
# not. Sourced after lib.sh. Debian's slurm-wlm and munge (scripts/setup installs them);
# the daemons run as root, as a throwaway cluster on one machine does:
#   munged     a fresh 1024-byte key, its socket in the cluster folder
#   slurmctld  SlurmUser=root, proctrack/linuxproc, task/none, select/cons_tres with
#   slurmd     CR_Core, this machine's CPUs and half its free memory, ports of its own;
#              no slurmdbd: jobcomp/filetxt records each job's final state and exit code
# slurm_start sets SLURM_CONF (sbatch, squeue, scancel, sinfo read it) and SLURM_JOBCOMP.
# Where Slurm cannot start it reports the test skipped (exit 77) with the reason.

slurm_skip() {
  echo "skipped: $*"
  exit 77
}

# A free TCP port on this machine.
slurm_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

# Whether process PID runs (a zombie does not: in a container nothing may reap the daemons).
slurm_alive() {
  [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# The daemons' pids, from their pid files.
slurm_pids() {
  cat "$SLURM_DIR/slurmd.pid" "$SLURM_DIR/slurmctld.pid" "$SLURM_DIR/munge/munged.pid" 2>/dev/null || true
}

slurm_stop() {
  [[ -n ${SLURM_DIR:-} && -d $SLURM_DIR ]] || return 0
  scancel --full --quiet -u "$(id -un)" >/dev/null 2>&1 || true
  local pid
  for pid in $(slurm_pids); do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do slurm_alive "$pid" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$SLURM_DIR"
}

slurm_start() {
  local tool
  for tool in munged slurmctld slurmd sbatch squeue scancel sinfo; do
    command -v "$tool" >/dev/null ||
      slurm_skip "$tool is not installed (scripts/setup installs Debian's slurm-wlm and munge)"
  done
  [[ $(id -u) == 0 ]] || slurm_skip "a test Slurm cluster runs its daemons as root; this is $(id -un)"
  id munge >/dev/null 2>&1 || slurm_skip "no 'munge' user (Debian's munge package creates it)"
  # Short: the munge socket's path must fit a Unix socket address.
  SLURM_DIR=$(mktemp -d /tmp/msa-slurm.XXXXXX)
  chmod 755 "$SLURM_DIR"
  trap 'slurm_stop; rm -rf "$WORK"' EXIT
  mkdir -p "$SLURM_DIR"/{state,spool,log,munge}
  head -c 1024 /dev/urandom >"$SLURM_DIR/munge/munge.key"
  chown munge:munge "$SLURM_DIR/munge" "$SLURM_DIR/munge/munge.key"
  chmod 700 "$SLURM_DIR/munge"
  chmod 400 "$SLURM_DIR/munge/munge.key"
  munged --force --key-file="$SLURM_DIR/munge/munge.key" --socket="$SLURM_DIR/munge/socket" \
    --pid-file="$SLURM_DIR/munge/munged.pid" --log-file="$SLURM_DIR/munge/munged.log" \
    --seed-file="$SLURM_DIR/munge/munged.seed" >/dev/null 2>&1 ||
    slurm_skip "munged did not start: $(tail -3 "$SLURM_DIR/munge/munged.log" 2>/dev/null)"

  local host memory
  host=$(hostname -s)
  memory=$(($(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 / 2))
  export SLURM_CONF=$SLURM_DIR/slurm.conf SLURM_JOBCOMP=$SLURM_DIR/jobcomp.txt
  cat >"$SLURM_CONF" <<CONF
ClusterName=msatest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge/socket
CredType=cred/munge
SlurmctldPort=$(slurm_free_port)
SlurmdPort=$(slurm_free_port)
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_JOBCOMP
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld >/dev/null 2>&1 || slurm_skip "slurmctld did not start: $(tail -3 "$SLURM_DIR/log/slurmctld.log" 2>/dev/null)"
  slurmd >/dev/null 2>&1 || slurm_skip "slurmd did not start: $(tail -3 "$SLURM_DIR/log/slurmd.log" 2>/dev/null)"
  local state=""
  for _ in $(seq 150); do
    state=$(sinfo -h -o %t 2>/dev/null || true)
    [[ $state == idle ]] && return 0
    sleep 0.2
  done
  fail "the test Slurm cluster's node is '$state', not idle, after 30 s; slurmctld: $(tail -3 "$SLURM_DIR/log/slurmctld.log")"
}

# slurm_job_state JOBID TASK: the final JobState jobcomp recorded for an array task ("" before it ends).
slurm_job_state() {
  grep -s "ArrayJobId=$1 ArrayTaskId=$2 " "$SLURM_JOBCOMP" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | tail -1
}
