#!/usr/bin/env bash
# Dump throughput of libckpt.so against dd writing the same bytes to the same
# file system in the same run, with and without fsync. Jobs of 50 MB, 200 MB and
# 1 GB (ckpt_probe alloc). Prints ratios (dump rate / dd rate; >= 0.9 is the
# target) and the time the job was stopped (measured by the job itself).
# Env: CKPTSIM, BUILD (set by bench/run-all.sh); BENCH_DIR (default $BUILD/bench-dump);
# BENCH_SIZES (default "50 200 1024", MiB); BENCH_REPEAT (default 3: the best
# of each is kept, dd and dump alike, so a busy machine disturbs both the same way).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROBE="$BUILD/ckpt_probe"
[ -x "$PROBE" ] || { echo "bench-dump: $PROBE missing (build the ckpt_probe target)" >&2; exit 2; }
WORK="${BENCH_DIR:-$BUILD/bench-dump}"
SIZES="${BENCH_SIZES:-50 200 1024}"
REPEAT="${BENCH_REPEAT:-3}"
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

# dd of BYTES to the image file system; prints seconds.
dd_time() {  # bytes fsync(0/1)
  local bytes=$1 conv=""
  [ "$2" = 1 ] && conv="conv=fsync"
  # An unmeasured pass first: the memory the previous job and image freed goes
  # back to the VM's host, and the first writer to need it again pays for that
  # (1 GB: 1.3 s instead of 0.15 s). dd gets its best case.
  dd if=/dev/zero of="$WORK/dd.out" bs=1M count=$(( (bytes + 1048575) / 1048576 )) status=none
  rm -f "$WORK/dd.out"
  sync
  local t0 t1
  t0=$(now)
  dd if=/dev/zero of="$WORK/dd.out" bs=1M count=$(( (bytes + 1048575) / 1048576 )) $conv status=none
  t1=$(now)
  rm -f "$WORK/dd.out"
  calc "$t1 - $t0"
}

# One checkpoint of a SIZE MiB job; prints "image_bytes wait_seconds stopped_seconds".
dump_time() {  # size_mib fsync(0/1)
  local mib=$1 fsync=$2 dir="$WORK/img" ready="$WORK/ready"
  rm -rf "$dir" "$ready"
  CKPT_FSYNC=$fsync "$CKPTSIM" run --no-fork --dir "$dir" -- "$PROBE" alloc "$mib" "$ready" > "$WORK/job.out" &
  local run=$!
  while [ ! -e "$ready" ]; do sleep 0.05; done
  local job
  job=$(pgrep -P "$run")
  sync
  local t0 t1
  t0=$(now)
  "$CKPTSIM" checkpoint "$job" --wait > /dev/null
  t1=$(now)
  kill -TERM "$job"
  wait "$run"
  local bytes stalled
  bytes=$(du -sb "$dir/latest/" | cut -f1)
  stalled=$(awk '/max_stall_ms/ {print $2 / 1000}' "$WORK/job.out")
  rm -rf "$dir"
  echo "$bytes $(calc "$t1 - $t0") $stalled"
}

# This machine is a VM whose memory the host provides on first touch: warm up
# enough of it (page cache and anonymous memory) that neither side pays for that.
largest=0
for mib in $SIZES; do [ "$mib" -gt "$largest" ] && largest=$mib; done
dd if=/dev/zero of="$WORK/warm" bs=1M count=$(( largest * 3 )) status=none
rm -f "$WORK/warm"
dump_time "$largest" 0 > /dev/null

printf '%-8s %-6s %10s %10s %10s %10s %12s %8s\n' job fsync image_MB dd_s dump_s stopped_s "dump/dd" target
for mib in $SIZES; do
  for fsync in 0 1; do
    best_dd=""; best_wait=""; best_stop=""
    for _ in $(seq "$REPEAT"); do
      read -r bytes wait_s stopped_s < <(dump_time "$mib" "$fsync")
      dd_s=$(dd_time "$bytes" "$fsync")
      best_dd=$(calc "(\"$best_dd\" == \"\" || $dd_s < 0$best_dd) ? $dd_s : 0$best_dd")
      best_wait=$(calc "(\"$best_wait\" == \"\" || $wait_s < 0$best_wait) ? $wait_s : 0$best_wait")
      best_stop=$(calc "(\"$best_stop\" == \"\" || $stopped_s < 0$best_stop) ? $stopped_s : 0$best_stop")
    done
    dd_s=$best_dd; wait_s=$best_wait; stopped_s=$best_stop
    # Rates over the same bytes: dump rate / dd rate = dd time / dump time (job stopped).
    ratio=$(calc "$dd_s / $stopped_s")
    ok=$(calc "($ratio >= 0.9) ? 1 : 0")
    printf '%-8s %-6s %10.1f %10.3f %10.3f %10.3f %11.2fx %8s\n' "${mib}MB" "$([ "$fsync" = 1 ] && echo yes || echo no)" \
      "$(calc "$bytes / 1048576")" "$dd_s" "$wait_s" "$stopped_s" "$ratio" "$([ "$ok" = 1 ] && echo ok || echo BELOW)"
  done
done
echo "dump_s: signal sent -> image complete as seen by 'ckptsim checkpoint --wait';"
echo "stopped_s: the longest the job itself was held up; ratio = dd_s / stopped_s over the same bytes."
