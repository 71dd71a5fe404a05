#!/usr/bin/env bash
# Multi-threaded jobs (issue 9): for a 200 MB job with 1, 2 and 4 threads, the
# time the job is stopped by a checkpoint and the restore latency, as ratios to
# the single-threaded figures measured in the same run on the same file system
# (target <= 1.2x).
#   stopped_s  the longest gap any thread of the job saw between two iterations
#              of its loop (ckpt_probe threads MB T KIND READY), best of REPEAT:
#                busy  every thread computes without sleeping: T=4 is 4 runnable
#                      threads on this machine's CPUs, competing with the dump's
#                      writer task (the realistic case for a compute job)
#                idle  T-1 workers blocked in a condition wait (a sleeping
#                      OpenMP/BLAS pool); only main measures
#              base_s is the same job's largest gap over as long without any
#              checkpoint (scheduling alone; busy threads > CPUs preempt each other).
#   latency_s  `ckptsim restart` command start -> every thread running again
#              (prog_touch_threads: each thread stamps CLOCK_REALTIME when it
#              sees the gate open, the latest is taken), image in the page cache,
#              --verify full and quick, best of REPEAT. thr_s: restart --timing's
#              "threads" phase in the best quick run.
# Env: CKPTSIM, BUILD (bench/run-all.sh sets them); BENCH_DIR (default
# $BUILD/bench-threads); BENCH_THREADS (default "1 2 4"; the first is the
# reference); BENCH_MB (default 200); BENCH_REPEAT (default 3); BENCH_KINDS
# (default "busy idle"); BENCH_STACK_KB (the threads' stack size, default glibc's
# 8 MiB; pages a thread never touched are holes in the image, not copies).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROBE="$BUILD/ckpt_probe"
TOUCH="$BUILD/tests/restart/prog_touch_threads"
[ -x "$PROBE" ] || { echo "bench-threads: $PROBE missing (build the ckpt_probe target)" >&2; exit 2; }
[ -x "$TOUCH" ] || { echo "bench-threads: $TOUCH missing (build the prog_touch_threads target)" >&2; exit 2; }
WORK="${BENCH_DIR:-$BUILD/bench-threads}"
THREADS="${BENCH_THREADS:-1 2 4}"
MB="${BENCH_MB:-200}"
REPEAT="${BENCH_REPEAT:-3}"
KINDS="${BENCH_KINDS:-busy idle}"
export PROBE_STACK_KB="${BENCH_STACK_KB:-}"
TARGET=1.2
BENCH_NAME=bench-threads
. "$(dirname "$0")/lib.sh"

# One checkpoint of the probe; prints "image_bytes stopped_seconds" (or, with
# ckpt=0, "0 largest_gap_seconds" over the same wall time without a checkpoint).
stopped() {  # threads kind ckpt(0/1)
  local t=$1 kind=$2 ckpt=$3 dir="$WORK/img" ready="$WORK/ready"
  rm -rf "$dir" "$ready"
  "$CKPTSIM" run --no-fork --dir "$dir" -- "$PROBE" threads "$MB" "$t" "$kind" "$ready" > "$WORK/job.out" &
  local run=$!; started "$run"
  wait_for "$ready"
  local job; job=$(child_of "$run"); started "$job"
  sleep 0.2  # the loops are running
  sync
  if [ "$ckpt" = 1 ]; then "$CKPTSIM" checkpoint "$job" --wait > /dev/null; else sleep 0.3; fi
  sleep 0.1
  kill -TERM "$job"
  wait "$run"
  local bytes=0
  [ "$ckpt" = 1 ] && bytes=$(du -sb "$dir/latest/" | cut -f1)
  rm -rf "$dir"
  sync  # the image's blocks freed before the next measurement; the caller reads the line at once
  echo "$bytes $(awk '/^max_stall_ms/ {print $2 / 1000}' "$WORK/job.out")"
}

