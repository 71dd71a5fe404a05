#!/usr/bin/env bash
# Sweep throughput: points per second for the grid (17 orders x 20
# intervals, 30 replications, paper profile, --failure-rate 0.46, case IV) with
# 1 and then 2 workers, and the scaling between them, measured in this run.
# Each order also runs its failure-free baseline and Young's and Daly's
# intervals: 17 x 23 = 391 simulated points in all.
set -euo pipefail
: "${CKPTSIM:?set CKPTSIM to the ckptsim binary}"

now() { date +%s.%N; }
points=$((17 * (20 + 3)))
grid="100:2000:100"   # 20 intervals

run() {  # workers -> wall seconds
  local t0 t1
  t0=$(now)
  "$CKPTSIM" sweep --failure-rate 0.46 --interval "$grid" --replications 30 --workers "$1" -q --format csv >/dev/null
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

t1=$(run 1)
t2=$(run 2)
echo "sweep 17 orders x 20 intervals x 30 replications ($points points, cores: $(nproc), load before: $(cut -d' ' -f1 /proc/loadavg))"
awk -v n="$points" -v t="$t1" 'BEGIN { printf "  1 worker : %7.2f s  %6.2f points/s\n", t, n / t }'
awk -v n="$points" -v t="$t2" 'BEGIN { printf "  2 workers: %7.2f s  %6.2f points/s\n", t, n / t }'
awk -v a="$t1" -v b="$t2" 'BEGIN { printf "  scaling 1 -> 2 workers: %.2fx (ideal 2.00x)\n", a / b }'
