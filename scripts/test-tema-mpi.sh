#!/usr/bin/env bash
# Run the course's official tests under MPI, exactly as the course checker does:
# copy each test to a temp dir, symlink the binary as ./tema2, run
# `mpirun --oversubscribe -np N ./tema2` (N = clients + 1), compare each
# client<R>_file<k> with out<k>.txt using `diff -w`.
#
# Needs: libopenmpi-dev openmpi-bin libclang-dev (Debian).
# Usage: scripts/test-tema-mpi.sh [TESTS_DIR]   (default: ../shared/tema-tests)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tests="${1:-$root/../shared/tema-tests}"
timeout_s="${TEMA_TIMEOUT:-60}"
[ -d "$tests/test1" ] || { echo "official tests not found in $tests" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpirun not found (apt-get install openmpi-bin libopenmpi-dev libclang-dev)" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/mpi}"
(cd "$root" && cargo build --release -p bitswarm --features mpi)
bin="$CARGO_TARGET_DIR/release/bitswarm"

mpi_flags=(--oversubscribe)
[ "$(id -u)" = 0 ] && mpi_flags+=(--allow-run-as-root)

passed=0 failed=0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for t in "$tests"/test*/; do
    name="$(basename "$t")"
    dir="$work/$name"
    cp -r "$t" "$dir"
    ln -s "$bin" "$dir/tema2"
    clients=$(ls "$dir" | grep -cE '^in[0-9]+\.txt$')
    n=$((clients + 1))
    start=$(date +%s.%N)
    ok=1
    if ! (cd "$dir" && timeout "$timeout_s" mpirun "${mpi_flags[@]}" -np "$n" ./tema2 >"$dir/stdout.log" 2>"$dir/stderr.log"); then
        echo "$name: mpirun failed:"; sed 's/^/  /' "$dir/stderr.log" | tail -20
        ok=0
    fi
    end=$(date +%s.%N)
    for out in "$dir"/out*.txt; do
        k="$(basename "$out" .txt)"; k="${k#out}"
        for got in "$dir"/client*_file"$k"; do
            [ -e "$got" ] || continue
            if ! diff -w -q "$got" "$out" >/dev/null; then
                echo "$name: $(basename "$got") differs from out$k.txt"; ok=0
            fi
        done
    done
    # Every wanted file must have been produced.
    for in in "$dir"/in*.txt; do
        r="$(basename "$in" .txt)"; r="${r#in}"
        while read -r f; do
            [ -e "$dir/client${r}_$f" ] || { echo "$name: client${r}_$f missing"; ok=0; }
        done < <(awk 'NF{l[++n]=$0} END{i=1; o=l[1]; i=2; for(k=0;k<o;k++){split(l[i],a," "); i+=1+a[2]} w=l[i]; for(k=1;k<=w;k++) print l[i+k]}' "$in")
    done
    printf '%s: N=%d wall %.3f s %s\n' "$name" "$n" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" "$([ $ok = 1 ] && echo ok || echo FAILED)"
    if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
# Bad input under MPI: the whole job stops with the in-file's line and a non-zero exit,
# and no client writes anything.
name="bad-input"
dir="$work/$name"
cp -r "$tests/test1" "$dir"
ln -s "$bin" "$dir/tema2"
sed -i '3s/.*/not-a-hash/' "$dir/in2.txt"
n=$(( $(ls "$dir" | grep -cE '^in[0-9]+\.txt$') + 1 ))
ok=1
if (cd "$dir" && timeout "$timeout_s" mpirun "${mpi_flags[@]}" -np "$n" ./tema2 >"$dir/stdout.log" 2>"$dir/stderr.log"); then
    echo "$name: mpirun succeeded on a malformed in2.txt"; ok=0
fi
grep -q '^bitswarm: error: in2.txt:3: ' "$dir/stderr.log" || { echo "$name: no 'in2.txt:3:' error line:"; sed 's/^/  /' "$dir/stderr.log" | tail -5; ok=0; }
if ls "$dir" | grep -q '^client'; then echo "$name: client outputs were written"; ok=0; fi
echo "$name: N=$n $([ $ok = 1 ] && echo ok || echo FAILED)"
if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
