#!/usr/bin/env bash
# Engine throughput on loopback: one seed to one leecher, 1 GiB (1 MiB pieces), in one
# run: bitswarm->bitswarm, libtorrent->bitswarm, bitswarm->libtorrent,
# libtorrent->libtorrent. Prints MB/s (10^6 bytes/s) over the downloader's wall time
# (start to exit, including its start-up), then the seed's peak RSS while serving 10
# bitswarm leechers at once.
# Usage: scripts/bench-engine.sh [SIZE_MIB]   (default 1024; REPEAT=n runs per pair, best
# kept, default 1; SKIP_RSS=1 skips the 10-leecher memory run; BITSWARM_BIN=path uses
# that binary instead of building one)
# Every peer runs without protocol encryption (bitswarm --encryption disable, libtorrent
# in/out_enc_policy disabled), so no connection waits for an MSE attempt to fail; one
# extra row shows bitswarm's default `prefer`: an MSE handshake, then (both sides offering
# both) a plaintext payload, as libtorrent's default does.
# Each row also prints the CPU time (user + system, core-seconds per GiB moved) of the seed
# (counted from when it is ready to serve, so its start-up check is left out) and of the
# leecher (start to exit): a figure the other load on the machine disturbs far less than
# the wall time. The leecher's peak RSS (its VmHWM, from GNU time) closes each row.
# Needs: python3-libtorrent (Debian's /usr/bin/python3), bc, time (GNU /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB="${1:-1024}"
# BITSWARM_BIN=path skips the build (e.g. to measure an already built binary).
if [ -z "${BITSWARM_BIN:-}" ]; then
  cargo build --release -p bitswarm >/dev/null
fi
BIN="${BITSWARM_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/bitswarm}"
LT="$PWD/crates/cli/tests/support/lt_peer.py"
PY=/usr/bin/python3
$PY -c "import libtorrent" 2>/dev/null || { echo "bench-engine: python3-libtorrent is missing (apt-get install python3-libtorrent)"; exit 2; }

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

BYTES=$((SIZE_MIB * 1024 * 1024))
echo "bench-engine: ${SIZE_MIB} MiB of random data in $TMP"
mkdir -p "$TMP/src"
head -c "$BYTES" /dev/urandom > "$TMP/src/data.bin"
"$BIN" create "$TMP/src/data.bin" -o "$TMP/data.torrent" --piece-length 1M --no-date >/dev/null
cat "$TMP/src/data.bin" > /dev/null

ENC="disable"
# As the libtorrent peers (lt_peer.py): no DHT, no Local Service Discovery, no PEX, so
# nothing but the two peers talks (no bootstrap lookups, no multicast).
QUIET="--no-dht --no-lsd --no-pex"
# Below the ephemeral range (32768-60999 here): an outgoing connection, such as
# wait_listen's own probe, could otherwise hold the next port we want to listen on.
PORT=$((20000 + RANDOM % 10000))
# Distinct ports without subshells (a $(...) could not advance the counter).
PORT_FILE="$TMP/port"
echo "$PORT" > "$PORT_FILE"
next_port() { local p; p=$(( $(cat "$PORT_FILE") + 1 )); echo "$p" > "$PORT_FILE"; echo "$p"; }

# Waits until something listens on 127.0.0.1:$1.
wait_listen() {
  for _ in $(seq 200); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench-engine: nothing listens on port $1" >&2
  return 1
}

start_seed() { # kind port -> pid in SEED_PID
  local kind=$1 port=$2
  if [ "$kind" = bitswarm ]; then
    "$BIN" seed "$TMP/data.torrent" "$TMP/src/data.bin" --port "$port" --encryption "$ENC" $QUIET 2>"$TMP/seed.log" &
  else
    $PY "$LT" --torrent "$TMP/data.torrent" --save "$TMP/src" --port "$port" --seed --timeout 600 --plaintext >"$TMP/seed.log" 2>&1 &
  fi
  SEED_PID=$!
  PIDS+=("$SEED_PID")
  wait_listen "$port"
  if [ "$kind" = bitswarm ]; then
    for _ in $(seq 400); do grep -q seeding "$TMP/seed.log" && break; sleep 0.05; done
  else
    for _ in $(seq 400); do grep -q checked "$TMP/seed.log" && break; sleep 0.05; done
  fi
  SEED_TICKS0=$(cpu_ticks "$SEED_PID")
}

