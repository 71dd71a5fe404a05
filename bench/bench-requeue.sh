#!/usr/bin/env bash
# Time lost per requeue on a real (one-host) Slurm: ckpt-matmul under
# `ckptsim run --resume --interval S` in a --requeue batch job, its node set
# down at ~60 % of the run. Against the same job's uninterrupted run in the
# same session: lost_s = (wall time with the failure) - (wall time without),
# and that as a fraction of the job's length. Needs root (scripts/slurm-local.sh).
# Env: BUILD (bench/run-all.sh sets it); BENCH_ORDER (default 3000); BENCH_INTERVAL (default 2 s).
set -euo pipefail
: "${BUILD:?}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
CKPTSIM="$BUILD/ckptsim"; MATMUL="$BUILD/ckpt-matmul"
ORDER="${BENCH_ORDER:-3000}"; INTERVAL="${BENCH_INTERVAL:-2}"
[ "$(id -u)" = 0 ] || { echo "bench-requeue: skipped: the local Slurm needs root"; exit 0; }
WORK=$(mktemp -d /tmp/ckptsim-bench-requeue-XXXXXX)
export CKPTSIM_SLURM_DIR="$WORK/slurm"
trap '"$HERE/scripts/slurm-local.sh" stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
"$HERE/scripts/slurm-local.sh" start >/dev/null
eval "$("$HERE/scripts/slurm-local.sh" env)"
host=$(hostname -s)

# One batch job in $1; prints its wall time (first start to completion), s.
job() {  # dir fail(0/1)
  local d=$1 fail=$2; mkdir -p "$d"
  cat > "$d/job.sh" <<JOB
#!/bin/bash
exec "$CKPTSIM" run --dir "$d/img" --resume --interval $INTERVAL -- "$MATMUL" --n $ORDER --out "$d/out.bin" --progress 2>> "$d/run.log"
JOB
  chmod +x "$d/job.sh"
  local t0 id; t0=$(date +%s.%N)
  id=$(sbatch --parsable --requeue -o "$d/slurm.out" "$d/job.sh")
  if [ "$fail" = 1 ]; then
    local row=$(( ORDER * 6 / 10 / 64 * 64 ))
    until grep -q "row $row/" "$d/run.log" 2>/dev/null; do sleep 0.05; done
    scontrol update nodename="$host" state=down reason=bench-requeue
    sleep 1
    sinfo -h -n "$host" -o %T | grep -q '^down' && scontrol update nodename="$host" state=resume || true
  fi
  until [ "$(scontrol -o show job "$id" 2>/dev/null | grep -o 'JobState=[A-Z]*')" = JobState=COMPLETED ]; do sleep 0.2; done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
}

"$MATMUL" --n "$ORDER" --out "$WORK/ref.bin"
plain=$(job "$WORK/plain" 0)
failed=$(job "$WORK/failed" 1)
cmp -s "$WORK/ref.bin" "$WORK/failed/out.bin" || { echo "bench-requeue: the requeued job's output differs" >&2; exit 1; }
lost=$(awk -v a="$failed" -v b="$plain" 'BEGIN { printf "%.2f", a - b }')
printf 'order %s, --interval %s s: job %s s uninterrupted, %s s with a node failure at ~60 %%: %s s lost (%.2fx of the job)\n' \
  "$ORDER" "$INTERVAL" "$plain" "$failed" "$lost" "$(awk -v l="$lost" -v p="$plain" 'BEGIN { print l / p }')"
echo "lost = Slurm's requeue (node down, job back to pending, held ~10 s by the local config, scheduled)"
echo "       + the restore + the work since the last periodic image (<= --interval)."
