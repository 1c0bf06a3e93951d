#!/usr/bin/env bash
# Tracker benchmark: announces per second over UDP and HTTP, bitswarm against opentracker,
# both on loopback, in the same run, with the same load generator
# (crates/tracker/examples/loadgen.rs) and, for HTTP, also wrk (if installed) with a Lua
# script that varies info_hash and peer_id. Bounded: each measurement lasts $SECS seconds
# (default 5) and is repeated $RUNS times (default 3, runs interleaved between the two
# servers); everything started here is stopped on exit.
#
# Two figures per measurement: announces per second, and the server's CPU time per
# announce (user + system, from /proc/PID/stat). The load generator shares the cores with
# the server (and, on a shared machine, with everything else), so the rate moves with the
# machine's load; CPU per announce is the steadier figure. The summary gives medians.
#
# Usage: scripts/bench-tracker.sh            (env: SECS=5 RUNS=3 CONCURRENCY=64 HASHES=1000)
# Needs: opentracker (Debian package), optionally wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${SECS:-5}"
RUNS="${RUNS:-3}"
CONC="${CONCURRENCY:-64}"
HASHES="${HASHES:-1000}"

command -v opentracker >/dev/null || { echo "opentracker missing: apt-get install -y opentracker" >&2; exit 2; }

# Two commands: with `--example`, cargo builds only examples, even of `-p bitswarm`.
cargo build --release -q -p bitswarm --bin bitswarm
cargo build --release -q -p bitswarm-tracker --example loadgen

work="$(mktemp -d)"
# Private copies: another build in the same target directory must not swap the binaries
# in the middle of a run.
cp target/release/bitswarm target/release/examples/loadgen "$work/"
BIN="$work/bitswarm"
LG="$work/loadgen"
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
BS_PID=$!
# Debian's opentracker only serves whitelisted hashes and chroots into -d.
opentracker -i 127.0.0.1 -p "$OT_PORT" -P "$OT_PORT" -d "$work" -w /whitelist.txt -A 127.0.0.1 > "$work/opentracker.log" 2>&1 &
pids+=($!)
OT_PID=$!
sleep 1
if grep -q "Can't open accesslist" "$work/opentracker.log"; then
  echo "opentracker cannot read its whitelist:" >&2; cat "$work/opentracker.log" >&2; exit 1
fi

echo "== machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); ${SECS}s per run, $RUNS runs, concurrency $CONC, $HASHES info-hashes"
declare -A rates cpus
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TCK="$(getconf CLK_TCK)"
record() { # name pid ticks_before announces rate
  local c1; c1="$(cpu_ticks "$2")"
  local us; us="$(awk -v d="$((c1 - $3))" -v t="$TCK" -v n="$4" 'BEGIN { if (n > 0) printf "%.1f", d / t * 1e6 / n; else print 0 }')"
  rates["$1"]+="$5 "; cpus["$1"]+="$us "
  echo "$1: $5 announces/s, server CPU ${us} us/announce, load $(cut -d' ' -f1 /proc/loadavg)"
}
run_loadgen() { # name pid proto port [extra]
  local out c0 n r
  c0="$(cpu_ticks "$2")"
  out="$("$LG" "$3" "127.0.0.1:$4" --seconds "$SECS" --concurrency "$CONC" --hashes "$HASHES" ${5:-})"
  n="$(sed -n 's/.*announces=\([0-9]*\).*/\1/p' <<<"$out")"
  r="$(sed -n 's/.*announces_per_sec=\([0-9]*\).*/\1/p' <<<"$out")"
  record "$1" "$2" "$c0" "$n" "$r"
}

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
fi
run_wrk() { # name pid port close
  local out c0 r n
  c0="$(cpu_ticks "$2")"
  out="$(WHITELIST="$work/whitelist.txt" CLOSE="$4" wrk -t2 -c50 -d"${SECS}s" -s "$work/announce.lua" "http://127.0.0.1:$3/announce" 2>&1)"
  r="$(sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p' <<<"$out")"
  n="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")"
  record "$1" "$2" "$c0" "${n:-0}" "${r:-0}"
}

UDP_BS="bitswarm    udp"; UDP_OT="opentracker udp"
NEW_BS="bitswarm    http, new connection per announce"; NEW_OT="opentracker http, new connection per announce"
KA_BS="bitswarm    http keep-alive"; KA_OT="opentracker http keep-alive requested (it closes anyway)"
WKA_BS="wrk bitswarm    keep-alive"; WKA_OT="wrk opentracker keep-alive requested (it closes)"
WCL_BS="wrk bitswarm    Connection: close"; WCL_OT="wrk opentracker Connection: close"
for run in $(seq "$RUNS"); do
  echo "-- run $run"
  run_loadgen "$UDP_BS" "$BS_PID" udp "$BS_PORT"
  run_loadgen "$UDP_OT" "$OT_PID" udp "$OT_PORT"
  run_loadgen "$NEW_BS" "$BS_PID" http "$BS_PORT"
  run_loadgen "$NEW_OT" "$OT_PID" http "$OT_PORT"
  run_loadgen "$KA_BS" "$BS_PID" http "$BS_PORT" --keep-alive
  run_loadgen "$KA_OT" "$OT_PID" http "$OT_PORT" --keep-alive
  if command -v wrk >/dev/null; then
    run_wrk "$WKA_BS" "$BS_PID" "$BS_PORT" 0
    run_wrk "$WKA_OT" "$OT_PID" "$OT_PORT" 0
    run_wrk "$WCL_BS" "$BS_PID" "$BS_PORT" 1
    run_wrk "$WCL_OT" "$OT_PID" "$OT_PORT" 1
  fi
done
command -v wrk >/dev/null || echo "(wrk not installed: apt-get install -y wrk for the wrk runs)"

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
row() { # label bitswarm-name opentracker-name
  local rb ro cb co
  rb="$(median "${rates[$2]:-}")"; ro="$(median "${rates[$3]:-}")"
  cb="$(median "${cpus[$2]:-}")"; co="$(median "${cpus[$3]:-}")"
  awk -v l="$1" -v rb="$rb" -v ro="$ro" -v cb="$cb" -v co="$co" 'BEGIN {
    printf "| %-32s | %9.0f | %9.0f | %5.2fx | %7.1f | %7.1f | %5.2fx |\n", l, rb, ro, (ro > 0 ? rb / ro : 0), cb, co, (cb > 0 ? co / cb : 0) }'
}
echo "== medians of $RUNS runs (load now: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "| measurement                      | bitswarm/s | opentr./s | ratio | bs us/a | ot us/a | ratio |"
row "udp (loadgen)" "$UDP_BS" "$UDP_OT"
row "http new connection (loadgen)" "$NEW_BS" "$NEW_OT"
row "http keep-alive (loadgen)" "$KA_BS" "$KA_OT"
if command -v wrk >/dev/null; then
  row "wrk keep-alive requested" "$WKA_BS" "$WKA_OT"
  row "wrk Connection: close" "$WCL_BS" "$WCL_OT"
fi
echo "(rate ratio: bitswarm / opentracker, higher is better; CPU ratio: opentracker / bitswarm"
echo " CPU per announce, higher is better. opentracker closes every connection, so its"
echo " keep-alive rows are connection-per-announce too.)"
echo "== bitswarm /stats after the run"
curl -s "http://127.0.0.1:$BS_PORT/stats" 2>/dev/null | head -20 || true
