#!/usr/bin/env bash
# The whole test suite, as README.md names it and CI runs it:
# install what the tests need, check formatting and lints, run the fuzz smoke, the course
# tests under mpirun, and finally every Rust test with cargo-nextest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, all features)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

if [ -x scripts/fuzz-smoke.sh ] || [ -f scripts/fuzz-smoke.sh ]; then
  echo "== fuzz smoke"
  FUZZ_SECONDS="${FUZZ_SECONDS:-10}" bash scripts/fuzz-smoke.sh
fi

if [ -f scripts/test-tema-mpi.sh ]; then
  echo "== course tests under mpirun"
  bash scripts/test-tema-mpi.sh
fi

echo "== cargo nextest (workspace)"
cargo nextest run --workspace --no-fail-fast
