#!/usr/bin/env bash
# Checkpoint demo: run ckpt-matmul under `ckptsim run`, take a checkpoint while
# it computes, list the image, and check the job's result is unaffected.
set -euo pipefail
: "${CKPTSIM:?}" "${BUILD:?}" "${DEMO_OUT:?}"
out="$DEMO_OUT/checkpoint"
rm -rf "$out"; mkdir -p "$out"
"$CKPTSIM" run --dir "$out/img" -- "$BUILD/ckpt-matmul" --n 1200 --out "$out/product.bin" &
run=$!
job=""
# Wait until the job catches SIGQUIT (the library's constructor has run).
catches_quit() { local m; m=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null) && [ $(( 0x$m & 4 )) -ne 0 ]; }
for _ in $(seq 500); do job=$(pgrep -P "$run" || true); [ -n "$job" ] && catches_quit "$job" && break; sleep 0.02; done
sleep 0.3
echo "job $job: asking for a checkpoint"
image=$("$CKPTSIM" checkpoint "$job" --wait)
echo "image: $image"
ls -l "$image" "$image/files"
head -c 600 "$image/manifest.json"; echo " ..."
readelf -n "$image/core" | grep -E '^ +(CORE|LINUX)' || true
wait "$run"
"$BUILD/ckpt-matmul" --n 1200 --out "$out/reference.bin"
cmp "$out/product.bin" "$out/reference.bin" && echo "result identical to an uninterrupted run"
