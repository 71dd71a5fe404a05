#!/usr/bin/env bash
# Restart: ckpt-matmul is checkpointed mid-run, killed with SIGKILL, brought
# back from its image by `ckptsim restart`, and its output compared with an
# uninterrupted run.
set -euo pipefail
: "${CKPTSIM:?}" "${BUILD:?}" "${DEMO_OUT:?}"
# Descriptors inherited from the caller would be part of the image.
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null || true; done
D="$DEMO_OUT/restart"
rm -rf "$D" && mkdir -p "$D/run" && chmod 700 "$D"
N=1200
"$BUILD/ckpt-matmul" --n $N --out "$D/reference.bin"

cd "$D/run"
"$CKPTSIM" run --dir "$D/img" -- "$BUILD/ckpt-matmul" --n $N --out out.bin --progress 2>progress.txt &
runner=$!
until grep -q "row 128/" progress.txt 2>/dev/null; do sleep 0.02; done
job=$(awk '{print $1}' /proc/$runner/task/$runner/children)
echo "ckpt-matmul (pid $job) is at $(tail -1 progress.txt); checkpointing it"
"$CKPTSIM" checkpoint "$job" --wait
kill -9 "$job"; wait "$runner" 2>/dev/null || true
echo "killed it with SIGKILL; out.bin has $(stat -c %s out.bin) of $((3 * N * N * 4)) bytes"

start=$(date +%s%N)
"$CKPTSIM" restart "$D/img/latest"
end=$(date +%s%N)
echo "restarted from $(readlink -f "$D/img/latest") and ran to completion in $(( (end - start) / 1000000 )) ms"
if cmp -s out.bin "$D/reference.bin"; then
  echo "out.bin is byte-identical to the uninterrupted run"
else
  echo "out.bin DIFFERS from the uninterrupted run" >&2
  exit 1
fi
