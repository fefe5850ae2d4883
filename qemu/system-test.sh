#!/usr/bin/env bash
# QEMU system tests: boots TF-A + tzwasm (test-hooks build) + the bare-metal test client
# headless and decides pass/fail from what the two consoles print.
#
#   qemu/system-test.sh FLASH_TEST OUTDIR [FLASH_RELEASE [FLASH_NO_ATTESTATION]]
#
# Cases:
#   protocol   normal run: the client's own checks; its last line must be "N passed, 0 failed",
#              QEMU must exit by PSCI SYSTEM_OFF, and the secure log must show no crash
#              (qemu/secure-log-check.sh, the check every QEMU suite shares).
#   protocol-release, protocol-no-attestation
#              the release image (no preloaded modules) and the image built without
#              attestation (with them: its ATTEST must answer NOT_SUPPORTED), same checks.
#   crash-*    fault injection, one boot per TEST_FAULT kind: the secondary CPU calls
#              TEST_FAULT; the secure console must show that CPU's crash report (decoded ESR,
#              FAR with its region, ELR) ending in "tzwasm FAILED: <message>; every call now
#              answers FAILED" (fail-stop) and no parked CPU, which qemu/secure-log-check.sh
#              must flag as a crash; the client must see FAILED for that call and later ones
#              on the other CPU, read the same <message> through GET_INFO FAILURE, finish its
#              checks and power off.
# Prints one line per case and "N passed, M failed"; exits non-zero on any failure.
# TZWASM_QEMU_ONLY=protocol runs only the first case (for quick iterations by hand).
set -uo pipefail
flash=${1:?flash image (test-hooks firmware)}
out=${2:?output dir}
release_flash=${3:-}
noatt_flash=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
# A hang guard, not a speed limit: the protocol boot takes about a minute on a quiet 2-core
# machine and over two under load (it timed out at 120 s beside other builds).
TIMEOUT=${TZWASM_QEMU_TIMEOUT:-600}
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
    "$here/boot.sh" test "${case_flash:-$flash}" "$dir" "$TIMEOUT" "$@"
    local rc=$?
    echo "--- $name: normal-world console ($dir/normal.log)"
    sed 's/^/  | /' "$dir/normal.log"
    echo "--- $name: secure console ($dir/secure.log)"
    sed 's/^/  | /' "$dir/secure.log"
    return $rc
}

# Case 1: protocol checks. Files named in TZWASM_TEST_PRELOAD (space-separated, up to 7: the
# hello module, the large-output module, its expected stdout and stderr, hello's expected
# stdout, the 10 MiB writer, the module that spins forever) are preloaded by QEMU into normal-world RAM at fixed addresses, their lengths as u64
# words from 0x71fff000; the client LOADs and RUNs the modules through the protocol (see
# normal-world/test-client/src/checks/runs.rs, PRELOAD). The first module's stdout must also
# appear on the secure console (TEST_RUN).
preload_addrs=(0x72000000 0x74000000 0x76000000 0x77000000 0x77800000 - 0x7c000000 0x7d000000)
aot_args=()
aot=""
i=0
for f in ${TZWASM_TEST_PRELOAD:-}; do
    [ $i -eq 5 ] && i=6 # slot 5 is the corpus bundle
    [ $i -eq 0 ] && aot=$f
    aot_args+=(-device "loader,file=$f,addr=${preload_addrs[$i]},force-raw=on"
               -device "loader,addr=$(printf '0x%x' $((0x71fff000 + 8 * i))),data=$(stat -c %s "$f"),data-len=8")
    i=$((i + 1))
