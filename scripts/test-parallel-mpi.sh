#!/usr/bin/env bash
# Run the parallel downloader under MPI: `mpirun -np 4 bitswarm download T` (rank 0
# coordinates, ranks 1..3 download) against a libtorrent seed capped at 8 MiB/s on
# loopback, in independent and cooperative mode; cooperative from a magnet link naming
# only the seed (every worker fetches the metadata); and `-np 1` (rank 0 downloads
# itself). Checks the JSON report, every rank_<r>_download byte for byte, and that in
# cooperative mode the seed uploads about one copy (< 1.5x the size).
#
# Needs: libopenmpi-dev openmpi-bin libclang-dev python3-libtorrent (Debian).
# Usage: scripts/test-parallel-mpi.sh   (PARALLEL_MPI_NP=4, PARALLEL_MPI_MIB=24 by default)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
np="${PARALLEL_MPI_NP:-4}"
mib="${PARALLEL_MPI_MIB:-24}"
timeout_s="${PARALLEL_MPI_TIMEOUT:-240}"
py=/usr/bin/python3
command -v mpirun >/dev/null || { echo "mpirun not found (apt-get install openmpi-bin libopenmpi-dev libclang-dev)" >&2; exit 2; }
"$py" -c 'import libtorrent' 2>/dev/null || { echo "python3-libtorrent not found (apt-get install python3-libtorrent)" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/mpi}"
(cd "$root" && cargo build --release -p bitswarm --features mpi)
bin="$CARGO_TARGET_DIR/release/bitswarm"
lt="$root/crates/cli/tests/support/lt_peer.py"

mpi_flags=(--oversubscribe)
[ "$(id -u)" = 0 ] && mpi_flags+=(--allow-run-as-root)

passed=0 failed=0
work="$(mktemp -d)"
seed_pid=""
cleanup() { [ -n "$seed_pid" ] && kill "$seed_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Content and torrent (no tracker: workers get the seed with --peer).
mkdir -p "$work/src"
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/src/data.bin"
"$bin" create "$work/src/data.bin" -o "$work/data.torrent" -l 256K >/dev/null
info_hash="$("$bin" info "$work/data.torrent" --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["info_hash"])')"

free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_seed: a capped libtorrent seed; sets seed_pid, seed_port, seed_log.
start_seed() {
    seed_port="$(free_port)"
    seed_log="$work/seed-$seed_port.log"
    : >"$seed_log"
    "$py" "$lt" --torrent "$work/data.torrent" --save "$work/src" --port "$seed_port" \
        --seed --timeout 600 --upload-limit $((8 * 1024 * 1024)) >"$seed_log" 2>&1 &
    seed_pid=$!
    for _ in $(seq 100); do grep -q '^checked' "$seed_log" && return 0; sleep 0.2; done
    echo "  the libtorrent seed did not start:"; cat "$seed_log"; return 1
}

stop_seed() {
    sleep 1.5 # one more "uploaded" line
    kill "$seed_pid" 2>/dev/null || true
    wait "$seed_pid" 2>/dev/null || true
    seed_pid=""
    seed_uploaded="$(grep '^uploaded ' "$seed_log" | tail -1 | cut -d' ' -f2)"
}

# check NAME NP MODE: the JSON report and the copies.
check() {
    local dir="$1" ranks="$2" mode="$3"
    "$py" - "$dir/report.json" "$ranks" "$mode" "$seed_uploaded" "$((mib * 1024 * 1024))" <<'PY'
import json, sys
path, np, mode, seed_up, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4] or 0), int(sys.argv[5])
r = json.load(open(path))
workers = max(np - 1, 1)
problems = []
if r["backend"] != "mpi": problems.append("backend %r" % r["backend"])
if r["mode"] != mode: problems.append("mode %r" % r["mode"])
if r["name"] != "data.bin" or r["size"] != size: problems.append("name %r size %r" % (r["name"], r["size"]))
if r["succeeded"] != workers or r["failed"] != 0: problems.append("succeeded %s failed %s" % (r["succeeded"], r["failed"]))
ranks = [row["rank"] for row in r["rows"]]
want = list(range(1, np)) if np > 1 else [0]
if ranks != want: problems.append("rows for ranks %s, expected %s" % (ranks, want))
if mode == "cooperative" and workers > 1 and seed_up >= 1.5 * size:
    problems.append("the seed uploaded %.1f MiB (>= 1.5 copies)" % (seed_up / 2**20))
print("  wall %.1f s, seed uploaded %.1f MiB" % (r["wall_seconds"], seed_up / 2**20))
for p in problems: print("  " + p)
sys.exit(1 if problems else 0)
PY
    local r
    for r in $( [ "$ranks" -gt 1 ] && seq 1 $((ranks - 1)) || echo 0 ); do
        cmp -s "$work/src/data.bin" "$dir/out/rank_${r}_download/data.bin" || {
            echo "  rank_${r}_download/data.bin differs from the source"; return 1; }
    done
}

# run NAME NP MODE [magnet]
run() {
    local name="$1" ranks="$2" mode="$3" dir="$work/$1" ok=1
    mkdir -p "$dir"
    echo "== $name: mpirun -np $ranks bitswarm download ${4:-torrent} --mode $mode"
    start_seed || { failed=$((failed + 1)); return; }
    local input=("$work/data.torrent" --peer "127.0.0.1:$seed_port")
    [ "${4:-}" = magnet ] && input=("magnet:?xt=urn:btih:$info_hash&x.pe=127.0.0.1:$seed_port")
    if ! timeout "$timeout_s" mpirun "${mpi_flags[@]}" -np "$ranks" "$bin" download "${input[@]}" \
        -o "$dir/out" --mode "$mode" --port 0 --json \
        >"$dir/report.json" 2>"$dir/stderr.log"; then
        echo "  the job failed:"; tail -20 "$dir/stderr.log"; ok=0
    fi
    stop_seed
    if [ "$ok" = 1 ] && ! check "$dir" "$ranks" "$mode"; then ok=0; fi
    if [ "$ok" = 1 ]; then echo "  ok"; passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

run independent "$np" independent
run cooperative "$np" cooperative
run magnet-cooperative "$np" cooperative magnet
run single-rank 1 cooperative

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
