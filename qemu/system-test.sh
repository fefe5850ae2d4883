#!/usr/bin/env bash
# QEMU system tests: boots TF-A + tzwasm (test-hooks build) + the bare-metal test client
# headless and decides pass/fail from what the two consoles print.
#
#   qemu/system-test.sh FLASH OUTDIR
#
# Cases:
#   protocol   normal run: the client's own checks; its last line must be "N passed, 0 failed",
#              QEMU must exit by PSCI SYSTEM_OFF, and the secure log must show no crash.
#   crash      fault injection: the secondary CPU calls TEST_FAULT; the secure console must
#              show a crash report (decoded ESR, FAR, ELR) for that CPU while the client
#              still finishes its checks on the primary CPU.
# Prints one line per case and "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
flash=${1:?flash image}
out=${2:?output dir}
here=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=${TZWASM_QEMU_TIMEOUT:-120}
passed=0
failed=0

pass() { echo "[PASS] $1"; passed=$((passed + 1)); }
fail() { echo "[FAIL] $1: $2"; failed=$((failed + 1)); }

# The client's summary line must be its last "N passed, M failed" line, with M = 0.
client_summary_ok() {
    local log=$1 line
    line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    [ -n "$line" ] || { echo "no summary line"; return 1; }
    [[ $line =~ ^([0-9]+)\ passed,\ 0\ failed ]] || { echo "client says: $line"; return 1; }
    [ "${BASH_REMATCH[1]}" -gt 0 ] || { echo "client ran no check"; return 1; }
    echo "$line"
}

run_case() {
    local name=$1; shift
    local dir=$out/$name
    "$here/boot.sh" test "$flash" "$dir" "$TIMEOUT" "$@"
    local rc=$?
    echo "--- $name: normal-world console ($dir/normal.log)"
    sed 's/^/  | /' "$dir/normal.log"
    echo "--- $name: secure console ($dir/secure.log)"
    sed 's/^/  | /' "$dir/secure.log"
    return $rc
}

# Case 1: protocol checks.
if run_case protocol; then
    if summary=$(client_summary_ok "$out/protocol/normal.log"); then
        if grep -qaE 'CRASH|PANIC' "$out/protocol/secure.log"; then
            fail protocol "secure world crashed"
        else
            pass "protocol ($summary)"
        fi
    else
        fail protocol "$summary"
    fi
else
    fail protocol "QEMU did not power off cleanly (exit $?; timeout is 124)"
fi

# Case 2: fault injection on the secondary CPU.
if run_case crash -device loader,addr=0x5ffff000,data=0xfa177e57,data-len=8; then
    sec=$out/crash/secure.log
    if ! summary=$(client_summary_ok "$out/crash/normal.log"); then
        fail crash "$summary"
    elif ! grep -qa 'tzwasm CRASH on CPU 1: synchronous exception in S-EL1' "$sec"; then
        fail crash "no crash report for CPU 1 on the secure console"
    elif ! grep -qaE 'ESR 0x[0-9a-f]+: EC 0x[0-9a-f]+ \(' "$sec" || ! grep -qa 'ELR  0x' "$sec"; then
        fail crash "crash report lacks the decoded ESR or ELR"
    elif ! grep -qa 'CPU 1 parked' "$sec"; then
        fail crash "crash report does not say the CPU parked"
    else
        pass "crash ($(grep -a 'ESR 0x' "$sec" | head -1 | sed 's/^ *//'))"
    fi
else
    fail crash "QEMU did not power off cleanly"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
