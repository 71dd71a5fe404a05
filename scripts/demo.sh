#!/usr/bin/env bash
# `make demo`: the main job on the bundled default data. Each capability adds a
# step as scripts/demo.d/NN-name.sh; they run in order with $CKPTSIM and $BUILD set.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=$(cd "${1:-build}" && pwd)
export CKPTSIM="$BUILD/ckptsim"
export DEMO_OUT="${DEMO_OUT:-$BUILD/demo}"
mkdir -p "$DEMO_OUT"
for step in scripts/demo.d/*.sh; do
  [ -e "$step" ] || continue
  echo
  echo "=== $(basename "$step" .sh)"
  bash "$step"
done
echo
echo "demo output in $DEMO_OUT"