# User + system CPU time of a running process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)
GIB=$(echo "$BYTES / 1073741824" | bc -l)

# Runs one leecher to completion; prints its wall seconds, then its CPU seconds.
leech() { # kind seed_port
  local kind=$1 sport=$2 out="$TMP/out" start end
  rm -rf "$out"; mkdir -p "$out"
  start=$(date +%s.%N)
  if [ "$kind" = bitswarm ]; then
    /usr/bin/time -f "%U %S %M" -o "$TMP/leech.cpu" "$BIN" download "$TMP/data.torrent" -o "$out" --port "$(next_port)" --peer "127.0.0.1:$sport" --encryption "$ENC" $QUIET >/dev/null 2>"$TMP/leech.log" || true
  else
    /usr/bin/time -f "%U %S %M" -o "$TMP/leech.cpu" $PY "$LT" --torrent "$TMP/data.torrent" --save "$out" --port "$(next_port)" --connect "127.0.0.1:$sport" --timeout 600 --plaintext >"$TMP/leech.log" 2>&1 || true
  fi
  end=$(date +%s.%N)
  cmp -s "$out/data.bin" "$TMP/src/data.bin" || {
    echo "bench-engine: $kind leecher did not produce the same data; its log:" >&2
    tail -20 "$TMP/leech.log" >&2; echo "seed log:" >&2; tail -20 "$TMP/seed.log" >&2
    exit 1
  }
  echo "$end - $start" | bc -l
  awk '{print $1 + $2; print int($3 / 1024)}' "$TMP/leech.cpu"
}

run_pair() { # seed_kind leech_kind
  local best="" t port res lcpu scpu lrss best_scpu best_lcpu best_lrss
  for _ in $(seq "${REPEAT:-1}"); do
    port=$(next_port)
    start_seed "$1" "$port"
    res=$(leech "$2" "$port")
    scpu=$(echo "($(cpu_ticks "$SEED_PID") - $SEED_TICKS0) / $TICK / $GIB" | bc -l)
    kill "$SEED_PID" 2>/dev/null || true; wait "$SEED_PID" 2>/dev/null || true
    t=$(echo "$res" | head -1)
    lcpu=$(echo "$(echo "$res" | sed -n 2p) / $GIB" | bc -l)
    lrss=$(echo "$res" | sed -n 3p)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then
      best=$t; best_scpu=$scpu; best_lcpu=$lcpu; best_lrss=$lrss
    fi
  done
  printf "%-34s %7.2f s  %8.1f MB/s   cpu s/GiB: seed %5.2f  leecher %5.2f   leecher RSS %4d MiB\n" "$1 -> $2${3:-}" "$best" \
    "$(echo "$BYTES / $best / 1000000" | bc -l)" "$best_scpu" "$best_lcpu" "$best_lrss"
}

echo "seed -> leecher                      wall       throughput   (CPU of the best run)"
run_pair bitswarm bitswarm
run_pair libtorrent bitswarm
run_pair bitswarm libtorrent
run_pair libtorrent libtorrent
ENC=prefer
run_pair bitswarm bitswarm " (--encryption prefer)"
ENC=disable

if [ "${SKIP_RSS:-0}" != 1 ]; then
  port=$(next_port)
  start_seed bitswarm "$port"
  LPIDS=()
  for i in $(seq 10); do
    mkdir -p "$TMP/rss$i"
    # The port is taken here, not in the background job: jobs expanding $(next_port)
    # themselves race on the port file.
    lport=$(next_port)
    "$BIN" download "$TMP/data.torrent" -o "$TMP/rss$i" --port "$lport" --peer "127.0.0.1:$port" --encryption "$ENC" $QUIET >/dev/null 2>&1 &
    LPIDS+=("$!"); PIDS+=("$!")
  done
  peak=0
  while kill -0 "${LPIDS[@]}" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$SEED_PID/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.2
  done
  for p in "${LPIDS[@]}"; do wait "$p" || true; done
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SEED_PID/status" 2>/dev/null || echo 0)
  echo "bitswarm seed RSS serving 10 leechers: peak sampled $((peak / 1024)) MiB, VmHWM $((hwm / 1024)) MiB"
fi
