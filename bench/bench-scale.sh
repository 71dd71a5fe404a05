#!/usr/bin/env bash
# The simulator at cluster scale (issue 21): case IV with node failures
# (--mtbf 20000, order 2100) at 1k, 2k, 4k, 10k, 30k nodes x 100 jobs and 100k
# nodes x 10 jobs, one worker. For each: wall time, the story events the run
# simulated and their rate, peak memory per node, the CPU time (simulate's own
# cost line, --log ckptsim.thres:warning), and the time per node-job as a
# ratio to the first row's (1.00 = linear in nodes), by wall time and by CPU
# time (on a shared machine the wall time follows the others' load).
# The baseline: one replication of 1k x 100 takes ~0.05 s, which the cost line
# gives to two digits and which varies +-20 % run to run, so a small row runs
# R replications (--replications R, still --workers 1; R = 2,000,000 node-jobs
# / the row's: ~0.5-1 s of CPU) and its times and events are divided by R: per
# replication. The rows of 1,000,000 node-jobs or more (10k x 100, 30k x 100,
# 100k x 10) run one. Every row is run 3 times (BENCH_BEST) and the run of
# least CPU time shown. The wall time is events / (events/s), not the cost
# line's two decimals. A replication after the first skips the first's fixed
# ~10 ms and reuses the heap it faulted in, so a small row's figure is the
# marginal cost of a replication, while a one-replication row also pays for
# faulting in its fresh memory (~1 ms per MB on this VM, huge pages or not).
# The raw limit beside it: 1k x 100 in case I (compute only, no failures or
# checkpoints), at the same R.
# Env: CKPTSIM; BENCH_NODES (default "1000 2000 4000 10000 30000"), BENCH_BIG
# (default 100000; empty: skip the 100k x 10 row), BENCH_TIMEOUT (s per run,
# default 1800: a row that takes longer is reported as such), BENCH_BEST (runs
# of each row, default 3: the one of least CPU time is shown, as the others'
# load on a shared machine only ever adds to it).
set -euo pipefail
: "${CKPTSIM:?set CKPTSIM to the ckptsim binary}"
NODES="${BENCH_NODES:-1000 2000 4000 10000 30000}"
BIG="${BENCH_BIG-100000}"
LIMIT="${BENCH_TIMEOUT:-1800}"
BEST="${BENCH_BEST:-3}"

# Replications for a row of nodes x jobs: one from 1,000,000 node-jobs on,
# else enough for ~2,000,000 node-jobs.
reps() { awk -v n="$1" -v j="$2" 'BEGIN { print (n * j >= 1000000 ? 1 : int(2000000 / (n * j) + 0.5)) }'; }

# nodes jobs_per_node case -> "wall events rate peak_MB kB_per_node cpu R", per
# replication (or "timeout")
run() {
  local out r i lines=""
  r=$(reps "$1" "$2")
  for ((i = 0; i < BEST; i++)); do
    if ! out=$(timeout "$LIMIT" "$CKPTSIM" simulate --nodes "$1" --jobs-per-node "$2" --mtbf 20000 --case "$3" \
                 --sizes 2100 --replications "$r" --workers 1 --format csv --log ckptsim.thres:warning 2>&1 >/dev/null); then
      echo "timeout"
      return
    fi
    lines+="$out"$'\n'
  done
  # "[simulate] order 2100 case IV: E events in T s (R events/s), peak memory M MB (K KB per node), CPU C s";
  # of the BEST runs, the one of least CPU time
  echo "$lines" | awk -v want="case $3:" -v r="$r" '$0 ~ want { gsub(/[()]/, "");
    if (best == "" || $22 < cpu) { cpu = $22; best = sprintf("%.4f %d %s %s %s %.4f %d", $6 / $11 / r, $6 / r, $11, $15, $17, $22 / r, r) } }
    END { print best }'
}

printf "%8s %5s %10s %8s %10s %10s %9s %12s %10s %10s %5s\n" nodes jobs wall_s cpu_s events events/s peak_MB KB_per_node \
  wall_vs_1k cpu_vs_1k reps
base="" cbase=""
row() {
  local n=$1 j=$2 r wall events rate peak kb cpu reps per cper
  r=$(run "$n" "$j" IV)
  if [ "$r" = timeout ]; then printf "%8s %5s  over %s s\n" "$n" "$j" "$LIMIT"; return; fi
  read -r wall events rate peak kb cpu reps <<<"$r"
  per=$(awk -v w="$wall" -v n="$n" -v j="$j" 'BEGIN { printf "%.3g", w / (n * j) * 1e6 }')  # us per node-job
  cper=$(awk -v w="$cpu" -v n="$n" -v j="$j" 'BEGIN { printf "%.3g", w / (n * j) * 1e6 }')
  [ -z "$base" ] && base=$per && cbase=$cper
  printf "%8s %5s %10s %8s %10s %10s %9s %12s %10s %10s %5s\n" "$n" "$j" "$wall" "$cpu" "$events" "$rate" "$peak" "$kb" \
    "$(awk -v a="$per" -v b="$base" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$cper" -v b="$cbase" 'BEGIN { printf "%.2f", a / b }')" "$reps"
}
for n in $NODES; do row "$n" 100; done
[ -n "$BIG" ] && row "$BIG" 10
# Like for like: the same 10 jobs per node from 1k nodes on (a node's own
# cost, paid once, weighs 10x more per node-job at 10 jobs than at 100).
if [ -n "$BIG" ]; then
  echo "at 10 jobs per node, against 10000 x 10:"
  base="" cbase=""
  for n in 10000 30000 "$BIG"; do row "$n" 10; done
fi

raw=$(run 1000 100 I)
echo "raw limit (case I, 1000 x 100, compute only, per replication of $(echo "$raw" | awk '{ print $7 }')): $(echo "$raw" | awk '{ print $1 " s (CPU " $6 " s), " $3 " events/s" }')"
echo "machine: $(nproc) cores, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "targets (issue 21): per node-job within 1.3x from 1k to 100k; 10,000 x 100 <= 12 s; 100,000 x 10 <= 60 s; <= 40 KB per node"
