#!/bin/bash
# The README's plot "Checkpoints on a shared file system": overhead against
# the checkpoint interval for one job size when every node writes its images
# to its own disk, and to one shared file system each node reaches at its
# disk's rate, with room for all 16 nodes at once or for only 4, from
# `ckptsim sweep` runs on the same failures (common random numbers).
# Usage: scripts/plot-contention.sh [OUT.png]   (build/ckptsim must exist)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/docs/shared-storage.png}
ckptsim=$here/build/ckptsim
profile=$here/data/profiles/paper-p4.json
[ -x "$ckptsim" ] || { echo "plot-contention: build first (no $ckptsim)" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot-contention: gnuplot is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

disk=$(python3 -c "import json; print(json.load(open('$profile'))['disk']['write_Bps'] / 1e6)")
roomy=$(python3 -c "print($disk * 16)")
tight=$(python3 -c "print($disk * 4)")
common=(--profile "$profile" --sizes 4100 --nodes 16 --jobs-per-node 10 --mtbf 5000 --interval 100:1500:50
        --replications 20 --format csv -q)
"$ckptsim" sweep "${common[@]}" > "$work/local.csv"
"$ckptsim" sweep "${common[@]}" --shared-storage "$roomy" --shared-client "$disk" > "$work/roomy.csv"
"$ckptsim" sweep "${common[@]}" --shared-storage "$tight" --shared-client "$disk" > "$work/tight.csv"
best() { tail -n +2 "$1" | sort -t, -k5,5g | head -1 | cut -d, -f2,5; }
echo "best interval, overhead %: local disks $(best "$work/local.csv"); shared, room for 16: $(best "$work/roomy.csv");" \
     "shared, room for 4: $(best "$work/tight.csv")"

# Overhead's 95 % interval: the turnaround's, over case I's turnaround.
err='($4/($3/(1+$5/100))*100)'
gnuplot <<GP
set terminal pngcairo size 800,500
set output '$out'
set datafile separator ','
set key top right
set yrange [0:120]
set xlabel 'checkpoint interval (s of compute)'
set ylabel 'overhead against case I (%)'
set title 'order 4100, 16 nodes, node MTBF 5000 s, case IV (20 replications, 95 % intervals)'
plot '$work/local.csv' skip 1 using 2:5:$err with yerrorlines title 'each node its own disk', \
     '$work/roomy.csv' skip 1 using 2:5:$err with yerrorlines title 'shared file system, room for 16 nodes at once', \
     '$work/tight.csv' skip 1 using 2:5:$err with yerrorlines title 'shared file system, room for 4'
GP
echo "wrote $out"
