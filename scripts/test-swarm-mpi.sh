#!/usr/bin/env bash
# Run `bitswarm swarm` under MPI: rank 0 runs the tracker and gathers the report, ranks
# 1..N-1 run the clients (all on this machine, peer data over loopback TCP). Checks the
# JSON report of a small swarm, of a swarm with a corrupting client, and that a missed
# deadline fails the job with the client's name.
#
# Needs: libopenmpi-dev openmpi-bin libclang-dev (Debian), python3.
# Usage: scripts/test-swarm-mpi.sh        (SWARM_MPI_NP=3 by default)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
np="${SWARM_MPI_NP:-3}"
timeout_s="${SWARM_MPI_TIMEOUT:-180}"
command -v mpirun >/dev/null || { echo "mpirun not found (apt-get install openmpi-bin libopenmpi-dev libclang-dev)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/mpi}"
(cd "$root" && cargo build --release -p bitswarm --features mpi)
bin="$CARGO_TARGET_DIR/release/bitswarm"

mpi_flags=(--oversubscribe)
[ "$(id -u)" = 0 ] && mpi_flags+=(--allow-run-as-root)

passed=0 failed=0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# check_report FILE NP EXPECT_CORRUPT: the report is a successful MPI run over NP ranks.
check_report() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, np, corrupt = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
r = json.load(open(path))
problems = []
if not r["success"]: problems.append("success is false: %s" % r["failures"])
if r["backend"] != "mpi": problems.append("backend %r" % r["backend"])
if r["ranks"] != np: problems.append("ranks %r" % r["ranks"])
ranks = {c["rank"] for c in r["clients"]}
if ranks != set(range(1, np)): problems.append("clients ran on ranks %s" % sorted(ranks))
for c in r["clients"]:
    if c["corrupt"]: continue
    if not (c["completed"] and c["verified"]): problems.append("%s: completed=%s verified=%s" % (c["name"], c["completed"], c["verified"]))
    if "leech" in c["roles"] and c["downloaded"] < c["needed"]: problems.append("%s downloaded too little" % c["name"])
down, up = r["totals"]["downloaded"], r["totals"]["uploaded"]
if down > 1.01 * up: problems.append("downloaded %d > uploaded %d" % (down, up))
if not (r["total_seconds"] > 0 and r["lower_bound_seconds"] > 0): problems.append("no time or bound")
if corrupt:
    liar = [c for c in r["clients"] if c["corrupt"]]
    if not liar or liar[0]["suspected_by"] == 0: problems.append("the corrupt client was not blamed")
    if r["totals"]["banned"] == 0: problems.append("nobody was banned")
for p in problems: print("  " + p)
sys.exit(1 if problems else 0)
PY
}

# attempt NAME SCENARIO_TOML EXPECT_CORRUPT: one mpirun of the scenario; 0 if it passed.
attempt() {
    local name="$1" toml="$2" corrupt="$3" dir="$work/$1" ok=1
    rm -rf "$dir"; mkdir -p "$dir"
    printf '%s\n' "$toml" >"$dir/scenario.toml"
    local start end
    start=$(date +%s.%N)
    if ! timeout "$timeout_s" mpirun "${mpi_flags[@]}" -np "$np" "$bin" swarm "$dir/scenario.toml" \
        --report "$dir/report.json" >"$dir/stdout.log" 2>"$dir/stderr.log"; then
        echo "$name: mpirun failed:"; sed 's/^/  /' "$dir/stderr.log" | tail -20; ok=0
    fi
    end=$(date +%s.%N)
    if [ $ok = 1 ] && ! check_report "$dir/report.json" "$np" "$corrupt"; then ok=0; fi
    printf '%s: np=%d wall %.1f s %s\n' "$name" "$np" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" "$([ $ok = 1 ] && echo ok || echo FAILED)"
    [ $ok = 1 ]
}

# run NAME SCENARIO_TOML EXPECT_CORRUPT: a failed attempt is tried once more and, if that
# passes, reported as FLAKY (loopback swarms on a loaded machine; the retry keeps a rare
# failure visible without failing CI on it).
run() {
    if attempt "$@"; then
        passed=$((passed + 1))
    elif echo "$1: retrying once" && attempt "$@"; then
        echo "FLAKY: $1 failed once and passed on retry"
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
}

run small-swarm '
seed = 7
deadline_secs = 60
size = "3MiB"
seeds = 1
peers = 3
leechers = 6
hold_fraction = 0.4
upload_limit = "4MiB"
seed_upload_limit = "4MiB"' 0

run two-files-mixed-roles '
seed = 11
deadline_secs = 30
files = 2
size = "2MiB"
seeds = 1
peers = 2
leechers = 4
upload_limit = "4MiB"
[[client]]
name = "mixed"
count = 2
roles = ["seed", "leech"]' 0

run corrupting-client '
seed = 3
deadline_secs = 90
size = "2MiB"
piece_length = "32KiB"
seeds = 1
peers = 0
leechers = 5
upload_limit = "2MiB"
seed_upload_limit = "1MiB"
[[client]]
name = "liar"
roles = ["seed"]
upload_limit = "unlimited"
corrupt = true' 1

# A missed deadline: the job fails and rank 0 names a late client.
name="missed-deadline"
dir="$work/$name"; mkdir -p "$dir"; ok=1
printf 'deadline_secs = 2\nsize = "4MiB"\nseeds = 1\npeers = 0\nleechers = 2\nupload_limit = "128K"\nseed_upload_limit = "128K"\n' >"$dir/scenario.toml"
if timeout "$timeout_s" mpirun "${mpi_flags[@]}" -np "$np" "$bin" swarm "$dir/scenario.toml" --quiet \
    >"$dir/stdout.log" 2>"$dir/stderr.log"; then
    echo "$name: mpirun succeeded although the deadline was missed"; ok=0
fi
grep -q 'bitswarm: error: swarm failed: client leech-' "$dir/stderr.log" \
    || { echo "$name: no 'client leech-' error line:"; sed 's/^/  /' "$dir/stderr.log" | tail -5; ok=0; }
echo "$name: np=$np $([ $ok = 1 ] && echo ok || echo FAILED)"
if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
