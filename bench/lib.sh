# Sourced by benchmarks that start jobs: a scratch directory WORK (made afresh),
# the pids they started killed and WORK removed however the script ends, and
# no inherited descriptors (a descriptor the caller left open would be part of
# the job's image, and refused). Set WORK and BENCH_NAME before sourcing.
: "${WORK:?}" "${BENCH_NAME:?}"
rm -rf "$WORK"; mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
# The runners and jobs started, one pid a line (helpers run in subshells, so
# not a variable).
PIDS="$WORK/pids"; : > "$PIDS"
started() { echo "$1" >> "$PIDS"; }
cleanup() {
  local p
  [ -f "$PIDS" ] && while read -r p; do kill -9 "$p" 2>/dev/null || true; done < "$PIDS"
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null || true; done

wait_for() {
  for _ in $(seq 6000); do [ -e "$1" ] && return 0; sleep 0.01; done
  echo "$BENCH_NAME: $1 never appeared" >&2
  exit 1
}
child_of() { awk '{print $1}' "/proc/$1/task/$1/children"; }

# Numbers in shell: an awk expression; the smaller of two ("" counts as none);
# the clock in ns; seconds since a now_ns reading, to the ms.
calc() { awk "BEGIN { print $1 }"; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
