#!/usr/bin/env bash
# A restored job's checkpoint: since a restored job's memory is mapped from its
# image's core, its writable memory is copied through a bounce buffer
# (process_vm_readv) and hashed from that copy (segment_writer.cpp). This
# measures what that costs against a fresh job of the same size, and against
# dd writing the same bytes with fsync to the same file system, in one run.
#   fresh_s     checkpoint --wait of the job as started (best of REPEAT)
#   restored_s  the same job killed, restored with `ckptsim restart`, then
#               checkpointed again (best of REPEAT dumps of the restored job)
#   dd_s        dd of the image's bytes, conv=fsync, same directory
# The job: ckpt_probe threads MB T busy (T threads computing, MB of memory).
# With BENCH_OLD_LIB=/path/libckpt.so the same is measured with that library
# too (the job runs the library it started with, also once restored).
# Env: CKPTSIM, BUILD (bench/run-all.sh sets them); BENCH_DIR (default
# $BUILD/bench-restored-dump); BENCH_MB (default 200); BENCH_THREADS (default 4);
# BENCH_REPEAT (default 3); BENCH_OLD_LIB (unset: only this build's library).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROBE="$BUILD/ckpt_probe"
[ -x "$PROBE" ] || { echo "bench-restored-dump: $PROBE missing (build the ckpt_probe target)" >&2; exit 2; }
WORK="${BENCH_DIR:-$BUILD/bench-restored-dump}"
MB="${BENCH_MB:-200}"
THREADS="${BENCH_THREADS:-4}"
REPEAT="${BENCH_REPEAT:-3}"
BENCH_NAME=bench-restored-dump
. "$(dirname "$0")/lib.sh"

# checkpoint --wait of pid; prints the seconds it took.
timed_checkpoint() {
  sync
  local t0; t0=$(now_ns)
  "$CKPTSIM" checkpoint "$1" --wait > /dev/null
  secs_since "$t0"
}

measure() {  # lib label
  local lib=$1 label=$2
  local dir="$WORK/$label" fresh="" restored="" i
  rm -rf "$dir"; mkdir -p "$dir"
  CKPTSIM_LIB="$lib" "$CKPTSIM" run --no-fork --dir "$dir/img" --keep 1 -- "$PROBE" threads "$MB" "$THREADS" busy "$dir/ready" \
    > "$dir/job.out" &
  local run=$!; started "$run"
  wait_for "$dir/ready"
  local job; job=$(child_of "$run"); started "$job"
  for i in $(seq "$REPEAT"); do fresh=$(min "$fresh" "$(timed_checkpoint "$job")"); done
  local image; image=$(readlink -f "$dir/img/latest")
  kill -9 "$job"; wait "$run" 2>/dev/null || true
  "$CKPTSIM" restart "$image" > "$dir/restored.out" 2> "$dir/restored.err" &
  local restart=$!; started "$restart"
  local back=""
  for _ in $(seq 500); do back=$(child_of "$restart" 2>/dev/null || true); [ -n "$back" ] && break; sleep 0.01; done
  [ -n "$back" ] || { echo "bench-restored-dump: the restore did not start a job ($(cat "$dir/restored.err"))" >&2; exit 1; }
  started "$back"
  sleep 0.3
  for i in $(seq "$REPEAT"); do restored=$(min "$restored" "$(timed_checkpoint "$back")"); done
  local bytes; bytes=$(du -sb "$(readlink -f "$dir/img/latest")/" | cut -f1)
  kill -9 "$back" 2>/dev/null || true
  wait "$restart" 2>/dev/null || true
  local dd_s="" t0
  for i in $(seq "$REPEAT"); do
    sync; t0=$(now_ns)
    dd if=/dev/zero of="$dir/dd.bin" bs=1M count=$((bytes / 1048576)) conv=fsync status=none
    dd_s=$(min "$dd_s" "$(secs_since "$t0")"); rm -f "$dir/dd.bin"
  done
  awk -v l="$label" -v b="$bytes" -v f="$fresh" -v r="$restored" -v d="$dd_s" 'BEGIN {
    printf "%-6s image %.0f MB  fresh %.3f s (%.2fx dd)  restored %.3f s (%.2fx dd, %.2fx fresh)  dd %.3f s\n",
           l, b / 1e6, f, f / d, r, r / d, r / f, d }'
  rm -rf "$dir"
}

echo "bench-restored-dump: ${MB} MB, ${THREADS} busy threads, best of ${REPEAT}"
measure "$BUILD/libckpt.so" "new"
[ -n "${BENCH_OLD_LIB:-}" ] && measure "$BENCH_OLD_LIB" "old"
exit 0
