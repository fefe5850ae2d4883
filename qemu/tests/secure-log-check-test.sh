#!/usr/bin/env bash
# Feeds recorded secure console logs to qemu/secure-log-check.sh and checks its verdict: each
# log under qemu/tests/secure-logs/ is named clean-*.log (no crash: exit 0) or crash-*.log (a
# crash: exit 1). The logs are real QEMU runs, cut down to the lines that matter, plus the
# variants that decide the race in issue 15 (TF-A's "PANIC at PC" before and after the
# secure world's "system off").
#
#   qemu/tests/secure-log-check-test.sh
#
# Prints one line per log and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check=$here/../secure-log-check.sh
passed=0
failed=0
for log in "$here"/secure-logs/*.log; do
    name=$(basename "$log")
    case "$name" in
    clean-*) want=0 ;;
    crash-*) want=1 ;;
    *) echo "[FAIL] $name: not named clean-* or crash-*"; failed=$((failed + 1)); continue ;;
    esac
    why=$("$check" "$log")
    got=$?
    if [ "$got" = "$want" ]; then
        echo "[PASS] $name: exit $got${why:+ ($why)}"
        passed=$((passed + 1))
    else
        echo "[FAIL] $name: exit $got, want $want${why:+ ($why)}"
        failed=$((failed + 1))
    fi
done
# A log that does not exist is an error of its own (exit 2), never "clean".
"$check" "$here/secure-logs/does-not-exist" >/dev/null
if [ $? = 2 ]; then
    echo "[PASS] a missing log: exit 2"
    passed=$((passed + 1))
else
    echo "[FAIL] a missing log is not exit 2"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
