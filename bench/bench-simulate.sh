#!/usr/bin/env bash
# Simulator speed: wall time and simulated jobs per second for
#  1. the full default table (17 orders x 6 cases x 30 replications x 120 jobs),
#  2. a 1,000-node, 100,000-job campaign with node failures (--mtbf), case IV
#     (case I runs with it, for the overhead: 200,000 jobs in all).
# The raw limit is measured in the same run: case I alone at the same size
# (compute only: one exec per job, the least any job can cost), so each figure
# is also given as a ratio to it.
set -euo pipefail
: "${CKPTSIM:?set CKPTSIM to the ckptsim binary}"

now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }

run() {  # label jobs args...
  local label=$1 jobs=$2; shift 2
  local t0 t1 dt
  t0=$(now)
  "$CKPTSIM" simulate "$@" --format csv >/dev/null
  t1=$(now)
  dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  echo "$dt"
}

table_jobs=$((17 * 6 * 30 * 120))
table_raw_jobs=$((17 * 1 * 30 * 120))
t_table=$(run table "$table_jobs" --failure-rate 0.46)
t_table_raw=$(run table-raw "$table_raw_jobs" --case I)
echo "full default table: $table_jobs jobs in ${t_table} s wall ($(rate "$table_jobs" "$t_table") jobs/s; cores: $(nproc))"
echo "  raw limit (case I only, $table_raw_jobs jobs): ${t_table_raw} s ($(rate "$table_raw_jobs" "$t_table_raw") jobs/s)"
echo "  jobs/s ratio to the raw limit: $(ratio "$(rate "$table_jobs" "$t_table")" "$(rate "$table_raw_jobs" "$t_table_raw")")"
echo "  target: under 30 s -> $(awk -v t="$t_table" 'BEGIN { print (t < 30) ? "met" : "NOT met" }')"

camp_jobs=$((2 * 1000 * 100))
t_camp=$(run campaign "$camp_jobs" --nodes 1000 --jobs-per-node 100 --mtbf 20000 --sizes 4100 --replications 1 --case IV)
t_camp_raw=$(run campaign-raw 100000 --nodes 1000 --jobs-per-node 100 --sizes 4100 --replications 1 --case I --workers 1)
echo "1,000 nodes x 100 jobs, --mtbf 20000, case IV (+ case I): $camp_jobs jobs in ${t_camp} s wall ($(rate "$camp_jobs" "$t_camp") jobs/s)"
echo "  raw limit (case I only, one worker): ${t_camp_raw} s ($(rate 100000 "$t_camp_raw") jobs/s)"
echo "  jobs/s ratio to the raw limit: $(ratio "$(rate "$camp_jobs" "$t_camp")" "$(rate 100000 "$t_camp_raw")")"
