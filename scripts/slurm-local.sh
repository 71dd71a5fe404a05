#!/usr/bin/env bash
# A real one-host Slurm for ckptsim's tests and demo: munged, slurmctld and
# slurmd, as root, configured in a private directory (nothing under /etc).
#
#   scripts/slurm-local.sh start    # writes DIR/slurm.conf, starts the daemons, waits for the node to be idle
#   scripts/slurm-local.sh status   # the daemons' pids and sinfo
#   scripts/slurm-local.sh stop     # stops exactly the daemons it started (pid files in DIR)
#   scripts/slurm-local.sh env      # prints `export SLURM_CONF=DIR/slurm.conf` (for sbatch, squeue...)
#
# DIR is $CKPTSIM_SLURM_DIR, default /tmp/ckptsim-slurm (created 0700).
# Ports: $CKPTSIM_SLURM_PORT (slurmctld, default 6817) and the next one (slurmd).
# Not root: start prints one line and exits 77 (ctest's skip code), starting nothing.
set -euo pipefail

DIR=${CKPTSIM_SLURM_DIR:-/tmp/ckptsim-slurm}
PORT=${CKPTSIM_SLURM_PORT:-6817}
CONF=$DIR/slurm.conf
DAEMONS=(slurmd slurmctld munged)  # the order stop uses

die() { echo "slurm-local: $*" >&2; exit 1; }
pid_of() { [ -s "$DIR/$1.pid" ] && cat "$DIR/$1.pid"; }
# Alive and still the program we started (a recycled pid is not ours).
running() {
  local pid
  pid=$(pid_of "$1") || return 1
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
  chmod 0700 "$DIR" "$DIR/munge"
  cat > "$CONF" <<EOF
# Written by scripts/slurm-local.sh: one host, daemons as root.
ClusterName=ckptsim
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=10
# Requeued jobs wait cred_expire before they may run; then look every 5 s, not 60.
SchedulerParameters=sched_interval=5,bf_interval=5
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmdTimeout=30
InactiveLimit=0
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 0600 "$CONF"
}

node_state() { SLURM_CONF=$CONF sinfo -h -n "$(hostname -s)" -o %T 2>/dev/null | head -1; }

start() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "slurm-local: skipped: must run as root (slurmd runs jobs as their users)" >&2
    exit 77
  fi
  for b in munged mungekey slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || die "$b not found; run scripts/install-deps.sh"
  done
  export PATH=$PATH:/usr/sbin
  # Idempotent: our own daemons already up with the node usable is a start
  # (ctest --repeat runs this fixture again before each repetition); a partial
  # or stuck set of ours is stopped and started afresh.
  if running munged && running slurmctld && running slurmd; then
    case $(node_state) in
      idle|mixed|allocated|completing)
        echo "slurm-local: already running (slurmctld pid $(pid_of slurmctld)); export SLURM_CONF=$CONF"
        return 0 ;;
    esac
  fi
  for d in "${DAEMONS[@]}"; do
    if running "$d"; then
      echo "slurm-local: restarting: $d (pid $(pid_of "$d")) is up but the cluster is not usable" >&2
      stop >/dev/null
      break
    fi
  done
  mkdir -p "$DIR"
  chmod 0700 "$DIR"
  write_conf
  [ -s "$DIR/munge/munge.key" ] || mungekey -c -k "$DIR/munge/munge.key" >/dev/null
  chmod 0600 "$DIR/munge/munge.key"
  munged --force --key-file "$DIR/munge/munge.key" --socket "$DIR/munge/munge.socket" \
    --pid-file "$DIR/munged.pid" --log-file "$DIR/munged.log" --seed-file "$DIR/munge/munged.seed"
  # -c: start with no saved jobs (each start is a fresh cluster).
  SLURM_CONF=$CONF slurmctld -c -f "$CONF"
  SLURM_CONF=$CONF slurmd -f "$CONF"
  local state
  for _ in $(seq 1 150); do
    state=$(node_state)
    case $state in
      idle) echo "slurm-local: node $(hostname -s) idle; export SLURM_CONF=$CONF"; return 0 ;;
      down*|drain*) SLURM_CONF=$CONF scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.2
  done
  echo "slurm-local: node not idle after 30 s (state '${state:-none}'); logs in $DIR" >&2
  stop
  exit 1
}

stop() {
  local d pid jobs
  # Jobs still queued or running would outlive the daemons (their slurmstepd).
  if running slurmctld; then
    jobs=$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      SLURM_CONF=$CONF scancel $jobs 2>/dev/null || true
      for _ in $(seq 1 50); do [ -z "$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
    fi
  fi
  for d in "${DAEMONS[@]}"; do
    running "$d" || { rm -f "$DIR/$d.pid"; continue; }
    pid=$(pid_of "$d")
    kill -TERM "$pid"
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid"
    rm -f "$DIR/$d.pid"
    echo "slurm-local: stopped $d ($pid)"
  done
}

status() {
  local d rc=0
  for d in munged slurmctld slurmd; do
    if running "$d"; then echo "$d: running, pid $(pid_of "$d")"; else echo "$d: not running"; rc=1; fi
  done
  [ $rc -eq 0 ] && SLURM_CONF=$CONF sinfo
  return $rc
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
