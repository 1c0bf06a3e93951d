#!/usr/bin/env bash
# Installs what bitswarm's build and test suite need on a fresh Debian 12 machine:
# the C libraries some crates link (OpenSSL, Open MPI, libclang for rsmpi's bindgen),
# the real BitTorrent programs the interop tests run against, and cargo tools.
# Safe to run again: it installs only what is missing.
set -euo pipefail

APT_PACKAGES=(
  pkg-config libssl-dev            # openssl crate (SHA-1 with SHA-NI)
  libopenmpi-dev openmpi-bin libclang-dev   # --features mpi (rsmpi)
  mktorrent transmission-cli       # reference torrent creators for info-hash tests
  python3-libtorrent aria2 opentracker      # interop peers and tracker
  time                             # GNU /usr/bin/time: CPU and peak RSS in the bench scripts
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: cargo install cargo-nextest"
  cargo install --locked cargo-nextest
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "install-deps: cargo install cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
