#!/usr/bin/env bash
# Hashing throughput of `bitswarm create` and `bitswarm verify` on a 1 GiB file, against
# OpenSSL's single-core SHA-1 speed times the number of cores. Target: >= 90%.
# Usage: scripts/bench-hash.sh [SIZE_MIB]   (default 1024; REPEAT=n runs, best kept, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB="${1:-1024}"
cargo build --release -p bitswarm >/dev/null
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/bitswarm"
CORES="$(nproc)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "bench-hash: writing ${SIZE_MIB} MiB of random data in $TMP"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$TMP/data.bin"
BYTES=$((SIZE_MIB * 1024 * 1024))

# Seconds (float) a command takes.
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# Best (smallest) of REPEAT timings: the machine may be shared.
best() {
  local b="" t
  for _ in $(seq "${REPEAT:-3}"); do
    t=$(timed "$@")
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}

# Warm the page cache, then measure.
cat "$TMP/data.bin" > /dev/null
T_CREATE=$(best "$BIN" create "$TMP/data.bin" -o "$TMP/data.torrent" --no-date)
T_VERIFY=$(best "$BIN" verify "$TMP/data.torrent" "$TMP/data.bin")
# One worker thread: the implementation's overhead over bare SHA-1, whatever the cores do.
T_VERIFY1=$(best env RAYON_NUM_THREADS=1 "$BIN" verify "$TMP/data.torrent" "$TMP/data.bin")

# openssl prints e.g. "sha1  ...  1745678.12k" (1000-byte k) for the 1048576-byte block.
SSL_K=$(openssl speed -bytes 1048576 -seconds 3 sha1 2>/dev/null | awk '/^sha1/ {print $NF}' | tr -d k)
SSL_GBS=$(echo "$SSL_K * 1000 / 1000000000" | bc -l)
# The same, all cores at once (shows how much a busy machine takes away).
MULTI_K=$(openssl speed -multi "$CORES" -bytes 1048576 -seconds 3 sha1 2>/dev/null | awk '/^sha1/ {print $NF}' | tr -d k)
MULTI_GBS=$(echo "$MULTI_K * 1000 / 1000000000" | bc -l)
ALL_GBS=$(echo "$SSL_GBS * $CORES" | bc -l)
C_GBS=$(echo "$BYTES / $T_CREATE / 1000000000" | bc -l)
V_GBS=$(echo "$BYTES / $T_VERIFY / 1000000000" | bc -l)
V1_GBS=$(echo "$BYTES / $T_VERIFY1 / 1000000000" | bc -l)

printf 'data:              %d MiB, %d cores\n' "$SIZE_MIB" "$CORES"
printf 'openssl sha1:      %.2f GB/s per core, %.2f GB/s x %d cores\n' "$SSL_GBS" "$ALL_GBS" "$CORES"
printf 'openssl -multi %d: %.2f GB/s (all cores measured together)\n' "$CORES" "$MULTI_GBS"
printf 'bitswarm create:   %.2f GB/s (%.2f s) = %.0f%% of openssl x cores\n' "$C_GBS" "$T_CREATE" "$(echo "100 * $C_GBS / $ALL_GBS" | bc -l)"
printf 'bitswarm verify:   %.2f GB/s (%.2f s) = %.0f%% of openssl x cores\n' "$V_GBS" "$T_VERIFY" "$(echo "100 * $V_GBS / $ALL_GBS" | bc -l)"
printf 'verify, 1 thread:  %.2f GB/s (%.2f s) = %.0f%% of openssl on 1 core\n' "$V1_GBS" "$T_VERIFY1" "$(echo "100 * $V1_GBS / $SSL_GBS" | bc -l)"
printf 'verify vs openssl -multi: %.0f%%\n' "$(echo "100 * $V_GBS / $MULTI_GBS" | bc -l)"
