#!/usr/bin/env bash
# Benchmark of `bitswarm sim`:
#  1. wall time of each official test under mpirun (target: under 1 s each);
#  2. a generated run over LocalCluster: CLIENTS clients (default 1000), 10 files of
#     100 segments, clients 1..10 seed one file each, every other client wants WANTED
#     files (default 10); time and message counts from the JSON report.
# Usage: scripts/bench-sim.sh [--no-mpi]
# env: CLIENTS, WANTED, TESTS_DIR, MPI_TARGET_DIR (target/mpi), LOCAL_TARGET_DIR (target)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tests="${TESTS_DIR:-$root/../shared/tema-tests}"
clients="${CLIENTS:-1000}"
wanted="${WANTED:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "${1:-}" != "--no-mpi" ] && command -v mpirun >/dev/null; then
    echo "== official tests under mpirun"
    mpitarget="${MPI_TARGET_DIR:-$root/target/mpi}"
    (cd "$root" && CARGO_TARGET_DIR="$mpitarget" cargo build --release -q -p bitswarm --features mpi)
    mpibin="$mpitarget/release/bitswarm"
    flags=(--oversubscribe)
    [ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
    for t in "$tests"/test*/; do
        name="$(basename "$t")"
        cp -r "$t" "$work/$name"
        ln -s "$mpibin" "$work/$name/tema2"
        n=$(( $(ls "$work/$name" | grep -cE '^in[0-9]+\.txt$') + 1 ))
        start=$(date +%s.%N)
        (cd "$work/$name" && timeout 60 mpirun "${flags[@]}" -np "$n" ./tema2 --quiet)
        end=$(date +%s.%N)
        awk -v n="$name" -v r="$n" -v a="$start" -v b="$end" 'BEGIN{printf "%s: -np %d  %.3f s\n", n, r, b-a}'
    done
fi

echo "== generated: $clients clients, 10 files x 100 segments, $wanted wanted per leecher (LocalCluster)"
localtarget="${LOCAL_TARGET_DIR:-$root/target}"
(cd "$root" && CARGO_TARGET_DIR="$localtarget" cargo build --release -q -p bitswarm)
bin="$localtarget/release/bitswarm"
gen="$work/gen"
mkdir -p "$gen"
awk -v clients="$clients" -v wanted="$wanted" -v dir="$gen" 'BEGIN {
    for (r = 1; r <= clients; r++) {
        f = dir "/in" r ".txt"
        if (r <= 10) {
            printf "1\nfile%d 100\n", r > f
            for (s = 0; s < 100; s++) printf "%08x%08x%08x%08x\n", r, s, r * 7919 + s, 2654435761 % (r + s + 1) > f
            printf "0\n" > f
        } else {
            printf "0\n%d\n", wanted > f
            for (k = 0; k < wanted; k++) printf "file%d\n", (r + k) % 10 + 1 > f
        }
        close(f)
    }
}'
start=$(date +%s.%N)
"$bin" sim --dir "$gen" --ranks $((clients + 1)) --timeout 600 --quiet --report "$work/report.json"
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN{printf "process wall time: %.2f s\n", b-a}'
grep -E '"(ranks|segment_messages|total_messages|wall_seconds)"' "$work/report.json" | tr -d ' ,'
tr -d ' \n' < "$work/report.json" | grep -o '"tracker":{[^}]*}'
echo
