#!/usr/bin/env bash
# Calibration demo: summarise the bundled profiles (no calibration needed), then
# a tiny real calibration (two orders, one repetition, ~10 s) through the
# emulated gigabit link, to show what `ckptsim calibrate` measures.
set -euo pipefail
: "${CKPTSIM:?}" "${BUILD:?}" "${DEMO_OUT:?}"
out="$DEMO_OUT/calibrate"
rm -rf "$out"; mkdir -p "$out"
for p in data/profiles/paper-p4.json data/profiles/this-machine.json; do
  [ -e "$p" ] || { echo "($p not bundled)"; continue; }
  echo "--- $p"
  "$CKPTSIM" calibrate --show "$p"
done
echo
echo "--- a smoke run of calibrate: orders 300 and 600, 1 repetition (~10 s)"
echo "    It shows what calibrate measures; two tiny orders are far too few to fit cost curves,"
echo "    so the 'fit is poor' and 'predicted within' warnings below are expected and its"
echo "    profile is not meant to be used (the bundled ones above are; see docs for a real run)."
if "$CKPTSIM" calibrate --sizes 300,600 --reps 1 --compute-sizes 100,200,300,400 --no-disk-probe \
     --out "$out/tiny.json" --plot "$out/tiny.png"; then
  echo "smoke-run profile $out/tiny.json (not for use), raw rows $out/tiny.csv, plot $out/tiny.png"
else
  echo "the tiny calibration failed (status $?); the bundled profiles above are what the simulator uses"
fi
