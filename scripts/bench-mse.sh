#!/usr/bin/env bash
# Cost of protocol encryption on loopback: bitswarm seed -> bitswarm download of SIZE_MIB
# (1 MiB pieces) in three modes, both sides alike: --encryption disable (plaintext),
# prefer (the default: MSE handshake, plaintext payload chosen when both offer it) and
# require (MSE + RC4 on every byte both ways). Rounds alternate the modes; prints each run
# and the median MB/s (10^6 bytes/s over the downloader's wall time, start to exit), the
# drop against plaintext, and the CPU seconds per GiB each side spent (user + sys, which
# the load of other programs on the machine barely changes, unlike wall time). With
# python3-libtorrent, libtorrent -> libtorrent plaintext and forced RC4 runs alongside.
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

# Below the ephemeral range (32768-60999 here), where an outgoing connection could hold it.
PORT=$((20000 + RANDOM % 10000))

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
  seed_cpu=$(cpu_per_gib "$TMP/seed.time")
  leech_cpu=$(cpu_per_gib "$TMP/leech.time")
  echo "$(echo "scale=1; $BYTES / ($end - $start) / 1000000" | bc) $seed_cpu $leech_cpu"
}

# CPU seconds (user + sys) per GiB from a /usr/bin/time -f "%U %S" file (its last line:
# a signalled process gets a "Command terminated" line first).
cpu_per_gib() {
  tail -n 1 "$1" | awk -v b="$BYTES" '{printf "%.2f", ($1 + $2) * 1073741824 / b}'
}

# libtorrent seed -> libtorrent download, plaintext (lt-plain) or forced RC4 (lt-rc4), for
# comparison; MB/s over the time libtorrent reports for the download (from its session
# start, so Python's start-up is not counted against it).
LT="$PWD/crates/cli/tests/support/lt_peer.py"
PY=/usr/bin/python3
run_lt() {
  local mode=$1 sport=$((PORT)) dport=$((PORT + 1)) out="$TMP/out" secs
  local -a enc=(--plaintext)
  [ "$mode" = lt-rc4 ] && enc=(--encryption forced --enc-level rc4)
  PORT=$((PORT + 2))
  rm -rf "$out"; mkdir -p "$out"
  /usr/bin/time -f "%U %S" -o "$TMP/seed.time" \
    $PY "$LT" --torrent "$TMP/data.torrent" --save "$TMP/src" --port "$sport" --seed \
    --timeout 600 "${enc[@]}" >"$TMP/seed.log" 2>&1 &
  SEED_PID=$!
  sleep 1
  /usr/bin/time -f "%U %S" -o "$TMP/leech.time" \
    $PY "$LT" --torrent "$TMP/data.torrent" --save "$out" --port "$dport" \
    --connect "127.0.0.1:$sport" --timeout 600 "${enc[@]}" >"$TMP/leech.log" 2>&1 || true
  pkill -INT -P "$SEED_PID" 2>/dev/null || true
  sleep 0.5
  pkill -P "$SEED_PID" 2>/dev/null || true
  wait "$SEED_PID" 2>/dev/null || true
  SEED_PID=""
  secs=$(awk '/^complete/ {print $2}' "$TMP/leech.log")
  if [ -z "$secs" ] || ! cmp -s "$out/data.bin" "$TMP/src/data.bin"; then
    echo "bench-mse: $mode download incomplete or wrong" >&2
    tail -n 20 "$TMP/leech.log" >&2
    exit 1
  fi
  echo "$(echo "scale=1; $BYTES / $secs / 1000000" | bc) $(cpu_per_gib "$TMP/seed.time") $(cpu_per_gib "$TMP/leech.time")"
}
MODES="disable prefer require"
if $PY -c "import libtorrent" 2>/dev/null; then
  MODES="$MODES lt-plain lt-rc4"
else
  echo "bench-mse: python3-libtorrent is missing: libtorrent's own figures are skipped"
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: > "$TMP/disable"; : > "$TMP/prefer"; : > "$TMP/require"; : > "$TMP/lt-plain"; : > "$TMP/lt-rc4"
for r in $(seq "$REPEAT"); do
  for mode in $MODES; do
    case $mode in
      lt-*) read -r mbs seed_cpu leech_cpu < <(run_lt "$mode") ;;
      *) read -r mbs seed_cpu leech_cpu < <(run "$mode") ;;
    esac
    echo "round $r: $mode $mbs MB/s, CPU s/GiB: seed $seed_cpu, downloader $leech_cpu"
    echo "$mbs $seed_cpu $leech_cpu" >> "$TMP/$mode"
  done
done
col() { awk -v c="$1" '{print $c}' "$2" | median; }
for mode in $MODES; do
  case $mode in lt-*) PLAIN=$(col 1 "$TMP/lt-plain") ;; *) PLAIN=$(col 1 "$TMP/disable") ;; esac
  mbs=$(col 1 "$TMP/$mode")
  drop=$(echo "scale=1; 100 * ($PLAIN - $mbs) / $PLAIN" | bc)
  echo "bench-mse: median $mode $mbs MB/s (drop $drop %), CPU s/GiB seed $(col 2 "$TMP/$mode"), downloader $(col 3 "$TMP/$mode")"
done
