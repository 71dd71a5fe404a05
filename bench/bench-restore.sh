#!/usr/bin/env bash
# Restore latency and end-to-end restore cost for 50 MB, 200 MB and 1 GB images,
# each against `cat core > /dev/null` of the same bytes measured in the same run,
# in two cache states (BENCH_CACHE, default "warm image-cold"):
#   warm       the image in the page cache, as right after a checkpoint
#   image-cold the image's files evicted (dd iflag=nocache), the rest of the
#              system warm: the image is read from the disk, as on a node that
#              received it a while ago
#   all-cold   every cache dropped (also ckptsim, libc, the job's libraries)
#   latency  = restart command start -> the program executing again (it writes
#              the CLOCK_REALTIME at which it resumed)
#   e2e cost = restored run's time to exit - the uninterrupted run's time from
#              the same point (so lazily faulted pages are counted)
# Needs $CKPTSIM and $BUILD (bench/run-all.sh sets them). Sizes: $BENCH_SIZES_MB.
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:?}"
PROG="$BUILD/tests/restart/prog_touch"
[ -x "$PROG" ] || { echo "bench-restore: $PROG missing (build target prog_touch)" >&2; exit 2; }
SIZES="${BENCH_SIZES_MB:-50 200 1024}"
WORK=$(mktemp -d /tmp/ckptsim-bench-restore-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Descriptors the caller left open would be part of the image (and refused).
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null || true; done

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
CACHES="${BENCH_CACHE:-warm image-cold}"
[ "${BENCH_COLD:-0}" = 1 ] && CACHES=all-cold  # the old switch
cache=warm
drop() {
  case "$cache" in
    warm) ;;
    image-cold) sync; find "$1" -type f -exec dd if={} iflag=nocache count=0 status=none \; ;;
    all-cold) sync; echo 3 > /proc/sys/vm/drop_caches ;;
  esac
}

printf "%-7s %-10s %-7s %-8s %-10s %-9s %-10s %-9s\n" size cache verify cat_s latency_s lat/cat e2e_s e2e/cat
for mb in $SIZES; do
  d="$WORK/$mb"; mkdir -p "$d/run"
  # The uninterrupted run's time from the gate to its exit.
  touch "$d/go-ref"
  ref=$("$PROG" "$mb" "$d/m-ref" "$d/go-ref" "$d/r-ref" | sed -n 's/.*after \([0-9.]*\) s/\1/p')
  # Checkpoint at the gate, kill.
  ( cd "$d/run" && exec "$CKPTSIM" run --dir "$d/img" -- "$PROG" "$mb" "$d/marker" "$d/go" "$d/resumed" >"$d/run/out" 2>"$d/run/err" ) &
  runner=$!
  for _ in $(seq 6000); do [ -e "$d/marker" ] && break; sleep 0.01; done
  job=$(cat /proc/$runner/task/$runner/children | awk '{print $1}')
  "$CKPTSIM" checkpoint "$job" --wait >/dev/null
  kill -9 "$job"; wait "$runner" 2>/dev/null || true
  core="$d/img/latest/core"
  image=$(cd "$d/img/latest" && pwd -P)
  touch "$d/go"
  for cache in $CACHES; do
    cat "$core" > /dev/null
    drop "$image"; t0=$(now); cat "$core" > /dev/null; t1=$(now); cat_s=$(secs "$t0" "$t1")
    for verify in full quick; do
      rm -f "$d/resumed"
      drop "$image"
      t0=$(now)
      "$CKPTSIM" restart "$d/img/latest" --verify "$verify" >/dev/null
      t1=$(now)
      lat=$(secs "$t0" "$(cat "$d/resumed")")
      e2e=$(awk -v t="$(secs "$t0" "$t1")" -v r="$ref" 'BEGIN { printf "%.4f", t - r }')
      printf "%-7s %-10s %-7s %-8s %-10s %-9s %-10s %-9s\n" "${mb}MB" "$cache" "$verify" "$cat_s" "$lat" \
        "$(ratio "$lat" "$cat_s")" "$e2e" "$(ratio "$e2e" "$cat_s")"
    done
  done
  rm -rf "$d"
done
