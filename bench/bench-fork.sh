#!/usr/bin/env bash
# Forked dumps (run's default, --fork) against the in-process dump (--no-fork), same job,
# same file system, same run: the time the job is stopped (measured by the job
# itself, ckpt_probe alloc's max_stall_ms) for 200 MB and 1 GB jobs, with fsync
# (the default). Target (issue 12): <= 10 ms at 200 MB, <= 0.1x the in-process
# stop at 1 GB. Best of BENCH_REPEAT (default 3) for each.
# Env: BUILD, CKPTSIM (bench/run-all.sh sets them); BENCH_SIZES (MiB, default "200 1024").
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROBE="$BUILD/ckpt_probe"
[ -x "$PROBE" ] || { echo "bench-fork: $PROBE missing (build the ckpt_probe target)" >&2; exit 2; }
SIZES="${BENCH_SIZES:-200 1024}"
REPEAT="${BENCH_REPEAT:-3}"
WORK=$(mktemp -d /tmp/ckptsim-bench-fork-XXXXXX)
trap 'pkill -f "$WORK/ready" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# One checkpoint of a MiB job; prints the longest time the job was held up (s).
stopped() {  # mib fork(0/1)
  local mib=$1 fork=$2 dir="$WORK/img" ready="$WORK/ready"
  rm -rf "$dir" "$ready"
  local mode=--no-fork; [ "$fork" = 1 ] && mode=--fork
  "$CKPTSIM" run "$mode" --dir "$dir" -- "$PROBE" alloc "$mib" "$ready" > "$WORK/job.out" &
  local run=$!
  while [ ! -e "$ready" ]; do sleep 0.05; done
  sleep 0.3  # the job's loop settles
  local job; job=$(pgrep -P "$run")
  "$CKPTSIM" checkpoint "$job" --wait > /dev/null
  sleep 0.5  # a forked writer finishes (the job runs on, measuring)
  kill -TERM "$job"; wait "$run"
  [ -e "$dir/latest/core" ] || { echo "bench-fork: no image" >&2; exit 1; }
  rm -rf "$dir"
  awk '/max_stall_ms/ {print $2 / 1000}' "$WORK/job.out"
}

best() { sort -g | head -1; }
printf '%-7s %12s %12s %10s %s\n' job in-process_s forked_s ratio target
for mib in $SIZES; do
  inproc=$(for _ in $(seq "$REPEAT"); do stopped "$mib" 0; done | best)
  forked=$(for _ in $(seq "$REPEAT"); do stopped "$mib" 1; done | best)
  ratio=$(awk -v a="$forked" -v b="$inproc" 'BEGIN { printf "%.3f", a / b }')
  if [ "$mib" -le 200 ]; then target=$(awk -v f="$forked" 'BEGIN { print (f <= 0.010) ? "ok (<= 10 ms)" : "ABOVE 10 ms" }')
  else target=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.1) ? "ok (<= 0.1x)" : "ABOVE 0.1x" }'); fi
  printf '%-7s %12.4f %12.4f %9sx %s\n' "${mib}MB" "$inproc" "$forked" "$ratio" "$target"
done
echo "stopped: the longest the job itself was held up by one checkpoint (fsync on); forked: the job is"
echo "stopped to park its threads, read its description, copy its open files and fork; the fork writes the core."
