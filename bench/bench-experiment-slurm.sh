#!/usr/bin/env bash
# Does the simulator predict real runs through a scheduler? `ckptsim
# experiment --slurm` on a two-node local Slurm (scripts/slurm-local.sh start
# --nodes 2, each node pinned to its core, a directory and ports of its own),
# cases I-V at orders whose jobs last 5 s or more, the profile calibrated in
# the same invocation. Prints the table, then per case and order whether the
# simulated mean is within the real run's 95 % interval or within 5 % of the
# real mean, and the requeue delay measured (fed to the simulator). Needs
# root (slurmd). Real-time figures: run it on a quiet machine.
#   ORDERS=2500,3000 JOBS=2 REPS=3 SEED=1 BUILD=build bash bench/bench-experiment-slurm.sh
# PROFILE=p.json uses that profile instead of calibrating (saved as OUT/profile.json otherwise).
set -euo pipefail
: "${BUILD:?set BUILD to the build directory}"
HERE=$(cd "$(dirname "$0")/.." && pwd)
CKPTSIM="$BUILD/ckptsim"
ORDERS=${ORDERS:-2500,3000}
JOBS=${JOBS:-2}
REPS=${REPS:-3}
SEED=${SEED:-1}
PORT=${PORT:-7977}
[ "$(id -u)" = 0 ] || { echo "bench-experiment-slurm: skipped: the local Slurm needs root"; exit 0; }
OUT=${OUT:-$(mktemp -d /var/tmp/bench-experiment-slurm-XXXXXX)}
export CKPTSIM_SLURM_DIR="$OUT/slurm" CKPTSIM_SLURM_PORT=$PORT
unset SLURM_CONF
trap '"$HERE/scripts/slurm-local.sh" stop >/dev/null 2>&1 || true' EXIT
"$HERE/scripts/slurm-local.sh" start --nodes 2 >/dev/null
mkdir -p "$OUT/shared"

profile=(--save-profile "$OUT/profile.json")
[ -n "${PROFILE:-}" ] && profile=(--profile "$PROFILE")
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
"$CKPTSIM" experiment --slurm --shared-dir "$OUT/shared" --sizes "$ORDERS" --jobs-per-node "$JOBS" \
  --replications "$REPS" --seed "$SEED" --failure-rate 0.46 --checkpoint-at 0.5 --reboot-s 2 --case all \
  "${profile[@]}" --format json --plot "$OUT/experiment-slurm.png" \
  >"$OUT/result.json" 2>"$OUT/err.log"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"

python3 - "$OUT/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'order':>6} {'case':<5} {'real s':>9} {'+-95%':>7} {'sim s':>9} {'+-95%':>7} {'err %':>7}  agrees")
ok = 0
for row in r["rows"]:
    inside = abs(row["sim_mean_s"] - row["real_mean_s"]) <= row["real_ci95_s"]
    close = abs(row["rel_error_pct"]) <= 5
    ok += inside or close
    why = "inside the 95 % interval" if inside else ("within 5 %" if close else "NO")
    print(f"{row['order']:>6} {row['case']:<5} {row['real_mean_s']:>9.3f} {row['real_ci95_s']:>7.3f} "
          f"{row['sim_mean_s']:>9.3f} {row['sim_ci95_s']:>7.3f} {row['rel_error_pct']:>+7.1f}  {why}")
print(f"agree: {ok} of {len(r['rows'])} rows")
s = r.get("scheduler", {})
print(f"scheduler: {s.get('requeues', 0)} requeue(s); node down -> running again "
      f"{s.get('down_to_running_mean_s', 0):.2f} +- {s.get('down_to_running_ci95_s', 0):.2f} s; queue wait "
      f"(the simulated requeue delay) {s.get('queue_wait_mean_s', 0):.2f} +- {s.get('queue_wait_ci95_s', 0):.2f} s")
PY
echo "files: $OUT (result.json, experiment-slurm.png, profile.json, err.log)"
