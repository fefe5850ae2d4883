#!/usr/bin/env bash
# Records WAMR iwasm's results for every test in guests/manifest.txt as the expected outputs:
#   build/corpus/expected/<arch>-bc<N>/<test>/{stdout,stderr,exit[,trap]}        (HW-bounds iwasm)
#   build/corpus/expected/<arch>-bc1-swbc/<test>/...                            (software-only iwasm)
#   build/corpus/expected/aarch64-large/<test>/...     (--size-level=0 files, HW-bounds iwasm)
# bc0 files are run by the hardware-bounds-check iwasm only (software-only WAMR cannot catch
# their out-of-bounds accesses); bc1 files by both. Then compares HW vs SW (bc1) and x86_64 vs
# aarch64 and writes the disagreements to build/corpus/expected/DISAGREEMENTS.txt.
# stdout/stderr are regular files (wasi-libc's stdout buffering depends on the file type).
# Per test: stdout, stderr, exit (WASI exit code, 1 on a trap) and, on a trap, trap (the message
# without "Exception: ", e.g. "integer divide by zero").
# Usage: tools/wamr/corpus-expected.sh [jobs]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$top/build/corpus
wamr=$top/build/wamr
manifest=$top/guests/manifest.txt
out=$corpus/expected
jobs=${1:-2}
timeout_s=${CORPUS_TIMEOUT:-300}

decode() { local s=${1//%20/ }; printf '%s' "${s//%25/%}"; }

# run_one <variant-dir> <iwasm> <test> <module> <entry> <args> <env>
run_one() {
    local vdir=$1 iwasm=$2 test=$3 module=$4 entry=$5 args=$6 env=$7
    local d=$out/$vdir/$test arch_bc=${vdir%-swbc}   # the .aot directory
    local -a cmd=("$iwasm" --quiet-trap "--trap-out=$d/trap" "--exit-out=$d/exit")
    local w
    rm -rf "$d" && mkdir -p "$d"
    for w in $env; do cmd+=("--env=$(decode "$w")"); done
    [ "$entry" = main ] || cmd+=(-f "${entry#func:}")
    cmd+=("$module.aot")
    for w in $args; do cmd+=("$(decode "$w")"); done
    local rc=0
    (cd "$corpus/$arch_bc" && timeout "$timeout_s" "${cmd[@]}" < /dev/null > "$d/stdout" 2> "$d/stderr") || rc=$?
    # exit: the full WASI exit code as iwasm wrote it; if iwasm died before writing it (crash,
    # timeout, load error), the process status prefixed with "status ".
    [ -s "$d/exit" ] || echo "status $rc" > "$d/exit"
    [ "$rc" = 124 ] && echo "TIMEOUT $vdir/$test" >&2
    return 0
}
export -f run_one decode
export out corpus timeout_s

for v in x86_64 x86_64-swbc aarch64 aarch64-swbc; do
    [ -x "$wamr/iwasm-$v" ] || { echo "corpus-expected: $wamr/iwasm-$v missing (make iwasm)" >&2; exit 1; }
done

rm -rf "$out" && mkdir -p "$out"
# One job line per (variant, test): fields separated by \x1f so empty fields survive.
while IFS='|' read -r test module entry args env; do
    case "$test" in ''|'#'*) continue ;; esac
    for arch in x86_64 aarch64; do
        for bc in 0 1; do
            [ -f "$corpus/$arch-bc$bc/$module.aot" ] || { echo "corpus-expected: no $arch-bc$bc/$module.aot (make corpus)" >&2; exit 1; }
            printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "$arch-bc$bc" "$wamr/iwasm-$arch" "$test" "$module" "$entry" "$args" "$env"
            [ $bc = 1 ] && printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "$arch-bc1-swbc" "$wamr/iwasm-$arch-swbc" "$test" "$module" "$entry" "$args" "$env"
        done
    done
    if [ -f "$corpus/aarch64-large/$module.aot" ]; then
        printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' aarch64-large "$wamr/iwasm-aarch64" "$test" "$module" "$entry" "$args" "$env"
    fi
done < "$manifest" > "$out/jobs.txt"

xargs -d '\n' -P "$jobs" -n 1 bash -c 'IFS=$'"'"'\x1f'"'"' read -r a b c d e f g <<<"$0"; run_one "$a" "$b" "$c" "$d" "$e" "$f" "$g"' < "$out/jobs.txt"

# Compare.
same() { diff -rq "$1" "$2" > /dev/null 2>&1; }
report=$out/DISAGREEMENTS.txt
: > "$report"
ntests=0
for t in "$out"/x86_64-bc0/*/; do
    t=$(basename "$t"); ntests=$((ntests + 1))
    for arch in x86_64 aarch64; do
        same "$out/$arch-bc1/$t" "$out/$arch-bc1-swbc/$t" || echo "hw-vs-swbc $arch-bc1 $t" >> "$report"
    done
    for bc in 0 1; do
        same "$out/x86_64-bc$bc/$t" "$out/aarch64-bc$bc/$t" || echo "x86_64-vs-aarch64 bc$bc $t" >> "$report"
    done
    same "$out/x86_64-bc0/$t" "$out/x86_64-bc1/$t" || echo "bc0-vs-bc1 x86_64 $t" >> "$report"
    same "$out/aarch64-bc0/$t" "$out/aarch64-bc1/$t" || echo "bc0-vs-bc1 aarch64 $t" >> "$report"
    if [ -d "$out/aarch64-large" ]; then
        same "$out/aarch64-bc0/$t" "$out/aarch64-large/$t" || echo "small-vs-large aarch64 $t" >> "$report"
    fi
done
rm -f "$out/jobs.txt"
traps=$(find "$out/x86_64-bc0" -name trap | wc -l)
echo "corpus-expected: $ntests tests x 7 runs recorded in $out ($traps trap in x86_64-bc0)"
if [ -s "$report" ]; then
    echo "corpus-expected: $(wc -l < "$report") disagreements (see $report):"
    sed 's/^/  /' "$report"
fi
