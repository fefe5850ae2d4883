#!/usr/bin/env bash
# make aot-test: runs every test of guests/manifest.txt with aot-run (tzwasm's aot-loader) on
# the corpus files of each variant and compares stdout, stderr, the full exit code and the trap
# message with what WAMR's iwasm recorded (build/corpus/expected/<variant>/<test>/, written by
# tools/wamr/corpus-expected.sh). x86_64 files run natively, aarch64 files under qemu-aarch64.
#
# Usage: tools/aot-run/aot-test.sh <aot-run x86_64> <aot-run aarch64 (static)> [variants...]
#   variants default to every recorded variant with a corpus directory, except iwasm's
#   software-only runs (*-swbc): x86_64-bc0 x86_64-bc1 aarch64-bc0 aarch64-bc1 aarch64-large
#   AOT_TEST_JOBS (default 2), AOT_TEST_TIMEOUT (seconds per run, default 120),
#   AOT_TEST_FILTER (a grep -E pattern on test names).
# Prints one FAIL line per failing run (with the files that differ), then "N passed, M failed";
# exits 1 if anything failed. The outputs are kept in build/aot-test/<variant>/<test>/.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$top/build/corpus
expected=$corpus/expected
manifest=$top/guests/manifest.txt
out=$top/build/aot-test
[ -d "$expected" ] || { echo "aot-test: no $expected (make corpus-expected)" >&2; exit 1; }
run_x86=${1:?aot-run for x86_64}
run_a64=${2:?aot-run for aarch64}
shift 2
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
    for d in "$expected"/*/; do
        v=$(basename "$d")
        case $v in *-swbc) continue ;; esac
        [ -d "$corpus/$v" ] && variants+=("$v")
    done
fi
jobs=${AOT_TEST_JOBS:-2}
timeout_s=${AOT_TEST_TIMEOUT:-120}
filter=${AOT_TEST_FILTER:-.}


decode() { local s=${1//%20/ }; printf '%s' "${s//%25/%}"; }

# run_one <variant> <test> <module> <entry> <args> <env>: prints "PASS v/t" or "FAIL v/t: why"
run_one() {
    local v=$1 test=$2 module=$3 entry=$4 args=$5 env=$6
    local d=$out/$v/$test e=$expected/$v/$test w rc=0
    local -a cmd
    case $v in
        x86_64*) cmd=("$run_x86") ;;
        aarch64*) cmd=(qemu-aarch64 "$run_a64") ;;
    esac
    cmd+=(--quiet-trap "--trap-out=$d/trap" "--exit-out=$d/exit")
    rm -rf "$d" && mkdir -p "$d"
    if [ ! -d "$e" ]; then echo "FAIL $v/$test: no expected outputs"; return 0; fi
    for w in $env; do cmd+=("--env=$(decode "$w")"); done
    [ "$entry" = main ] || cmd+=(-f "${entry#func:}")
    cmd+=("$module.aot")
    for w in $args; do cmd+=("$(decode "$w")"); done
    (cd "$corpus/$v" && timeout "$timeout_s" "${cmd[@]}" < /dev/null > "$d/stdout" 2> "$d/stderr") || rc=$?
    [ -s "$d/exit" ] || echo "status $rc" > "$d/exit"
    # Load/instantiate errors are prefixed with the tool's name.
    sed -i 's/^aot-run: /iwasm: /' "$d/stderr"
    local diffs=() f
    for f in stdout stderr exit trap; do
        if [ -e "$e/$f" ] || [ -e "$d/$f" ]; then
            cmp -s "$e/$f" "$d/$f" 2>/dev/null || diffs+=("$f")
        fi
    done
    if [ ${#diffs[@]} -eq 0 ]; then
        echo "PASS $v/$test"
    else
        local detail=""
        [[ " ${diffs[*]} " == *" trap "* ]] && detail=" (trap: expected '$(cat "$e/trap" 2>/dev/null)', got '$(cat "$d/trap" 2>/dev/null)')"
        [[ " ${diffs[*]} " == *" exit "* ]] && detail+=" (exit: expected $(cat "$e/exit" 2>/dev/null), got $(cat "$d/exit"))"
        echo "FAIL $v/$test: ${diffs[*]} differ$detail"
    fi
}
export -f run_one decode
export out expected corpus run_x86 run_a64 timeout_s

mkdir -p "$out"
results=$(
    while IFS='|' read -r test module entry args env; do
        case "$test" in ''|'#'*) continue ;; esac
        echo "$test" | grep -Eq -- "$filter" || continue
        for v in "${variants[@]}"; do
            printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "$v" "$test" "$module" "$entry" "$args" "$env"
        done
    done < "$manifest" |
    xargs -d '\n' -P "$jobs" -n 1 bash -c 'IFS=$'"'"'\x1f'"'"' read -r a b c d e f <<<"$0"; run_one "$a" "$b" "$c" "$d" "$e" "$f"'
)
grep '^FAIL' <<<"$results" | sort
pass=$(grep -c '^PASS' <<<"$results")
fail=$(grep -c '^FAIL' <<<"$results")
for v in "${variants[@]}"; do
    echo "  $v: $(grep -c "^PASS $v/" <<<"$results") passed, $(grep -c "^FAIL $v/" <<<"$results") failed"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
