#!/usr/bin/env bash
# Does `run --interval auto` choose what the simulator would? (issue 12: within
# 2 % of the sweep's best turnaround.) Same run:
#  1. ckpt-matmul --n ORDER really runs under `run --interval auto --mtbf MTBF`
#     (in-process dumps, the ones the profile's dump curve measures); the
#     interval it settles on is its last decision;
#  2. `simulate` gives case IV's mean turnaround at that interval, and `sweep`
#     the best over its grid, on the calibrated profile, same failures (seed);
#  3. prints both and their ratio.
# Env: BUILD, CKPTSIM (bench/run-all.sh sets them); ORDER (default 3500), MTBF (s,
# default 60), PROFILE (default data/profiles/this-machine.json), REPS (default 200).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
ORDER="${ORDER:-3500}" MTBF="${MTBF:-60}" REPS="${REPS:-200}"
PROFILE="${PROFILE:-$(cd "$(dirname "$0")/.." && pwd)/data/profiles/this-machine.json}"
WORK=$(mktemp -d /tmp/ckptsim-bench-interval-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$CKPTSIM" run --dir "$WORK/img" --interval auto --mtbf "$MTBF" -- \
  "$BUILD/ckpt-matmul" --n "$ORDER" --out "$WORK/out" 2> "$WORK/err" > /dev/null
grep 'interval auto' "$WORK/err" >&2
tau=$(sed -n 's/.*stopped the job \([0-9.]*\) s.*next checkpoint after \([0-9.]*\) s.*/\2/p' "$WORK/err" | tail -1)
cost=$(sed -n 's/.*stopped the job \([0-9.]*\) s.*/\1/p' "$WORK/err" | tail -1)
[ -n "$tau" ] || { echo "bench-interval-auto: the job took no measured checkpoint (raise ORDER or lower MTBF)" >&2; exit 1; }

common=(--profile "$PROFILE" --sizes "$ORDER" --mtbf "$MTBF" --nodes 2 --jobs-per-node 4 --replications "$REPS" --seed 7)
at_auto=$("$CKPTSIM" simulate "${common[@]}" --case IV --interval "$tau" --format csv | awk -F, 'NR == 2 {print $3, $4}')
best=$("$CKPTSIM" sweep "${common[@]}" --case IV --format csv -q | awk -F, 'NR > 1 && (b == "" || $3 < b) {b = $3; i = $2; c = $4} END {print b, c, i}')
read -r t_auto ci_auto <<< "$at_auto"
read -r t_best ci_best i_best <<< "$best"
printf 'order %s, MTBF %s s: run --interval auto measured C = %s s and chose %s s\n' "$ORDER" "$MTBF" "$cost" "$tau"
printf 'simulated case IV at that interval: %s s +- %s; sweep best: %s s +- %s (at %s s)\n' \
  "$t_auto" "$ci_auto" "$t_best" "$ci_best" "$i_best"
awk -v a="$t_auto" -v b="$t_best" 'BEGIN { r = a / b; printf "ratio auto/best %.4f (%s)\n", r, (r <= 1.02) ? "ok, within 2 %" : "MORE than 2 % above" }'