done
# preload FILE ADDR WORD: QEMU puts FILE (if set) at ADDR and its length in the u64 word
# WORD from 0x71fff000, where the client looks for it.
preload() {
    [ -n "$1" ] || return 0
    aot_args+=(-device "loader,file=$1,addr=$2,force-raw=on"
               -device "loader,addr=$(printf '0x%x' $((0x71fff000 + 8 * $3))),data=$(stat -c %s "$1"),data-len=8")
}
# The corpus bundle (qemu/make-bundle.py).
preload "${TZWASM_TEST_BUNDLE:-}" 0x50000000 5
# The ~1 MiB module of the load figure.
preload "${TZWASM_TEST_BIG:-}" 0x68000000 10
# The hostile-module bundle (tools/hostile-aot).
preload "${TZWASM_TEST_HOSTILE:-}" 0x7e000000 11
# The stdin checks' cat module (guests/stdin/cat.c).
preload "${TZWASM_TEST_STDIN:-}" 0x6a000000 16
# The parallel-run module (qemu/guests/parallel.wat).
preload "${TZWASM_TEST_PARALLEL:-}" 0x6c000000 12
# The 1,000,000-slot table module (qemu/guests/big-table.wat).
preload "${TZWASM_TEST_BIGTABLE:-}" 0x6e000000 13
# The bounded-latency check's modules: ~4 MiB (gen-big.py) and random12.wat.
preload "${TZWASM_TEST_BIG4:-}" 0x64000000 14
preload "${TZWASM_TEST_RANDOM:-}" 0x66000000 15
# Parallel runs (-smp 4, the client's parallel mode word): four CPU-bound modules seen running
# at once on four CPUs with the outputs of a serial run, then every CPU issuing 10,000 random
# session and shared-memory calls on shared handles.
parallel_case() {
    if TZWASM_SMP=4 TIMEOUT=${TZWASM_QEMU_PARALLEL_TIMEOUT:-600} run_case parallel "${aot_args[@]}" \
        -device "loader,addr=0x5ffff000,data=0x5a4d9a11,data-len=8"; then
        if summary=$(client_summary_ok "$out/parallel/normal.log"); then
            if ! crash=$("$here/secure-log-check.sh" "$out/parallel/secure.log"); then
                fail parallel "$crash"
            elif ! grep -qa '^parallel: 4 CPUs' "$out/parallel/normal.log"; then
                fail parallel "the run did not use 4 CPUs"
            else
                pass "parallel ($summary)"
            fi
        else
            fail parallel "$summary"
        fi
    else
        fail parallel "QEMU did not power off cleanly (exit $?; timeout is 124)"
    fi
}

if [ "${TZWASM_QEMU_ONLY:-}" = parallel ]; then
    passed=0; failed=0
    parallel_case
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

if run_case protocol "${aot_args[@]}"; then
    if summary=$(client_summary_ok "$out/protocol/normal.log"); then
        if ! crash=$("$here/secure-log-check.sh" "$out/protocol/secure.log"); then
            fail protocol "$crash"
        elif [ -n "$aot" ] && ! grep -qaF "${TZWASM_TEST_AOT_EXPECT:-[module stdout]}" "$out/protocol/secure.log"; then
            fail protocol "the module's output is not on the secure console"
        elif grep -qaF 'session: no ATTESTATION feature' "$out/protocol/normal.log"; then
            fail protocol "the test image has no device identity (the harness provisions one)"
        else
            pass "protocol ($summary)"
        fi
    else
        fail protocol "$summary"
    fi
else
    fail protocol "QEMU did not power off cleanly (exit $?; timeout is 124)"
fi

if [ "${TZWASM_QEMU_ONLY:-}" = protocol ]; then
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

# Release image: the same protocol checks; TEST_* calls must be NOT_SUPPORTED there.
if [ -n "$release_flash" ]; then
    if case_flash=$release_flash run_case protocol-release; then
        if summary=$(client_summary_ok "$out/protocol-release/normal.log"); then
            if ! crash=$("$here/secure-log-check.sh" "$out/protocol-release/secure.log"); then
                fail protocol-release "$crash"
            else
                pass "protocol-release ($summary)"
            fi
        else
            fail protocol-release "$summary"
        fi
    else
        fail protocol-release "QEMU did not power off cleanly"
    fi
fi

