#!/usr/bin/env bash
# The journal of written files (ckpt/src/lib/written_files.h): what noting
# each open for writing costs a job, as ratios to the same work without the
# library, in the same run (best of REPEAT):
#   reopen    one process opening the same file for appending, writing a line
#             and closing it, N times (after the first, a cache hit: two stats)
#   children  a shell running N short-lived /bin/echo children appending to one
#             file (each child appends its own record: open, write, close)
# and what a checkpoint of such a job copies: the journal's bytes before and
# after the checkpoint (compacted to its distinct paths).
# Env: CKPTSIM, BUILD (bench/run-all.sh sets them); BENCH_DIR (default
# $BUILD/bench-written-journal); BENCH_N (default 20000 reopen, N/20 children);
# BENCH_REPEAT (default 3).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
LIB="$BUILD/libckpt.so"
[ -f "$LIB" ] || { echo "bench-written-journal: $LIB missing (build the ckpt target)" >&2; exit 2; }
WORK="${BENCH_DIR:-$BUILD/bench-written-journal}"
N="${BENCH_N:-20000}"
REPEAT="${BENCH_REPEAT:-3}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

reopen='import sys
n = int(sys.argv[1])
for i in range(n):
    with open("out", "a") as o:
        o.write("%d\n" % i)'
children='for i in $(seq 1 "$1"); do /bin/echo "$i" >> out; done'

best() {  # best wall time (s) of REPEAT runs of "$@", each in a fresh directory
  local b="" t
  for _ in $(seq 1 "$REPEAT"); do
    rm -rf run img && mkdir run
    t=$( { cd run && /usr/bin/time -f %e "$@" > /dev/null; } 2>&1 | tail -1)
    b=$(python3 -c "print(min(float('$t'), float('${b:-1e9}')))")
  done
  echo "$b"
}

with_lib=(env CKPT_DIR="$WORK/img" LD_PRELOAD="$LIB")

printf '%-9s %8s %10s %10s %7s\n' case n plain_s journal_s ratio
for kind in reopen children; do
  if [ $kind = reopen ]; then n=$N; cmd=(python3 -c "$reopen" "$n"); else n=$((N / 20)); cmd=(bash -c "$children" _ "$n"); fi
  plain=$(best "${cmd[@]}")
  journal=$(best "${with_lib[@]}" "${cmd[@]}")
  printf '%-9s %8d %10.3f %10.3f %7.2f\n' $kind "$n" "$plain" "$journal" "$(python3 -c "print($journal / $plain)")"
done

# The journal a checkpoint compacts: a shell whose children appended N/20 records.
rm -rf run img && mkdir run && cd run
"${with_lib[@]}" bash -c "$children; echo > ready; sleep 600" _ $((N / 20)) > /dev/null &
job=$!
while [ ! -e ready ]; do sleep 0.05; done
before=$(stat -c %s "$WORK/img/.ckpt-written")
"$CKPTSIM" checkpoint "$job" --wait > /dev/null
after=$(stat -c %s "$WORK/img/.ckpt-written")
kill "$job"; wait "$job" 2>/dev/null || true
echo "journal: $before bytes before the checkpoint, $after after (rewritten as its distinct paths when more than twice those)"
