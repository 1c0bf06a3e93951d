#!/usr/bin/env bash
# Tracker benchmark: announces per second over UDP and HTTP, bitswarm against opentracker,
# both on loopback, in the same run, with the same load generator
# (crates/tracker/examples/loadgen.rs) and, for HTTP, also wrk (if installed) with a Lua
# script that varies info_hash and peer_id. Bounded: each measurement lasts $SECS seconds
# (default 5); everything started here is stopped on exit.
#
# Usage: scripts/bench-tracker.sh            (env: SECS=5 CONCURRENCY=64 HASHES=1000)
# Needs: opentracker (Debian package), optionally wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${SECS:-5}"
CONC="${CONCURRENCY:-64}"
HASHES="${HASHES:-1000}"

command -v opentracker >/dev/null || { echo "opentracker missing: apt-get install -y opentracker" >&2; exit 2; }

cargo build --release -q -p bitswarm -p bitswarm-tracker --example loadgen
BIN=target/release/bitswarm
LG=target/release/examples/loadgen

work="$(mktemp -d)"
# opentracker chroots into $work and drops privileges: the whitelist must be world-readable
# (with mktemp's mode 700 it silently refuses every hash).
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket
t=socket.socket(); t.bind(("127.0.0.1",0)); p=t.getsockname()[1]
u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1",p)); print(p)'
}

BS_PORT="$(free_port)"
OT_PORT="$(free_port)"
"$LG" hashes "$HASHES" > "$work/whitelist.txt"

"$BIN" tracker --http "127.0.0.1:$BS_PORT" --udp "127.0.0.1:$BS_PORT" > "$work/bitswarm.log" 2>&1 &
pids+=($!)
# Debian's opentracker only serves whitelisted hashes and chroots into -d.
opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$work" -w /whitelist.txt -A 127.0.0.1 > "$work/opentracker.log" 2>&1 &
pids+=($!)
sleep 1
if grep -q "Can't open accesslist" "$work/opentracker.log"; then
  echo "opentracker cannot read its whitelist:" >&2; cat "$work/opentracker.log" >&2; exit 1
fi

echo "== machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); ${SECS}s per run, concurrency $CONC, $HASHES info-hashes"
declare -A rate
run_loadgen() { # name proto port [extra]
  local out
  out="$("$LG" "$2" "127.0.0.1:$3" --seconds "$SECS" --concurrency "$CONC" --hashes "$HASHES" ${4:-})"
  echo "$1: $out"
  rate["$1"]="$(sed -n 's/.*announces_per_sec=\([0-9]*\).*/\1/p' <<<"$out")"
}

run_loadgen "bitswarm    udp" udp "$BS_PORT"
run_loadgen "opentracker udp" udp "$OT_PORT"
run_loadgen "bitswarm    http (new connection per announce)" http "$BS_PORT"
run_loadgen "opentracker http (new connection per announce)" http "$OT_PORT"
run_loadgen "bitswarm    http (keep-alive)" http "$BS_PORT" --keep-alive
run_loadgen "opentracker http (keep-alive requested; it closes anyway)" http "$OT_PORT" --keep-alive

if command -v wrk >/dev/null; then
  cat > "$work/announce.lua" <<'LUA'
local hashes = {}
for line in io.lines(os.getenv("WHITELIST")) do
  hashes[#hashes + 1] = line:gsub("..", function(h) return "%" .. h end)
end
local n = 0
local close = os.getenv("CLOSE") == "1"
request = function()
  n = n + 1
  local pid = string.format("-WK0001-%06d%06d", math.random(0, 999999), math.random(0, 999999))
  local left = (n % 4 == 0) and 0 or 1000
  local path = "/announce?info_hash=" .. hashes[(n % #hashes) + 1] .. "&peer_id=" .. pid ..
    "&port=" .. (1024 + n % 60000) .. "&uploaded=0&downloaded=0&left=" .. left .. "&compact=1&numwant=50"
  if close then
    return wrk.format("GET", path, { ["Connection"] = "close" })
  end
  return wrk.format("GET", path)
end
LUA
  run_wrk() { # name port close
    local out
    out="$(WHITELIST="$work/whitelist.txt" CLOSE="$3" wrk -t2 -c50 -d"${SECS}s" -s "$work/announce.lua" "http://127.0.0.1:$2/announce" 2>&1)"
    echo "$1: $(grep -E 'Requests/sec|Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | tr '\n' ';')"
    rate["$1"]="$(sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p' <<<"$out")"
  }
  run_wrk "wrk bitswarm    keep-alive" "$BS_PORT" 0
  run_wrk "wrk opentracker keep-alive (it closes after each reply)" "$OT_PORT" 0
  run_wrk "wrk bitswarm    Connection: close" "$BS_PORT" 1
  run_wrk "wrk opentracker Connection: close" "$OT_PORT" 1
else
  echo "(wrk not installed: apt-get install -y wrk for the wrk runs)"
fi

ratio() { awk -v a="${rate[$1]:-0}" -v b="${rate[$2]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
echo "== bitswarm / opentracker"
echo "udp:                              $(ratio 'bitswarm    udp' 'opentracker udp')"
echo "http, new connection each:        $(ratio 'bitswarm    http (new connection per announce)' 'opentracker http (new connection per announce)')"
echo "http, bitswarm keep-alive vs ot:  $(ratio 'bitswarm    http (keep-alive)' 'opentracker http (keep-alive requested; it closes anyway)')"
if command -v wrk >/dev/null; then
  echo "wrk, keep-alive requested:        $(ratio 'wrk bitswarm    keep-alive' 'wrk opentracker keep-alive (it closes after each reply)')"
  echo "wrk, Connection: close:           $(ratio 'wrk bitswarm    Connection: close' 'wrk opentracker Connection: close')"
fi
echo "== bitswarm /stats after the run"
curl -s "http://127.0.0.1:$BS_PORT/stats" 2>/dev/null | head -20 || true