# The image built without attestation: the same protocol checks, with the device page
# provisioned as for the others. The client must find no ATTESTATION feature and get
# NOT_SUPPORTED from ATTEST; the secure console must say why and never read the page.
if [ -n "$noatt_flash" ]; then
    c=protocol-no-attestation
    if case_flash=$noatt_flash run_case $c "${aot_args[@]}"; then
        if summary=$(client_summary_ok "$out/$c/normal.log"); then
            if ! crash=$("$here/secure-log-check.sh" "$out/$c/secure.log"); then
                fail $c "$crash"
            elif ! grep -qaF 'session: no ATTESTATION feature' "$out/$c/normal.log"; then
                fail $c "the client found an ATTESTATION feature"
            elif ! grep -qaF 'tzwasm: built without attestation' "$out/$c/secure.log"; then
                fail $c "the secure console does not say the image is built without attestation"
            elif grep -qaF 'device identity ready' "$out/$c/secure.log"; then
                fail $c "the image installed a device identity"
            else
                pass "$c ($summary)"
            fi
        else
            fail $c "$summary"
        fi
    else
        fail $c "QEMU did not power off cleanly (exit $?; timeout is 124)"
    fi
fi

parallel_case

# Case 2..7: fault injection on the secondary CPU, one boot per TEST_FAULT kind. The mode word
# (normal-world RAM 0x5ffff000) is the crash-test magic with the kind in bits 63:32. Each kind
# names the text its crash report must contain.
crash_case() {
    local kind=$1 name=$2 header=$3 detail=$4
    local word dir sec summary report secure_msg client_msg
    word=$(printf '0x%x' $(((kind << 32) | 0xfa177e57)))
    dir=crash-$name
    if ! run_case "$dir" -device "loader,addr=0x5ffff000,data=$word,data-len=8"; then
        fail "$dir" "QEMU did not power off cleanly (a hung CPU would time out: exit 124)"
        return
    fi
    sec=$out/$dir/secure.log
    # Only the report itself counts: from its header to its "tzwasm FAILED:" line.
    report=$(tr -d '\r' <"$sec" | awk -v h="$header" 'index($0, h) { on = 1 } on { print } on && /tzwasm FAILED: / { exit }')
    secure_msg=$(sed -n 's/^\*\*\* tzwasm FAILED: \(.*\); every call now answers FAILED \*\*\*$/\1/p' <<<"$report" | head -1)
    client_msg=$(tr -d '\r' <"$out/$dir/normal.log" | sed -n 's/^crash-test: failure message: //p' | head -1)
    if ! summary=$(client_summary_ok "$out/$dir/normal.log"); then
        fail "$dir" "$summary"
    elif [ -z "$report" ]; then
        fail "$dir" "no '$header' on the secure console"
    elif "$here/secure-log-check.sh" "$sec" >/dev/null; then
        # The check every suite relies on must see a real crash.
        fail "$dir" "qemu/secure-log-check.sh does not flag this crash"
    elif ! grep -qaF -- "$detail" <<<"$report"; then
        fail "$dir" "crash report lacks '$detail'"
    elif [ -z "$secure_msg" ]; then
        fail "$dir" "crash report does not end with 'tzwasm FAILED: <message>; every call now answers FAILED'"
    elif grep -qaE 'CPU [0-9]+ parked' "$sec"; then
        fail "$dir" "a CPU parked instead of failing stop"
    elif [ "$client_msg" != "$secure_msg" ]; then
        fail "$dir" "the client read '$client_msg' through GET_INFO FAILURE, the secure console says '$secure_msg'"
    else
        pass "$dir ($(grep -aF -- "$detail" <<<"$report" | head -1 | sed 's/^ *//'); FAILED: $secure_msg)"
    fi
}
sync_el1='tzwasm CRASH on CPU 1: synchronous exception in S-EL1'
crash_case 0 data-abort "$sync_el1" 'EC 0x25 (data abort from same EL), IL 1, ISS 0x0000006; translation fault'
crash_case 1 undef "$sync_el1" 'EC 0x00 (unknown reason / undefined instruction)'
crash_case 2 stack-guard "$sync_el1" '(guard page below a main stack)'
crash_case 3 write-rodata "$sync_el1" 'permission fault, level 3, write'
crash_case 4 exec-xn "$sync_el1" 'EC 0x21 (instruction abort from same EL)'
crash_case 5 panic 'tzwasm PANIC on CPU 1' 'TEST_FAULT: deliberate panic'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
