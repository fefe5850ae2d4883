#!/usr/bin/env bash
# Records WAMR iwasm's results for every test in guests/files/manifest.txt (the file corpus of
# issue 13) as the expected outputs the tzwasm side is compared against:
#   build/files/expected/aarch64-bc0/<test>/{stdout,stderr,exit,tree,cmd}   (HW-bounds iwasm)
#   build/files/expected/aarch64-bc1/<test>/...                             (HW-bounds iwasm)
#   build/files/expected/aarch64-bc1-swbc/<test>/...                        (software-only iwasm)
#   build/files/expected/DISAGREEMENTS.txt        bc0 vs bc1, HW vs software-only
# Each run gets a fresh run directory (tools/wamr/files-lib.sh: the module, outside.txt and
# the granted directories copied from guests/files/seed/), iwasm runs with that directory as
# its cwd, stdin /dev/null, stdout and stderr regular files. Afterwards:
#   stdout, stderr  the guest's output
#   exit            the full WASI exit code (or "status N" if iwasm died before writing it)
#   tree            files_tree of the run directory (paths, types, sizes, sha256, link targets)
#   cmd             the iwasm arguments used (directory flags, module, args)
# Usage: tools/wamr/files-expected.sh [jobs]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
files=$top/build/files
wamr=$top/build/wamr
manifest=$top/guests/files/manifest.txt
out=$files/expected
runs=${FILES_RUN_DIR:-$files/run}   # where the run directories are made (any filesystem)
jobs=${1:-2}
timeout_s=${FILES_TIMEOUT:-300}
export files_top=$top