# An image of prog_touch_threads with T threads at its gate, in $WORK/r$T.
make_image() {  # threads
  local t=$1 d="$WORK/r$1"
  rm -rf "$d"; mkdir -p "$d/run"
  ( cd "$d/run" && exec "$CKPTSIM" run --dir "$d/img" -- "$TOUCH" "$MB" "$t" "$d/marker" "$d/go" "$d/resumed" >"$d/run/out" 2>"$d/run/err" ) &
  local run=$!; started "$run"
  wait_for "$d/marker"
  local job; job=$(child_of "$run"); started "$job"
  "$CKPTSIM" checkpoint "$job" --wait > /dev/null
  kill -9 "$job"; wait "$run" 2>/dev/null || true
  touch "$d/go"
}

# One restart; prints "latency_seconds threads_phase_seconds".
restore() {  # threads verify
  local d="$WORK/r$1"
  rm -f "$d/resumed"
  local t0; t0=$(now_ns)
  "$CKPTSIM" restart "$d/img/latest" --verify "$2" --timing > /dev/null 2> "$d/timing"
  awk -v t0="$t0" 'NR == 1 { printf "%.4f ", ($1 - t0) / 1e9 }' "$d/resumed"
  awk '$2 == "threads" { print $3 }' "$d/timing"
}

# Warm-up: this VM's memory comes from the host on first touch (see bench-dump.sh).
dd if=/dev/zero of="$WORK/warm" bs=1M count=$(( MB * 3 )) status=none
rm -f "$WORK/warm"
stopped 1 busy 1 > /dev/null

declare -A stop base img lat thr
for t in $THREADS; do make_image "$t"; restore "$t" quick > /dev/null; done
for _ in $(seq "$REPEAT"); do  # T inner, so drift during the run touches every T alike
  for t in $THREADS; do
    for kind in $KINDS; do
      read -r bytes s < <(stopped "$t" "$kind" 1)
      stop[$kind,$t]=$(min "${stop[$kind,$t]:-}" "$s"); img[$t]=$bytes
      read -r _ s < <(stopped "$t" "$kind" 0)
      base[$kind,$t]=$(min "${base[$kind,$t]:-}" "$s")
    done
    for v in full quick; do
      read -r l p < <(restore "$t" "$v")
      if [ -z "${lat[$v,$t]:-}" ] || [ "$(calc "$l < ${lat[$v,$t]}")" = 1 ]; then lat[$v,$t]=$l; thr[$v,$t]=$p; fi
    done
  done
done

ref=${THREADS%% *}
mark() { [ "$(calc "$1 <= $TARGET")" = 1 ] && echo ok || echo ABOVE; }
cell() {  # value reference; the verdict goes by the ratio as printed
  local r; r=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }')
  printf '%8.3f %5.2fx %-5s' "$1" "$r" "$(mark "$r")"
}
echo "job: ${MB} MB, best of $REPEAT; ratios against T=$ref, target <= ${TARGET}x; $(nproc) CPUs;" \
  "thread stacks ${PROBE_STACK_KB:-default} KiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in $KINDS; do
  printf '%-7s %7s %9s %9s %8s %6s %-5s\n' threads kind image_MB base_s stopped_s ratio ""
  for t in $THREADS; do
    printf '%-7s %7s %9.1f %9.3f %s\n' "$t" "$kind" "$(calc "${img[$t]} / 1048576")" "${base[$kind,$t]}" \
      "$(cell "${stop[$kind,$t]}" "${stop[$kind,$ref]}")"
  done
done
printf '%-7s %-6s %8s %6s %-5s %7s\n' threads verify latency_s ratio "" thr_s
for t in $THREADS; do
  for v in full quick; do
    printf '%-7s %-6s %s %7.4f\n' "$t" "$v" "$(cell "${lat[$v,$t]}" "${lat[$v,$ref]}")" "${thr[$v,$t]}"
  done
done
echo "stopped_s: the longest any measuring thread of the job was held up by the checkpoint; base_s: the same"
echo "job's longest gap without a checkpoint (busy threads beyond the CPU count preempt each other)."
echo "busy: every thread runnable, competing for the CPUs with the dump's writer task; idle: workers blocked."
echo "latency_s: restart start -> every thread running again (the latest thread's stamp); thr_s: its 'threads' phase."
