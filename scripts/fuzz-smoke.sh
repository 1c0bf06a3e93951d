#!/usr/bin/env bash
# Build and run each fuzz target for a short while (FUZZ_SECONDS, default 20) on the
# stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz use its nightly-only flags).
# Exits non-zero if a target fails to build or finds a crash.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz is missing (cargo install --locked cargo-fuzz)" >&2
  exit 1
fi

for target in bencode metainfo magnet http_query udp_packet krpc mse_handshake extension; do
  echo "fuzz-smoke: $target for ${SECONDS_PER_TARGET}s"
  mkdir -p "corpus/$target"
  # Seed with the hand-written hostile torrents and good fixtures.
  if [ "$target" = bencode ] || [ "$target" = metainfo ]; then
    cp -n ../crates/cli/tests/fixtures/bad/*.torrent ../crates/cli/tests/fixtures/*.torrent \
      "corpus/$target/" 2>/dev/null || true
  fi
  if ! cargo fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=2048 \
      -print_final_stats=0 2>"/tmp/fuzz-smoke-$target.log"; then
    tail -n 40 "/tmp/fuzz-smoke-$target.log" >&2
    echo "fuzz-smoke: $target FAILED (crash or build error; log above)" >&2
    exit 1
  fi
  grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "/tmp/fuzz-smoke-$target.log" | tail -n 1 || true
done
echo "fuzz-smoke: all targets ok"
