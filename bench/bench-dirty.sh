#!/usr/bin/env bash
# How long an in-process incremental dump stops the job, with the changed pages
# from the kernel (run --dirty kernel: userfaultfd write-protect + PAGEMAP_SCAN)
# against checksums of every page (--dirty checksum) and against a full dump,
# same job, same run. The job (tests/restart/prog_dirty) maps MB MiB, fills 7/8
# of it and, before each of its own checkpoints after the first, changes about
# one page in 38 of it; the stop time is the image's stopped_ns (signal to
# image committed, fsync on). Figures: the mean over the incremental images of
# a chain (full: over plain full dumps), best of BENCH_REPEAT runs.
# The forked dumps (run's default) of the same job too, full and incremental
# (kernel tracking), by the same measure: there stopped_ns ends when the fork
# returns (the writer's copy is the snapshot). The job waits for each image to
# be committed before it goes on (prog_dirty wait=DIR, all modes alike), so a
# forked stop is not a wait for the previous writer.
# Targets (issue 23): an in-process incremental dump stops the job <= 0.3x an
# in-process full one; a forked incremental one <= 10 ms at 200 MB.
# The raw limit of a forked stop, same run: a bare fork of a process holding
# the job's memory (ckpt_bare_fork: MB MiB mapped, 7/8 filled, as prog_dirty),
# the median of its 5 rounds, best of BENCH_REPEAT (the stops are a mean over
# a chain, best of runs); each forked stop is also given as a multiple of it.
# Env: BUILD, CKPTSIM (bench/run-all.sh sets them); BENCH_SIZES (MiB, default
# "200 1024"), BENCH_REPEAT (default 2), BENCH_DUMPS (checkpoints per run, default 5).
set -euo pipefail
: "${BUILD:?}" "${CKPTSIM:=$BUILD/ckptsim}"
PROG="$BUILD/tests/restart/prog_dirty"
[ -x "$PROG" ] || { echo "bench-dirty: $PROG missing (build target prog_dirty)" >&2; exit 2; }
BARE_FORK="$BUILD/ckpt_bare_fork"
[ -x "$BARE_FORK" ] || { echo "bench-dirty: $BARE_FORK missing (build target ckpt_bare_fork)" >&2; exit 2; }
SIZES="${BENCH_SIZES:-200 1024}"
REPEAT="${BENCH_REPEAT:-2}"
DUMPS="${BENCH_DUMPS:-5}"
WORK=$(mktemp -d /tmp/ckptsim-bench-dirty-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null || true; done

# One run of the job; prints the mean stop time (s) of its images 2..DUMPS
# (incremental modes) or 1..DUMPS (full), and the mean bytes written.
stops() {  # mib mode (kernel|checksum|full|forked-full|forked-kernel)
  local mib=$1 mode=$2 out="$WORK/out" img="$WORK/img"
  rm -rf "$out" "$img"; mkdir -p "$out"
  local opts=(--keep 100) how=--no-fork dirty=${mode#forked-}
  [ "$dirty" = "$mode" ] || how=--fork
  [ "$dirty" = full ] || opts+=(--incremental --dirty "$dirty")
  "$CKPTSIM" run "$how" --dir "$img" "${opts[@]}" -- "$PROG" "$out" "$mib" "$DUMPS" "wait=$img" > /dev/null 2> "$WORK/err" ||
    { echo "bench-dirty: $mode: the job failed: $(tail -1 "$WORK/err")" >&2; exit 1; }
  if [ "$dirty" != full ] && ! grep -q "dirty: ${dirty/checksum/checksums}" "$img/.ckpt-status"; then
    echo "bench-dirty: $mode did not run: $(head -1 "$img/.ckpt-status")" >&2; exit 1
  fi
  if [ "$how" = --fork ] && ! grep -q "dumps are forked" "$WORK/err"; then
    echo "bench-dirty: $mode was not forked: $(tail -1 "$WORK/err")" >&2; exit 1
  fi
  python3 - "$img" "$DUMPS" "$dirty" <<'PY'
import json, os, sys
img, dumps, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
first = 1 if mode == "full" else 2
s = w = 0.0
for i in range(first, dumps + 1):
    m = json.load(open(os.path.join(img, f"ckpt-{i:04d}", "manifest.json")))
    s += m["stopped_ns"] / 1e9
    w += m["written"]["memory_bytes"] / 1e6
n = dumps + 1 - first
print(f"{s / n:.4f} {w / n:.1f}")
PY
}

best() { sort -g | head -1; }
MODES="full checksum kernel forked-full forked-kernel"
printf '%-7s %10s %10s %10s %12s %12s %10s %s\n' job full_s checksum_s kernel_s checksum/full kernel/full k/c target
for mib in $SIZES; do
  for mode in $MODES bare; do : > "$WORK/$mode"; done
  for _ in $(seq "$REPEAT"); do  # interleaved, so a slow moment hits all of them
    for mode in $MODES; do stops "$mib" "$mode" >> "$WORK/$mode"; done
    "$BARE_FORK" "$mib" 1 5 7 | awk '{print $3}' >> "$WORK/bare"
  done
  bare=$(best < "$WORK/bare")
  full=$(best < "$WORK/full" | cut -d' ' -f1)
  cs=$(best < "$WORK/checksum" | cut -d' ' -f1)
  kn=$(best < "$WORK/kernel" | cut -d' ' -f1)
  ff=$(best < "$WORK/forked-full" | cut -d' ' -f1)
  fk=$(best < "$WORK/forked-kernel" | cut -d' ' -f1)
  awk -v m="$mib" -v f="$full" -v c="$cs" -v k="$kn" 'BEGIN {
    printf "%-7s %10.4f %10.4f %10.4f %11.3fx %11.3fx %9.3fx %s\n", m "MB", f, c, k, c / f, k / f, k / c,
      (k / f <= 0.3) ? "ok (kernel <= 0.3x full)" : "ABOVE 0.3x" }'
  awk -v m="$mib" -v f="$full" -v ff="$ff" -v fk="$fk" -v b="$bare" 'BEGIN {
    printf "        forked: full %.4f s (%.3fx), kernel incremental %.4f s (%.3fx; %.3fx forked full)%s\n",
      ff, ff / f, fk, fk / f, fk / ff, (m > 200) ? "" : (fk <= 0.010) ? ", ok (<= 10 ms)" : ", ABOVE 10 ms"
    printf "        raw limit: a bare fork of the same %d MiB %.1f ms%s; forked full %.1f ms = %.2fx it, forked incremental %.1f ms = %.2fx it\n",
      m, b * 1e3, (m <= 200 && b > 0.010) ? " (itself above 10 ms)" : "", ff * 1e3, ff / b, fk * 1e3, fk / b }'
  printf '        MB written per dump: full %s, checksum %s, kernel %s, forked full %s, forked kernel %s\n' \
    "$(best < "$WORK/full" | cut -d' ' -f2)" "$(best < "$WORK/checksum" | cut -d' ' -f2)" "$(best < "$WORK/kernel" | cut -d' ' -f2)" \
    "$(best < "$WORK/forked-full" | cut -d' ' -f2)" "$(best < "$WORK/forked-kernel" | cut -d' ' -f2)"
done
echo "stop time: the image's stopped_ns (in-process: the checkpoint signal to its memory and files written, fsync on;"
echo "forked: to the fork), mean over the incremental images of one chain (full: over full dumps); ratios"
echo "against the in-process full dump. Kernel tracking still reads every page once for the segment's"
echo "whole-content checksum (docs/checkpointing.md): in-process while the job is stopped, forked in the writer."
echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
