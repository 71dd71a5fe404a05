#!/usr/bin/env bash
# What the process-tree check costs a dump (issue 19, item 1): before writing
# anything, the library scans /proc for the process's children and the other
# processes of its job (ckpt/src/lib/process_tree.cpp). This measures the time
# a small job is stopped by an in-process dump (the manifest's stopped_ns,
# median of REPEAT dumps) on the machine as it is, and again with EXTRA more
# idle processes on the machine (sleep, each in its own session: only their
# stat is read) and with EXTRA_NEAR more in the job's own session (their
# environ is read too). Reported: the stop as a ratio to the first, and the
# scan's cost per extra process.
# Env: CKPTSIM, BUILD (bench/run-all.sh sets them); BENCH_DIR (default
# $BUILD/bench-tree-scan); BENCH_MB (default 16); BENCH_REPEAT (default 15);
# BENCH_EXTRA (default 2000); BENCH_EXTRA_NEAR (default 200).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROBE="$BUILD/ckpt_probe"
[ -x "$PROBE" ] || { echo "bench-tree-scan: $PROBE missing (build the ckpt_probe target)" >&2; exit 2; }
WORK="${BENCH_DIR:-$BUILD/bench-tree-scan}"
MB="${BENCH_MB:-16}"
REPEAT="${BENCH_REPEAT:-15}"
EXTRA="${BENCH_EXTRA:-2000}"
NEAR="${BENCH_EXTRA_NEAR:-200}"
BENCH_NAME=bench-tree-scan
. "$(dirname "$0")/lib.sh"

procs() { ls /proc | grep -c '^[0-9]'; }

# Median stopped_ns (in ms) of REPEAT dumps of a fresh job.
median_stop_ms() {
  local tag=$1 img="$WORK/img-$1" ready="$WORK/ready-$1" run job i
  "$CKPTSIM" run --no-fork --dir "$img" --keep 1000 -- "$PROBE" alloc "$MB" "$ready" > /dev/null 2> "$WORK/err-$tag" &
  run=$!; started "$run"
  wait_for "$ready"
  job=$(child_of "$run")
  for i in $(seq "$REPEAT"); do "$CKPTSIM" checkpoint "$job" --wait > /dev/null; done
  kill -TERM "$job"; wait "$run" || true
  for m in "$img"/ckpt-*/manifest.json; do
    grep -o '"stopped_ns":[0-9]*' "$m" | cut -d: -f2
  done | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] / 1e6 }'
}

base_procs=$(procs)
base=$(median_stop_ms base)
for _ in $(seq "$EXTRA"); do setsid sleep 600 < /dev/null > /dev/null 2>&1 & started $!; done
sleep 1
far_procs=$(procs)
far=$(median_stop_ms far)
for _ in $(seq "$NEAR"); do sleep 600 < /dev/null > /dev/null 2>&1 & started $!; done
sleep 1
near_procs=$(procs)
near=$(median_stop_ms near)

printf "%-44s %8s %10s %8s\n" "machine" "procs" "stop_ms" "ratio"
printf "%-44s %8d %10s %8s\n" "as it is" "$base_procs" "$base" "1.00"
printf "%-44s %8d %10s %8s\n" "+$EXTRA idle, other sessions" "$far_procs" "$far" "$(awk -v a="$far" -v b="$base" 'BEGIN{printf "%.2f", a/b}')"
printf "%-44s %8d %10s %8s\n" "+$NEAR more in the job's session" "$near_procs" "$near" "$(awk -v a="$near" -v b="$base" 'BEGIN{printf "%.2f", a/b}')"
awk -v a="$far" -v b="$base" -v n="$((far_procs - base_procs))" \
  'BEGIN { printf "scan: %.2f us per process elsewhere on the machine\n", (a - b) * 1000 / (n > 0 ? n : 1) }'
awk -v a="$near" -v b="$far" -v n="$((near_procs - far_procs))" \
  'BEGIN { printf "scan: %.2f us per process in the job'"'"'s session\n", (a - b) * 1000 / (n > 0 ? n : 1) }'
