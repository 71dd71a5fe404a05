#!/usr/bin/env bash
# `make bench`: every benchmark in bench/ (not part of `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=$(cd "${1:-build}" && pwd)
export CKPTSIM="$BUILD/ckptsim"
for b in bench/bench-*.sh; do
  [ -e "$b" ] || continue
  echo "=== $(basename "$b" .sh)"
  bash "$b"
done
