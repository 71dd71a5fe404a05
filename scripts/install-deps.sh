#!/usr/bin/env bash
# Installs ckptsim's build, test and demo dependencies from Debian 12 packages.
# Idempotent: packages already present are skipped, apt is not touched at all
# when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config make
  libsimgrid-dev          # SimGrid 3.32: the cluster simulator
  libelf-dev              # libelf: reading/validating ELF core images
  libeigen3-dev           # Eigen 3.4: least-squares cost curves
  libcli11-dev            # CLI11 2.1: command line
  catch2                  # Catch2 v2: tests
  nlohmann-json3-dev      # nlohmann-json: manifests and profiles
  libxxhash-dev           # xxHash: image checksums (fast, allocation-free)
  binutils gdb            # readelf / gdb -batch in the image tests
  iproute2 util-linux     # ip netns, tc, unshare: the emulated gigabit node
  gnuplot-nox             # --plot
  bzip2 tcl zstd          # real third-party programs (zstd -T2: a multi-threaded one)
  python3                 # the asyncio restart test (Debian's /usr/bin/python3)
  nodejs openjdk-17-jdk-headless  # runtimes that use the checkpoint signal themselves (node, java -Xint; javac builds the test job)
  slurm-wlm munge         # a real one-host Slurm for the cluster tests (scripts/slurm-local.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root; run as root: sudo $0" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
