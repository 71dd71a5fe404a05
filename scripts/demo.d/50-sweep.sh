#!/usr/bin/env bash
# The paper's "ideal process size" question, with the checkpoint interval as a
# second knob: every order of the paper profile x 15 checkpoint intervals around
# each order's formula optimum (plus Young's and Daly's), at the paper's failure
# rate, case IV. 10 replications per point instead of the default 30 so the
# step takes about a minute on 2 cores; the full run is the same command
# without --replications.
set -euo pipefail
echo "ckptsim sweep --failure-rate 0.46 --replications 10 --plot $DEMO_OUT/sweep.png"
"$CKPTSIM" sweep --failure-rate 0.46 --replications 10 --shard 1/1 -o "$DEMO_OUT/sweep-shard.json"
# A one-shard file is the whole sweep: print it and draw it without re-running.
"$CKPTSIM" sweep --merge "$DEMO_OUT/sweep-shard.json" --plot "$DEMO_OUT/sweep.png"
"$CKPTSIM" sweep --merge "$DEMO_OUT/sweep-shard.json" --format csv >"$DEMO_OUT/sweep.csv"
echo "figure: $DEMO_OUT/sweep.png; every point as CSV: $DEMO_OUT/sweep.csv"
