#!/usr/bin/env bash
# Cost of protocol encryption on loopback: bitswarm seed -> bitswarm download of SIZE_MIB
# (1 MiB pieces) in three modes, both sides alike: --encryption disable (plaintext),
# prefer (the default: MSE handshake, plaintext payload chosen when both offer it) and
# require (MSE + RC4 on every byte both ways). Rounds alternate the modes; prints each run
# and the median MB/s (10^6 bytes/s over the downloader's wall time, start to exit), the
# drop against plaintext, and the CPU seconds per GiB each side spent (user + sys, which
# the load of other programs on the machine barely changes, unlike wall time).
# Usage: scripts/bench-mse.sh [SIZE_MIB]   (default 512; REPEAT=n rounds, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB="${1:-512}"
REPEAT="${REPEAT:-3}"
cargo build --release -p bitswarm >/dev/null
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/bitswarm"

TMP="$(mktemp -d)"
SEED_PID=""
cleanup() {
  [ -n "$SEED_PID" ] && pkill -P "$SEED_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

BYTES=$((SIZE_MIB * 1024 * 1024))
echo "bench-mse: ${SIZE_MIB} MiB of random data in $TMP, $REPEAT rounds"
mkdir -p "$TMP/src"
head -c "$BYTES" /dev/urandom > "$TMP/src/data.bin"
"$BIN" create "$TMP/src/data.bin" -o "$TMP/data.torrent" --piece-length 1M --no-date >/dev/null
cat "$TMP/src/data.bin" > /dev/null

PORT=$((20000 + RANDOM % 20000))

# One seed + one download with policy $1; prints MB/s.
run() {
  local mode=$1 sport=$((PORT)) dport=$((PORT + 1)) out="$TMP/out" start end
  PORT=$((PORT + 2))
  rm -rf "$out"; mkdir -p "$out"
  /usr/bin/time -f "%U %S" -o "$TMP/seed.time" \
    "$BIN" seed "$TMP/data.torrent" "$TMP/src/data.bin" --port "$sport" --encryption "$mode" \
    2>"$TMP/seed.log" &
  SEED_PID=$!
  for _ in $(seq 400); do grep -q seeding "$TMP/seed.log" && break; sleep 0.05; done
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$TMP/leech.time" \
    "$BIN" download "$TMP/data.torrent" -o "$out" --port "$dport" --peer "127.0.0.1:$sport" \
    --encryption "$mode" >/dev/null 2>"$TMP/leech.log" || true
  end=$(date +%s.%N)
  # SEED_PID is /usr/bin/time, which ignores SIGINT while it waits: signal its child.
  pkill -INT -P "$SEED_PID" 2>/dev/null || true
  wait "$SEED_PID" 2>/dev/null || true
  SEED_PID=""
  cmp -s "$out/data.bin" "$TMP/src/data.bin" || {
    echo "bench-mse: $mode download incomplete or wrong" >&2
    tail -n 20 "$TMP/leech.log" >&2
    exit 1
  }
  local gib seed_cpu leech_cpu
  gib=$(echo "scale=6; $BYTES / 1073741824" | bc)
  seed_cpu=$(awk -v g="$gib" '{printf "%.2f", ($1 + $2) / g}' "$TMP/seed.time")
  leech_cpu=$(awk -v g="$gib" '{printf "%.2f", ($1 + $2) / g}' "$TMP/leech.time")
  echo "$(echo "scale=1; $BYTES / ($end - $start) / 1000000" | bc) $seed_cpu $leech_cpu"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: > "$TMP/disable"; : > "$TMP/prefer"; : > "$TMP/require"
for r in $(seq "$REPEAT"); do
  for mode in disable prefer require; do
    read -r mbs seed_cpu leech_cpu < <(run "$mode")
    echo "round $r: $mode $mbs MB/s, CPU s/GiB: seed $seed_cpu, downloader $leech_cpu"
    echo "$mbs $seed_cpu $leech_cpu" >> "$TMP/$mode"
  done
done
col() { awk -v c="$1" '{print $c}' "$2" | median; }
PLAIN=$(col 1 "$TMP/disable")
for mode in disable prefer require; do
  mbs=$(col 1 "$TMP/$mode")
  drop=$(echo "scale=1; 100 * ($PLAIN - $mbs) / $PLAIN" | bc)
  echo "bench-mse: median $mode $mbs MB/s (drop $drop %), CPU s/GiB seed $(col 2 "$TMP/$mode"), downloader $(col 3 "$TMP/$mode")"
done