decode() { local s=${1//%20/ }; printf '%s' "${s//%25/%}"; }

# run_one <variant> <iwasm> <test> <module> <args> <dirs>
run_one() {
    local variant=$1 iwasm=$2 test=$3 module=$4 args=$5 dirs=$6
    local d=$out/$variant/$test run=$runs/$variant/$test aot_dir=${variant%-swbc} w rc=0
    local -a cmd=("--exit-out=$d/exit") flags
    source "$top/tools/wamr/files-lib.sh"
    rm -rf "$d" && mkdir -p "$d"
    mapfile -t flags < <(files_setup "$run" "$files/$aot_dir/$module.aot" "$dirs")
    cmd+=("${flags[@]}" "$module.aot")
    for w in $args; do cmd+=("$(decode "$w")"); done
    printf '%s\n' "${cmd[@]:1}" > "$d/cmd"
    (cd "$run" && timeout "$timeout_s" "$iwasm" "${cmd[@]}" < /dev/null > "$d/stdout" 2> "$d/stderr") || rc=$?
    [ -s "$d/exit" ] || echo "status $rc" > "$d/exit"
    [ "$rc" = 124 ] && echo "TIMEOUT $variant/$test" >&2
    files_tree "$run" "$module.aot" > "$d/tree"
    rm -rf "$run"
    return 0
}
export -f run_one decode
export out runs files top timeout_s

for v in aarch64 aarch64-swbc; do
    [ -x "$wamr/iwasm-$v" ] || { echo "files-expected: $wamr/iwasm-$v missing (make iwasm)" >&2; exit 1; }
done

rm -rf "$out" "$runs" && mkdir -p "$out" "$runs"
declare -A seen=()
want_exit=()
while IFS='|' read -r test module args dirs want; do
    case "$test" in ''|'#'*) continue ;; esac
    want_exit+=("$test=${want:-0}")
    [ -z "${seen[$test]:-}" ] || { echo "files-expected: duplicate test $test" >&2; exit 1; }
    seen[$test]=1
    for bc in 0 1; do
        [ -f "$files/aarch64-bc$bc/$module.aot" ] || { echo "files-expected: no aarch64-bc$bc/$module.aot (make files-corpus)" >&2; exit 1; }
        printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "aarch64-bc$bc" "$wamr/iwasm-aarch64" "$test" "$module" "$args" "$dirs"
    done
    printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' aarch64-bc1-swbc "$wamr/iwasm-aarch64-swbc" "$test" "$module" "$args" "$dirs"
done < "$manifest" > "$out/jobs.txt"

xargs -d '\n' -P "$jobs" -n 1 bash -c 'IFS=$'"'"'\x1f'"'"' read -r a b c d e f <<<"$0"; run_one "$a" "$b" "$c" "$d" "$e" "$f"' < "$out/jobs.txt"
rm -f "$out/jobs.txt"

# The driver's directory flags themselves: what iwasm refuses (exit 2, nothing run).
flagcheck() { # <name> <expected stderr substring> <iwasm args...>
    local name=$1 want=$2 rc=0 err; shift 2
    err=$(cd "$runs" && "$wamr/iwasm-aarch64" "$@" 2>&1 >/dev/null < /dev/null) || rc=$?
    if [ "$rc" = 2 ] && [[ "$err" == *"$want"* ]]; then echo "[PASS] iwasm flags: $name (exit 2)"
    else echo "[FAIL] iwasm flags: $name: exit $rc, stderr: $err"; flagfail=1; fi
}
flagfail=0
aot=$files/aarch64-bc1/files-c-counter.aot
mkdir -p "$runs/d"
flagcheck "--map-dir without ::" "invalid map" --map-dir=nocolon "$aot"
flagcheck "--dir that does not exist" "error while pre-opening directory" --dir=no-such-dir "$aot"
flagcheck "empty --dir=" "empty or too many --dir" --dir= "$aot"
flagcheck "9 x --dir" "empty or too many --dir" $(for i in 1 2 3 4 5 6 7 8 9; do echo --dir=d; done) "$aot"
flagcheck "9 x --map-dir" "empty or too many --map-dir" $(for i in 1 2 3 4 5 6 7 8 9; do echo --map-dir=/x$i::d; done) "$aot"
rm -rf "$runs"

# Compare bc0 with bc1 and the hardware-bounds with the software-only runtime. "cmd" names
# the same module either way, so the whole directories must be equal.
report=$out/DISAGREEMENTS.txt
: > "$report"
ntests=0
for t in "$out"/aarch64-bc0/*/; do
    t=$(basename "$t"); ntests=$((ntests + 1))
    diff -rq "$out/aarch64-bc0/$t" "$out/aarch64-bc1/$t" > /dev/null 2>&1 || echo "bc0-vs-bc1 $t" >> "$report"
    diff -rq "$out/aarch64-bc1/$t" "$out/aarch64-bc1-swbc/$t" > /dev/null 2>&1 || echo "hw-vs-swbc $t" >> "$report"
done
# Each program's exit code is its verdict (number of failed EXPECTs, or a documented code).
exitfail=0
for w in "${want_exit[@]}"; do
    t=${w%%=*}
    for v in aarch64-bc0 aarch64-bc1 aarch64-bc1-swbc; do
        got=$(cat "$out/$v/$t/exit")
        [ "$got" = "${w#*=}" ] || { echo "[FAIL] $v/$t: exit $got, expected ${w#*=} (see its stdout)"; exitfail=1; }
    done
done
[ "$exitfail" = 1 ] || echo "[PASS] files-expected: every test ended with its expected exit code under all 3 iwasm runs"
nonzero=$(grep -L '^0$' "$out"/aarch64-bc0/*/exit | wc -l)
echo "files-expected: $ntests tests x 3 runs recorded in $out ($nonzero with a non-zero exit)"
if [ -s "$report" ]; then
    echo "[FAIL] files-expected: $(wc -l < "$report") disagreements (see $report):"
    sed 's/^/  /' "$report"
    exit 1
fi
echo "[PASS] files-expected: aarch64-bc0, aarch64-bc1 and aarch64-bc1-swbc agree on all $ntests tests (stdout, stderr, exit, tree)"
[ "$flagfail" = 0 ] && [ "$exitfail" = 0 ] || exit 1
