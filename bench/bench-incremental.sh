#!/usr/bin/env bash
# Incremental images (run --incremental) and forked dumps on ckpt-matmul, all
# in one run, as ratios:
#   1. memory bytes written by each dump of a chain (one full, then 8
#      incremental, a checkpoint every BENCH_GAP s) as a fraction of the full
#      image's; target (issue 12) <= 0.4 for the second and later incremental dumps;
#   1b. bytes on disk (allocated, st_blocks; a hard link counted in the first
#      image that has it) of each image as a fraction of the first image's; target
#      (issue 23) <= 0.1 for the second and later; and the file copies' part of it
#      against the bytes a whole copy of those files would take;
#   1c. a job appending to a log (4 MiB) and rewriting 100 kB of a data file
#      (8 MiB) in place between 6 checkpoints (tests/restart/progs/prog_filelog):
#      the bytes its later images allocate for the two files against their size;
#   2. restore latency (restart --timing: verify to resume, warm cache) from the
#      chain of 8 against a full image of the same memory (`image flatten`);
#   3. the job's total time with a checkpoint every 5 s, in-process and forked (best of BENCH_REPEAT),
#      against the same job under `ckptsim run` without checkpoints.
# Env: BUILD, CKPTSIM (bench/run-all.sh sets them); BENCH_N (matmul order, default
# 3600: three 104 MB matrices, ~18 s quiet: long enough for 9 dumps a second apart), BENCH_GAP (default 1), BENCH_REPEAT (default 3).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
MATMUL="$BUILD/ckpt-matmul"
N="${BENCH_N:-3600}"
GAP="${BENCH_GAP:-1}"
REPEAT="${BENCH_REPEAT:-3}"
WORK=$(mktemp -d /tmp/ckptsim-bench-incremental-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Descriptors the caller left open would be part of the image (and refused).
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null || true; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
now() { date +%s%N; }

echo "== 1. bytes written per dump (ckpt-matmul --n $N, a checkpoint every ${GAP} s)"
IMG="$WORK/img"
"$CKPTSIM" run --dir "$IMG" --incremental --keep 100 -- "$MATMUL" --n "$N" --out "$WORK/out.bin" --progress \
  > "$WORK/job.out" 2> "$WORK/progress.txt" &  # not our stdout: a restore would put that file back
RUN=$!
until grep -q "row 64/" "$WORK/progress.txt" 2>/dev/null; do sleep 0.05; done
JOB=$(pgrep -P "$RUN")
for _ in $(seq 9); do "$CKPTSIM" checkpoint "$JOB" --wait > /dev/null; sleep "$GAP"; done
kill -KILL "$JOB"; wait "$RUN" || true
python3 - "$IMG" <<'PY'
import json, sys, os
img = sys.argv[1]
full = None
print(f"{'image':10} {'chain':>5} {'written MB':>10} {'full MB':>8} {'fraction':>8}")
fractions = []
for i in range(1, 10):
    m = json.load(open(os.path.join(img, f"ckpt-{i:04d}", "manifest.json")))
    w = m["written"]
    if full is None: full = w["memory_bytes"]
    chain = m.get("parent", {}).get("chain", 0)
    f = w["memory_bytes"] / full
    if chain >= 2: fractions.append(f)
    print(f"ckpt-{i:04d}  {chain:5d} {w['memory_bytes']/1e6:10.1f} {w['full_memory_bytes']/1e6:8.1f} {f:7.3f}x")
print(f"second and later incremental dumps: mean {sum(fractions)/len(fractions):.3f}x, max {max(fractions):.3f}x of the full image "
      f"({'ok' if max(fractions) <= 0.4 else 'ABOVE'} target <= 0.4)")
PY

echo "== 1b. bytes on disk per image (allocated; a hard link counts once, in the first image holding it)"
python3 "$(dirname "$0")/image_disk_usage.py" "$IMG" 9 0.1

echo "== 1c. a log appended to and a data file rewritten in place, 6 incremental images"
FILELOG="$BUILD/tests/restart/prog_filelog"
if [ -x "$FILELOG" ]; then
  mkdir -p "$WORK/fl"
  (cd "$WORK/fl" && exec "$CKPTSIM" run --dir "$WORK/fl-img" --incremental --keep 100 -- "$FILELOG" 6 > /dev/null 2>&1) &
  FLRUN=$!
  for k in $(seq 6); do
    until [ -e "$WORK/fl/ready-$k" ]; do sleep 0.01; done
    "$CKPTSIM" checkpoint "$(pgrep -P "$FLRUN")" --wait > /dev/null
    : > "$WORK/fl/next-$k"
  done
  wait "$FLRUN"
  python3 "$(dirname "$0")/image_disk_usage.py" "$WORK/fl-img" 6 0.1 --files
  rm -rf "$WORK/fl" "$WORK/fl-img"
else
  echo "(skipped: build the test programs first: cmake --build build --target prog_filelog)"
fi

echo "== 2. restore latency, chain of 8 against a full image of the same memory (warm cache, best of $REPEAT)"
"$CKPTSIM" image flatten "$IMG/ckpt-0009" --out "$WORK/full" > /dev/null
restore_s() {  # image: verify..resume seconds, the restored job killed at once
  local err="$WORK/restart.err"
  "$CKPTSIM" restart --timing "$1" 2> "$err" &
  local r=$!
  until grep -q "restart: resume" "$err" 2>/dev/null; do
    kill -0 "$r" 2>/dev/null || { cat "$err" >&2; exit 1; }
    sleep 0.01
  done
  pkill -KILL -P "$r" || true
  wait "$r" 2> /dev/null || true  # restart dies of its job's SIGKILL, as it should
  awk '/^restart: / { s += $3 } END { printf "%.4f\n", s }' "$err"
}
cat "$IMG"/ckpt-*/core "$WORK/full/core" > /dev/null  # warm
chain=$(for _ in $(seq "$REPEAT"); do restore_s "$IMG/ckpt-0009"; done | sort -g | head -1)
full=$(for _ in $(seq "$REPEAT"); do restore_s "$WORK/full"; done | sort -g | head -1)
printf 'chain of 8: %.4f s   full: %.4f s   chain/full: %sx\n' "$chain" "$full" "$(ratio "$chain" "$full")"
rm -rf "$IMG" "$WORK/full"

echo "== 3. total time with a checkpoint every 5 s (ckpt-matmul --n $N, best of $REPEAT, the three kinds interleaved)"
job_s() {  # run options...
  local t0; t0=$(now)
  "$CKPTSIM" run --dir "$WORK/img5" "$@" -- "$MATMUL" --n "$N" --out "$WORK/out5.bin" > /dev/null 2>&1
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
  rm -rf "$WORK/img5" "$WORK/out5.bin"
}
: > "$WORK/t-base"; : > "$WORK/t-inproc"; : > "$WORK/t-forked"
for _ in $(seq "$REPEAT"); do
  job_s >> "$WORK/t-base"
  job_s --interval 5 --no-fork >> "$WORK/t-inproc"
  job_s --interval 5 --fork >> "$WORK/t-forked"
done
base=$(sort -g "$WORK/t-base" | head -1)
inproc=$(sort -g "$WORK/t-inproc" | head -1)
forked=$(sort -g "$WORK/t-forked" | head -1)
printf 'no checkpoints: %.2f s   in-process: %.2f s (%sx)   forked: %.2f s (%sx)   forked/in-process slowdown: %s\n' \
  "$base" "$inproc" "$(ratio "$inproc" "$base")" "$forked" "$(ratio "$forked" "$base")" \
  "$(awk -v f="$forked" -v i="$inproc" -v b="$base" 'BEGIN { if (i > b) printf "%.2f", (f - b) / (i - b); else print "n/a (no slowdown measurable)" }')"
echo "slowdown = (time - no-checkpoint time); the last figure is forked slowdown / in-process slowdown."
