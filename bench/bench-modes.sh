#!/usr/bin/env bash
# What each dump mode costs the job on this machine, same job, same run, as
# ratios to the in-process full dump (`run --no-fork`): the time the job is
# stopped per checkpoint (the image's stopped_ns: in-process, the signal to
# the image committed, fsync on; forked, the signal to the fork) and the
# memory bytes each image writes. The job (tests/restart/prog_dirty) maps MB
# MiB, fills 7/8 of it and, before each of its own checkpoints after the
# first, changes about one page in 38 of it. Modes:
#   in-process full          run --no-fork
#   forked full              run (the default; --fork)
#   in-process incremental   run --no-fork --incremental (kernel dirty tracking)
#   forked incremental       run --incremental
# Figures: the mean over a run's images (incremental: its incremental ones,
# 2..DUMPS), best of BENCH_REPEAT runs, the modes interleaved.
# Env: BUILD, CKPTSIM (bench/run-all.sh sets them); BENCH_SIZES (MiB, default
# "200 1024"), BENCH_REPEAT (default 2), BENCH_DUMPS (checkpoints per run, default 5).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROG="$BUILD/tests/restart/prog_dirty"
[ -x "$PROG" ] || PROG="$BUILD/prog_dirty"
[ -x "$PROG" ] || { echo "bench-modes: prog_dirty missing (build the prog_dirty target)" >&2; exit 2; }
SIZES="${BENCH_SIZES:-200 1024}"
REPEAT="${BENCH_REPEAT:-2}"
DUMPS="${BENCH_DUMPS:-5}"
WORK=$(mktemp -d /tmp/ckptsim-bench-modes-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null || true; done

MODES="inproc-full forked-full inproc-inc forked-inc"
# One run of the job in a mode; prints the mean stop (s) and MB written per image.
stops() {  # mib mode
  local mib=$1 mode=$2 out="$WORK/out" img="$WORK/img" first=1
  rm -rf "$out" "$img"; mkdir -p "$out"
  local opts=(--keep 100)
  case "$mode" in
    inproc-full) opts+=(--no-fork) ;;
    forked-full) ;;
    inproc-inc) opts+=(--no-fork --incremental --dirty kernel); first=2 ;;
    forked-inc) opts+=(--incremental --dirty kernel); first=2 ;;
  esac
  "$CKPTSIM" run --dir "$img" "${opts[@]}" -- "$PROG" "$out" "$mib" "$DUMPS" > /dev/null 2> "$WORK/err"
  case "$mode" in forked-*)
    grep -q "dumps are forked" "$WORK/err" || { echo "bench-modes: $mode did not fork: $(head -3 "$WORK/err")" >&2; exit 1; } ;;
  esac
  python3 - "$img" "$DUMPS" "$first" <<'PY'
import json, os, sys
img, dumps, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = w = 0.0
for i in range(first, dumps + 1):
    m = json.load(open(os.path.join(img, f"ckpt-{i:04d}", "manifest.json")))
    s += m["stopped_ns"] / 1e9
    w += m["written"]["memory_bytes"] / 1e6
n = dumps + 1 - first
print(f"{s / n:.4f} {w / n:.1f}")
PY
}

best() { sort -g | head -1; }
printf '%-7s %-24s %10s %10s %12s %10s\n' job mode stopped_s ratio MB_written ratio
for mib in $SIZES; do
  for mode in $MODES; do : > "$WORK/$mode"; done
  for _ in $(seq "$REPEAT"); do  # interleaved, so a slow moment hits every mode
    for mode in $MODES; do stops "$mib" "$mode" >> "$WORK/$mode"; done
  done
  base_s=$(best < "$WORK/inproc-full" | cut -d' ' -f1)
  base_mb=$(best < "$WORK/inproc-full" | cut -d' ' -f2)
  for mode in $MODES; do
    s=$(best < "$WORK/$mode" | cut -d' ' -f1); mb=$(sort -g -k2 "$WORK/$mode" | head -1 | cut -d' ' -f2)
    awk -v m="$mib" -v mode="$mode" -v s="$s" -v b="$base_s" -v mb="$mb" -v bmb="$base_mb" 'BEGIN {
      printf "%-7s %-24s %10.4f %9.3fx %12.1f %9.3fx\n", m "MB", mode, s, s / b, mb, mb / bmb }'
  done
done
echo "stopped_s: the image's stopped_ns, mean over a run's images (incremental: 2..$DUMPS), best of $REPEAT;"
echo "ratios against the in-process full dump of the same size in this run."
