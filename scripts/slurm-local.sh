#!/usr/bin/env bash
# A real one-host Slurm for ckptsim's tests and demo: munged, slurmctld and
# slurmd, as root, configured in a private directory (nothing under /etc).
#
#   scripts/slurm-local.sh start    # writes DIR/slurm.conf, starts the daemons, waits for the node to be idle
#   scripts/slurm-local.sh start --nodes N   # N nodes n1..nN on this host, one slurmd each (own port,
#                                            # spool, pid and log), each pinned to a core in turn
#   scripts/slurm-local.sh start --nodes N --private-dir NODE:PATH
#                                   # NODE's slurmd (and so its jobs) in a mount namespace of
#                                   # its own with an empty tmpfs over PATH: a directory the
#                                   # other nodes share with the host but NODE does not
#   scripts/slurm-local.sh status   # the daemons' pids and sinfo
#   scripts/slurm-local.sh stop     # stops exactly the daemons it started (pid files in DIR)
#   scripts/slurm-local.sh env      # prints `export SLURM_CONF=DIR/slurm.conf` (for sbatch, squeue...)
#
# DIR is $CKPTSIM_SLURM_DIR, default /tmp/ckptsim-slurm (created 0700).
# Ports: $CKPTSIM_SLURM_PORT (slurmctld, default 6817) and the next one (slurmd),
# or the next N with --nodes N.
# Not root: start prints one line and exits 77 (ctest's skip code), starting nothing.
set -euo pipefail

DIR=${CKPTSIM_SLURM_DIR:-/tmp/ckptsim-slurm}
PORT=${CKPTSIM_SLURM_PORT:-6817}
CONF=$DIR/slurm.conf
NODES=1  # start --nodes N
PRIVATE=  # start --private-dir NODE:PATH

die() { echo "slurm-local: $*" >&2; exit 1; }
pid_of() { [ -s "$DIR/$1.pid" ] && cat "$DIR/$1.pid"; }
# Alive and still the program we started (a recycled pid is not ours): NAME
# is the pid file's (slurmd-n2), the program the part before any '-'.
running() {
  local pid
  pid=$(pid_of "$1") || return 1
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${1%%-*}" ]
}
# The slurmd pid files' names (slurmd, or slurmd-n1 ... with --nodes), then
# slurmctld and munged: the order stop uses.
daemons() {
  local f
  for f in "$DIR"/slurmd*.pid; do [ -e "$f" ] && basename "$f" .pid; done
  echo slurmctld
  echo munged
}
# The node names of the cluster this directory holds.
node_names() {
  if [ -s "$DIR/nodes" ] && [ "$(cat "$DIR/nodes")" -gt 1 ]; then seq -f 'n%g' 1 "$(cat "$DIR/nodes")"
  else hostname -s; fi
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
  chmod 0700 "$DIR" "$DIR/munge"
  local node_lines
  if [ "$NODES" -gt 1 ]; then
    # One slurmd per node, told apart by -N: each its own port, spool, pid and
    # log (%n is the node's name); a node has one CPU, the core it is pinned to.
    node_lines="SlurmdSpoolDir=$DIR/spool-%n
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmdLogFile=$DIR/slurmd-%n.log
NodeName=n[1-$NODES] NodeHostname=$host Port=$((PORT + 1))-$((PORT + NODES)) CPUs=1 RealMemory=$((mem / NODES)) State=UNKNOWN
PartitionName=debug Nodes=n[1-$NODES] Default=YES MaxTime=INFINITE State=UP"
  else
    node_lines="SlurmdSpoolDir=$DIR/spool
SlurmdPidFile=$DIR/slurmd.pid
SlurmdLogFile=$DIR/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP"
  fi
  echo "$NODES" > "$DIR/nodes"
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
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmctldLogFile=$DIR/slurmctld.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$node_lines
EOF
  chmod 0600 "$CONF"
}

