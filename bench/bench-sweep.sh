#!/usr/bin/env bash
# Sweep throughput: points per second for the issue's grid (17 orders x 20
# intervals, 30 replications, paper profile, --failure-rate 0.46, case IV) with
# 1 and then 2 workers, and the scaling between them, measured in this run.
# Each order also runs its failure-free baseline and Young's and Daly's
# intervals: 17 x 23 = 391 simulated points in all. CPU seconds per point
# (user + system of every worker) are printed too: on a machine shared with
# other work the wall-clock scaling says more about the neighbours than about
# the sweep, the CPU cost does not.
set -euo pipefail
: "${CKPTSIM:?set CKPTSIM to the ckptsim binary}"

points=$((17 * (20 + 3)))
grid="100:2000:100"   # 20 intervals

run() {  # workers -> "wall cpu" seconds
  local TIMEFORMAT='%R %U %S'
  { time "$CKPTSIM" sweep --failure-rate 0.46 --interval "$grid" --replications 30 --workers "$1" -q \
      --format csv >/dev/null 2>&1; } 2>&1 | awk '{ printf "%.2f %.2f", $1, $2 + $3 }'
}

load0=$(cut -d' ' -f1 /proc/loadavg)
read -r w1 c1 <<<"$(run 1)"
read -r w2 c2 <<<"$(run 2)"
echo "sweep 17 orders x 20 intervals x 30 replications ($points points; cores: $(nproc); load average before: $load0, after: $(cut -d' ' -f1 /proc/loadavg))"
awk -v n="$points" -v t="$w1" -v c="$c1" 'BEGIN { printf "  1 worker : %7.2f s wall  %6.2f points/s  %.3f CPU s/point\n", t, n / t, c / n }'
awk -v n="$points" -v t="$w2" -v c="$c2" 'BEGIN { printf "  2 workers: %7.2f s wall  %6.2f points/s  %.3f CPU s/point\n", t, n / t, c / n }'
awk -v a="$w1" -v b="$w2" 'BEGIN { printf "  scaling 1 -> 2 workers: %.2fx (ideal 2.00x on an idle machine)\n", a / b }'
