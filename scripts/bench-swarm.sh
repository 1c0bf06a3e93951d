#!/usr/bin/env bash
# Benchmark `bitswarm swarm` against the Kumar–Ross lower bound, and how far it scales.
#
# 1. 50 capped leechers (2 MiB/s up each) and one seed (4 MiB/s up) share a 32 MiB file:
#    measured completion time vs T_min (target: at most 1.15 x T_min); once with the
#    clients' default protocol encryption (`prefer`), once with `encryption = "disable"`.
# 2. Scale: 200 and 500 clients (smaller file), wall time and peak RSS (/usr/bin/time -v).
#
# Usage: scripts/bench-swarm.sh [quick|scale]   (quick: only the 50-client runs; scale: only
#        the 200- and 500-client runs)
# Env: BENCH_SWARM_RANKS (default 3), CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
ranks="${BENCH_SWARM_RANKS:-3}"
(cd "$root" && cargo build --release -p bitswarm)
bin="${CARGO_TARGET_DIR:-$root/target}/release/bitswarm"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# run NAME SCENARIO: runs it, prints measured, bound, ratio, wall and peak RSS.
run() {
    local name="$1" toml="$2" dir="$work/$1"
    mkdir -p "$dir"
    printf '%s\nranks = %s\n' "$toml" "$ranks" >"$dir/scenario.toml"
    local rc=0
    /usr/bin/time -v "$bin" swarm "$dir/scenario.toml" --quiet --report "$dir/report.json" \
        2>"$dir/stderr.log" || rc=$?
    local rss
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/stderr.log")
    if [ ! -s "$dir/report.json" ]; then
        echo "$name: no report (exit $rc):"; grep -v '^\s' "$dir/stderr.log" | tail -5; return
    fi
    python3 - "$dir/report.json" "$name" "$rss" "$rc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name, rss, rc = sys.argv[2], int(sys.argv[3] or 0), sys.argv[4]
n = len(r["clients"])
ratio = r["ratio_to_bound"]
waste = r["totals"]["downloaded"] / max(1, sum(c["needed"] for c in r["clients"])) - 1
print("%-22s clients=%-4d measured=%6.2f s  T_min=%6.2f s  ratio=%s  wall=%6.1f s  peak RSS=%5.0f MiB  excess download=%4.1f%%  success=%s (exit %s)" % (
    name, n, r["total_seconds"], r["lower_bound_seconds"],
    "%.3f" % ratio if ratio is not None else "-", r["wall_seconds"], rss / 1024, waste * 100,
    r["success"], rc))
# How much of the capped upload was used until the last downloader completed (seeds and
# downloaders; the bound assumes all of it), and the spread of completion times.
size = sum(f["size"] for f in r["files"])
T = r["total_seconds"]
seeds = [c for c in r["clients"] if "seed" in c["roles"]]
down = [c for c in r["clients"] if c["needed"] > 0]
cap_used = [c["uploaded"] / (c["upload_limit"] * T) for c in down if c["upload_limit"] and T > 0]
done = sorted(c["complete_seconds"] for c in down if c["complete_seconds"] is not None)
if size and done:
    seed_cap = sum(c["upload_limit"] or 0 for c in seeds) * T
    print("    upload use over T: seeds %.0f%%, downloaders mean %.0f%% (min %.0f%%) of cap;  complete first/median/last = %.1f/%.1f/%.1f s" % (
        100 * sum(c["uploaded"] for c in seeds) / max(1, seed_cap),
        100 * sum(cap_used) / max(1, len(cap_used)), 100 * min(cap_used, default=0),
        done[0], done[len(done) // 2], done[-1]))
for f in r["failures"][:3]: print("    " + f)
PY
}

bound='
deadline_secs = 120
size = "32MiB"
seeds = 1
peers = 0
leechers = 50
upload_limit = "2MiB"
seed_upload_limit = "4MiB"
download_limit = "unlimited"'
# With the clients' default encryption (MSE handshakes), and without: the 1275
# Diffie-Hellman exchanges of a full mesh of 51 clients all fall into the first second
# on this machine's cores, where a real swarm spreads them over 51 machines.
[ "${1:-}" = scale ] || run bound-50x2MiB-32MiB "$bound"
[ "${1:-}" = scale ] || run bound-50-plaintext "$bound
encryption = \"disable\""

[ "${1:-}" = quick ] && exit 0

run scale-200-8MiB '
deadline_secs = 300
size = "8MiB"
seeds = 2
peers = 20
leechers = 178
upload_limit = "1MiB"
seed_upload_limit = "4MiB"
max_peers = 30'

run scale-500-4MiB '
deadline_secs = 600
size = "4MiB"
seeds = 4
peers = 46
leechers = 450
upload_limit = "512K"
seed_upload_limit = "4MiB"
max_peers = 30'
