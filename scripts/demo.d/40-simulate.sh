#!/usr/bin/env bash
# The paper's Table I, all six cases, simulated from the paper profile at the
# paper's failure rate (46 %), and its two figures.
set -euo pipefail
echo "ckptsim simulate --failure-rate 0.46 --plot $DEMO_OUT/simulate.png"
"$CKPTSIM" simulate --failure-rate 0.46 --plot "$DEMO_OUT/simulate.png"
"$CKPTSIM" simulate --failure-rate 0.46 --format csv >"$DEMO_OUT/simulate.csv"
echo "table as CSV: $DEMO_OUT/simulate.csv"