# The nodes' states, one word: "idle" when every node is, else the first other.
node_state() {
  local states
  states=$(SLURM_CONF=$CONF sinfo -h -N -o %T 2>/dev/null | sort -u)
  [ -n "$states" ] || return 0
  if [ "$states" = idle ]; then echo idle; else echo "$states" | grep -v '^idle$' | head -1; fi
}
all_running() {
  local d
  for d in $(daemons); do running "$d" || return 1; done
  [ "$(daemons | grep -c '^slurmd')" -eq "$(node_names | wc -l)" ]
}

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
  if [ -s "$DIR/nodes" ] && [ "$(cat "$DIR/nodes")" = "$NODES" ] &&
     [ "$(cat "$DIR/private-dir" 2>/dev/null)" = "$PRIVATE" ] && all_running; then
    case $(node_state) in
      idle|mixed|allocated|completing)
        echo "slurm-local: already running (slurmctld pid $(pid_of slurmctld)); export SLURM_CONF=$CONF"
        return 0 ;;
    esac
  fi
  for d in $(daemons); do
    if running "$d"; then
      echo "slurm-local: restarting: $d (pid $(pid_of "$d")) is up but the cluster is not usable or not the one asked for (nodes, private directory)" >&2
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
  if [ -n "$PRIVATE" ]; then echo "$PRIVATE" > "$DIR/private-dir"; else rm -f "$DIR/private-dir"; fi
  local n core
  if [ "$NODES" -gt 1 ]; then
    for n in $(seq 1 "$NODES"); do
      core=$(( (n - 1) % $(nproc) ))
      if [ -n "$PRIVATE" ] && [ "n$n" = "${PRIVATE%%:*}" ]; then
        # Its own mount namespace (unshare without --fork: this shell, then
        # slurmd, is the namespace's first process), the tmpfs mounted in it
        # alone; slurmd still daemonizes and writes its own pid file, and its
        # job steps inherit the namespace. The namespace and the tmpfs go
        # with the last process in it: nothing to unmount at stop.
        SLURM_CONF=$CONF unshare --mount --propagation private -- sh -ec \
          'mount -t tmpfs -o mode=0700,size=16m ckptsim-private-dir "$1"; shift; exec "$@"' \
          sh "${PRIVATE#*:}" taskset -c "$core" slurmd -f "$CONF" -N "n$n" ||
          { stop >/dev/null; die "cannot start n$n with a private ${PRIVATE#*:}"; }
      else
        SLURM_CONF=$CONF taskset -c "$core" slurmd -f "$CONF" -N "n$n"
      fi
    done
  else
    SLURM_CONF=$CONF slurmd -f "$CONF"
  fi
  local state
  for _ in $(seq 1 150); do
    state=$(node_state)
    case $state in
      idle) echo "slurm-local: $(node_names | paste -sd ' ') idle; export SLURM_CONF=$CONF"; return 0 ;;
      down*|drain*)
        for n in $(node_names); do SLURM_CONF=$CONF scontrol update nodename="$n" state=resume 2>/dev/null || true; done ;;
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
  for d in $(daemons); do
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
  for d in $(daemons); do
    if running "$d"; then echo "$d: running, pid $(pid_of "$d")"; else echo "$d: not running"; rc=1; fi
  done
  [ -s "$DIR/private-dir" ] && echo "private directory (node:path): $(cat "$DIR/private-dir")"
  [ $rc -eq 0 ] && SLURM_CONF=$CONF sinfo
  return $rc
}

case ${1:-} in
  start)
    shift
    while [ $# -gt 0 ]; do
      case $1 in
        --nodes)
          [[ "${2:-}" =~ ^[1-9][0-9]?$ ]] || die "--nodes takes a count from 1 to 99, not '${2:-}'"
          NODES=$2; shift 2 ;;
        --private-dir)
          [[ "${2:-}" =~ ^n[1-9][0-9]?:/. ]] || die "--private-dir takes NODE:PATH (n2:/some/dir), not '${2:-}'"
          PRIVATE=$2; shift 2 ;;
        *) die "start takes --nodes N and --private-dir NODE:PATH, not '$1'" ;;
      esac
    done
    if [ -n "$PRIVATE" ]; then
      node=${PRIVATE%%:*} path=${PRIVATE#*:}
      [ "$NODES" -gt 1 ] || die "--private-dir $PRIVATE needs --nodes 2 or more"
      [ "${node#n}" -le "$NODES" ] || die "--private-dir $PRIVATE: no node $node among n1..n$NODES"
      [ -d "$path" ] || die "--private-dir $PRIVATE: $path is not a directory"
      command -v unshare >/dev/null || die "unshare not found; run scripts/install-deps.sh"
    fi
    start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start [--nodes N [--private-dir NODE:PATH]]|stop|status|env" >&2; exit 2 ;;
esac
