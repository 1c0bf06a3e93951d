#!/usr/bin/env bash
# The whole test suite, as README.md names it and CI runs it:
# install what the tests need, check formatting and lints, run the fuzz smoke, the MPI
# suites under mpirun, and finally every Rust test with cargo-nextest. A failing step does
# not hide the others: each runs, and the script fails at the end if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "test.sh: installing dependencies failed"; exit 1; }

failed=()
timings=()
step() {
  local name="$1"; shift
  local start=$SECONDS
  echo "== $name"
  if ! "$@"; then
    echo "== FAILED: $name"
    failed+=("$name")
  fi
  timings+=("$(printf '%5ds  %s  (disk free after: %s)' $((SECONDS - start)) "$name" \
    "$(df -h --output=avail . | tail -n 1 | tr -d ' ')")")
}
# With TEST_SH_LEAN_DISK=1 (CI), build directories no later step needs are removed.
lean() {
  if [ "${TEST_SH_LEAN_DISK:-0}" = 1 ]; then rm -rf "$@"; fi
}

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy (all targets, all features)" \
  cargo clippy --workspace --all-targets --all-features -- -D warnings
step "fuzz smoke" env FUZZ_SECONDS="${FUZZ_SECONDS:-8}" bash scripts/fuzz-smoke.sh
lean fuzz/target
for s in scripts/test-tema-mpi.sh scripts/test-parallel-mpi.sh scripts/test-swarm-mpi.sh; do
  [ -f "$s" ] && step "$s (mpirun)" bash "$s"
done
lean target/mpi
step "cargo nextest (workspace)" cargo nextest run --workspace --no-fail-fast

echo "== time per step (total ${SECONDS}s, installing included)"
printf '%s\n' "${timings[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: failed steps: ${failed[*]}"
  exit 1
fi
