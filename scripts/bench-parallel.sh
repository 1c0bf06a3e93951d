#!/usr/bin/env bash
# Benchmark the parallel downloader: cooperative vs independent mode with 2, 4 and 8
# workers (threads of one process) against a libtorrent seed capped at 8 MiB/s on
# loopback, plus one worker alone as the baseline. Prints wall time, the bytes the seed
# uploaded, and cooperative time / alone time (target: <= 1.3).
#
# Needs: python3-libtorrent. Usage: scripts/bench-parallel.sh
#   BENCH_MIB=32 (file size), BENCH_WORKERS="2 4 8", BENCH_CAP_MIB=8,
#   BITSWARM_BIN=path (skip the build; default: cargo build --release -p bitswarm)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
mib="${BENCH_MIB:-32}"
workers_list="${BENCH_WORKERS:-2 4 8}"
cap=$(( ${BENCH_CAP_MIB:-8} * 1024 * 1024 ))
py=/usr/bin/python3
"$py" -c 'import libtorrent' 2>/dev/null || { echo "python3-libtorrent not found" >&2; exit 2; }
if [ -n "${BITSWARM_BIN:-}" ]; then
    bin="$BITSWARM_BIN"
else
    (cd "$root" && cargo build --release -p bitswarm)
    bin="${CARGO_TARGET_DIR:-$root/target}/release/bitswarm"
fi
lt="$root/crates/cli/tests/support/lt_peer.py"

work="$(mktemp -d)"
seed_pid=""
cleanup() { [ -n "$seed_pid" ] && kill "$seed_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/src"
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/src/data.bin"
"$bin" create "$work/src/data.bin" -o "$work/data.torrent" -l 256K >/dev/null

free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench MODE WORKERS: prints "wall_seconds seed_uploaded_bytes ok"
bench() {
    local mode="$1" w="$2" port log out start end ok=ok up
    port="$(free_port)"
    log="$work/seed-$port.log"
    : >"$log"
    "$py" "$lt" --torrent "$work/data.torrent" --save "$work/src" --port "$port" --seed \
        --timeout 900 --upload-limit "$cap" >"$log" 2>&1 &
    seed_pid=$!
    for _ in $(seq 150); do grep -q '^checked' "$log" && break; sleep 0.2; done
    out="$work/out-$mode-$w"
    start=$(date +%s.%N)
    "$bin" download "$work/data.torrent" -o "$out" --workers "$w" --mode "$mode" --port 0 \
        --json --peer "127.0.0.1:$port" >"$out.json" 2>"$out.log" || ok=FAILED
    end=$(date +%s.%N)
    sleep 1.5
    kill "$seed_pid" 2>/dev/null || true
    wait "$seed_pid" 2>/dev/null || true
    seed_pid=""
    up="$(grep '^uploaded ' "$log" | tail -1 | cut -d' ' -f2)"
    rm -rf "$out"
    echo "$(echo "$end - $start" | bc) ${up:-0} $ok"
}

printf '%-12s %7s %9s %14s %8s %s\n' mode workers wall_s seed_up_MiB copies vs_alone
read -r alone alone_up alone_ok < <(bench independent 1)
printf '%-12s %7s %9.1f %14.1f %8.2f %s\n' alone 1 "$alone" "$(echo "$alone_up/1048576" | bc -l)" \
    "$(echo "$alone_up/($mib*1048576)" | bc -l)" "1.00 $alone_ok"
for w in $workers_list; do
    for mode in independent cooperative; do
        read -r wall up ok < <(bench "$mode" "$w")
        printf '%-12s %7s %9.1f %14.1f %8.2f %.2f %s\n' "$mode" "$w" "$wall" \
            "$(echo "$up/1048576" | bc -l)" "$(echo "$up/($mib*1048576)" | bc -l)" \
            "$(echo "$wall/$alone" | bc -l)" "$ok"
    done
done
