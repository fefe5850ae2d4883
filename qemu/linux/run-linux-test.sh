#!/usr/bin/env bash
# `make linux-test`: boots TF-A + tzwasm + Linux headless with tzwasm.mode=test, lets the
# guest's /usr/bin/linux-test (qemu/linux/linux-test.sh) run every case, and decides from the
# console: the guest's last "N passed, M failed" line must say M = 0 with N > 0, the guest must
# power off by itself (no timeout), and the secure console must show no crash
# (qemu/secure-log-check.sh).
#
#   qemu/linux/run-linux-test.sh FLASH INITRAMFS OUTDIR [CORPUS_DIR EXPECTED_DIR [GUESTS_DIR]]
#
# Then, from the host: Linux without TF-A (QEMU's own PSCI, no SMC conduit), where insmod must
# refuse with a clear line; a second boot of the same image that opens the secret the guest's
# provision case sealed (one job boot, about 15 s); and with the corpus directories, qemu/tzwasm-qemu (two more boots of
# about 3 s): a module's arguments, stdout and exit code, and a trap's stderr and exit code;
# with GUESTS_DIR (build/linux/guests), issue 11's two reproduced cases through
# qemu/tzwasm-qemu, two more boots: an export taking an externref given "abcé", and table.copy
# over a 1,000,000-slot table under --heap 13M, or what the pool has free if that is less
# (each: the clear answer, no hang, no crash on the secure console; the guest's linux-test
# checks that the next run works). Last, issue 12's root-of-trust checks (qemu/linux/
# root-of-trust-checks.sh): the device secret in no log, no file the guest's cases produced
# and nowhere in the guest's RAM (dumped with the VM paused after the cases), and the
# firmware measurement `tzwasm info` printed equal to the host's from the BL32 image.
#
# Environment: TZWASM_LINUX_TEST_TIMEOUT (seconds, default 600), TZWASM_SMP (default 2),
# TZWASM_BL32 and TZWASM_DEVICE_SECRET (default: bl32.bin and device/secret.bin next to FLASH).
set -uo pipefail
flash=${1:?flash image}; initrd=${2:?initramfs}; out=${3:?output dir}
corpus=${4:-}; expected=${5:-}; guests=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${TZWASM_LINUX_TEST_TIMEOUT:-600}
mkdir -p "$out"
# Issue 12's root-of-trust checks (secret scan, firmware measurement): qemu/linux/root-of-trust-checks.sh.
. "$here/root-of-trust-checks.sh"
rot_start
start=$(date +%s.%N)
TZWASM_QEMU_CONTROL=$rot_ctl "$here/boot-linux.sh" test "$flash" "$initrd" "$out" "$timeout_s" test
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
log=$out/console.log
rot_collect
sed -n '/^linux-test:/,$p' "$log" | tr -d '\r' | grep -v '^\[ *[0-9.]*\] reboot' | sed 's/^/  | /'
summary=$(tr -d '\r' <"$log" | grep -aE '^[0-9]+ passed, [0-9]+ failed' | tail -1)
problems=()
[ $rc -eq 0 ] || problems+=("QEMU exit status $rc$([ $rc -eq 124 ] && echo " (timeout after ${timeout_s} s)")")
[ -n "$summary" ] || problems+=("no 'N passed, M failed' line from the guest")
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    [ "${BASH_REMATCH[2]}" = 0 ] || problems+=("guest: $summary")
    [ "${BASH_REMATCH[1]}" -gt 0 ] || problems+=("guest ran no case")
fi
# The crash check every QEMU suite shares: tzwasm's own reports anywhere, anything else that
# looks like a crash before the secure world's "system off" line. TF-A's "PANIC at PC" after
# system off is its power-off path racing QEMU's exit, not a fault (see the script).
if ! crash=$("$here/../secure-log-check.sh" "$out/secure.log"); then
    problems+=("secure console reports a crash: $crash (see $out/secure.log)")
fi
if grep -aqE 'Kernel panic|Internal error|BUG:|Oops' "$log"; then
    problems+=("kernel oops or panic on the console (see $log)")
fi
printf 'linux-test: boot + cases took %.0f s; logs in %s\n' "$secs" "$out"

# qemu/tzwasm-qemu from the host: `FILE.aot -- ARGS` gives the module's stdout, stderr and
# exit code here.
host_case() { # NAME EXPECTED_TEST TZWASM-QEMU ARGS...
    local name=$1 test=$2 want_err
    shift 2
    TZWASM_QEMU_NO_BUILD=1 TZWASM_QEMU_TIMEOUT=600 "$here/../tzwasm-qemu" "$@" \
        >"$out/$name.stdout" 2>"$out/$name.stderr" </dev/null
    local st=$?
    want_err=$(cat "$expected/$test/stderr")
    [ -f "$expected/$test/trap" ] && want_err="$want_err${want_err:+
}tzwasm: trap: $(cat "$expected/$test/trap")"
    if [ "$st" = "$(($(cat "$expected/$test/exit") % 256))" ] &&
        cmp -s "$out/$name.stdout" "$expected/$test/stdout" &&
        [ "$(cat "$out/$name.stderr")" = "$want_err" ]; then
        echo "  [PASS] host: qemu/tzwasm-qemu $* (exit $st)"
    else
        echo "  [FAIL] host: qemu/tzwasm-qemu $*: exit $st, stdout/stderr in $out/$name.*"
        problems+=("qemu/tzwasm-qemu $name")
    fi
}
# Without a secure world behind SMC (QEMU's own PSCI over HVC, no TF-A), insmod must refuse
# with one clear dmesg line.
no_secure_world() {
    local dir=$out/no-secure-world
    rm -rf "$dir" && mkdir -p "$dir/job/job"
    printf '%s\n' 'dmesg | grep "tzwasm: " | grep -v taint' 'test ! -e /dev/tzwasm' >"$dir/job/job/run.sh"
    (cd "$dir/job" && find . | cpio -o -H newc --owner=0:0 --quiet) >"$dir/job.cpio"
    python3 -c 'import sys; a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(a + bytes(-len(a) % 4) + b)' "$initrd" "$dir/job.cpio" "$dir/initrd"
    timeout --foreground -k 5 120 qemu-system-aarch64 -machine virt -cpu cortex-a57 -smp 1 -m 1024 \
        -net none -display none -monitor none -serial "file:$dir/console.log" \
        -kernel "$(echo "$here"/../../.cache/linux/current/root/boot/vmlinuz-*)" -initrd "$dir/initrd" \
        -append "console=ttyAMA0 rdinit=/init quiet loglevel=1 tzwasm.mode=job" </dev/null
    local line
    line=$(tr -d '\r' <"$dir/console.log" | sed -n '/^@@TZWASM-STDOUT@@$/,/^@@TZWASM-STDERR@@$/p' |
        sed '1d;$d' | base64 -d 2>/dev/null | grep -m1 "not loading" | sed 's/^\[[ 0-9.]*\] //')
    if grep -q '^@@TZWASM-EXIT 0@@' <(tr -d '\r' <"$dir/console.log") && [ -n "$line" ]; then
        echo "  [PASS] host: no secure world (QEMU without TF-A): insmod refuses, \"$line\""
    else
        echo "  [FAIL] host: no secure world: driver did not refuse clearly (see $dir/console.log)"
        problems+=("driver probe without a secure world")
    fi
}
no_secure_world

# job_boot DIR: boots the image once more in job mode with DIR/job (holding job/run.sh and
# anything it needs) as an extra cpio; sets job_st (QEMU's exit status), job_out and job_err
# (the job's stdout and stderr, from the console's base64 sections).
job_boot() {
    local dir=$1
    (cd "$dir/job" && find . | cpio -o -H newc --owner=0:0 --quiet) >"$dir/job.cpio"
    "$here/boot-linux.sh" test "$flash" "$initrd:$dir/job.cpio" "$dir" 180 job
    job_st=$?
    section() {
        tr -d '\r' <"$dir/console.log" | sed -n "/^@@TZWASM-$1@@\$/,/^@@TZWASM-\(STDERR\|DIR [0-9]*\|EXIT [0-9]*\)@@\$/p" |
            sed '1d;$d' | base64 -d 2>/dev/null
    }
    job_out=$(section STDOUT)
    job_err=$(section STDERR)
    # A job whose command failed counts as a failed boot.
    if [ "$job_st" = 0 ] && ! grep -q '^@@TZWASM-EXIT 0@@' <(tr -d '\r' <"$dir/console.log"); then
        job_st="0, the job exited non-zero"
    fi
}
# Issue 12's remote provisioning after a reboot: the guest's provision case printed
# "@PROVISION SEALED_SECRET DIGEST"; a second boot of the same flash image (same device, same
# firmware), in job mode, runs `tee-provision.aot show` on that blob and must print the same
# SHA-256. The secure world keeps nothing between boots: the blob is all the state there is.
provision_after_reboot() {
    local dir=$out/provision-reboot blob digest
    read -r _ blob digest < <(tr -d '\r' <"$log" | grep -a '^@PROVISION [0-9a-f]* [0-9a-f]\{64\}$' | tail -1)
    if [ -z "${blob:-}" ]; then
        if tr -d '\r' <"$log" | grep -aq '^\[\(PASS\|FAIL\)\] remote provisioning'; then
            echo "  [FAIL] host: provisioned secret after a reboot: the guest's provision case printed no @PROVISION line"
            problems+=("provisioned secret after a reboot")
        else
            echo "  [SKIP] host: provisioned secret after a reboot: the guest did not run the provision case"
        fi
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir/job/job"
    printf 'cd /usr/share/tzwasm/examples && tzwasm run tee-provision.aot show %s\n' "$blob" >"$dir/job/job/run.sh"
    job_boot "$dir"
    if [ "$job_st" = 0 ] && [ "$job_out" = "secret-sha256: $digest" ] &&
        "$here/../secure-log-check.sh" "$dir/secure.log" >/dev/null; then
        echo "  [PASS] host: provisioned secret after a reboot: the same image booted again, tee-provision.aot show -> \"$job_out\" (as in the first boot)"
    else
        echo "  [FAIL] host: provisioned secret after a reboot: QEMU exit $job_st, stdout '$job_out', stderr '$job_err', want 'secret-sha256: $digest' (see $dir/console.log, $dir/secure.log)"
        problems+=("provisioned secret after a reboot")
    fi
}
provision_after_reboot
# Issue 13's sealed directory after a reboot: the guest's sealed_dir case printed "@SEALED NAME
# HEX VALUE", its counter's host file; a second boot of the same image with that one file in a
# directory runs the counter once more and must print VALUE + 1. Only the files persist.
sealed_after_reboot() {
    local dir=$out/sealed-reboot name hex value
    read -r _ name hex value < <(tr -d '\r' <"$log" | grep -a '^@SEALED [0-9a-f]* [0-9a-f]* [0-9]*$' | tail -1)
    if [ -z "${name:-}" ]; then
        if tr -d '\r' <"$log" | grep -aq '^\[\(PASS\|FAIL\)\] sealed_dir'; then
            echo "  [FAIL] host: sealed directory after a reboot: the guest's sealed_dir case printed no @SEALED line"
            problems+=("sealed directory after a reboot")
        else
            echo "  [SKIP] host: sealed directory after a reboot: the guest did not run the sealed_dir case"
        fi
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir/job/job/sealed"
    python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$hex" >"$dir/job/job/sealed/$name"
    printf 'cd /usr/share/tzwasm/examples && tzwasm run --sealed-dir /job/sealed sealed-counter.aot\n' >"$dir/job/job/run.sh"
    job_boot "$dir"
    if [ "$job_st" = 0 ] && [ "$job_out" = "counter.txt $((value + 1))" ] &&
        "$here/../secure-log-check.sh" "$dir/secure.log" >/dev/null; then
        echo "  [PASS] host: sealed directory after a reboot: the same image booted again counts on: \"$job_out\""
    else
        echo "  [FAIL] host: sealed directory after a reboot: QEMU exit $job_st, stdout '$job_out', stderr '$job_err', want 'counter.txt $((value + 1))' (see $dir/console.log)"
        problems+=("sealed directory after a reboot")
    fi
}
sealed_after_reboot

if [ -n "$corpus" ]; then
    host_case host-args c-hello-args "$corpus/c-hello.aot" -- one "two words" three
    host_case host-trap c-recursion-shadow-stack-overflow "$corpus/c-recursion.aot" -- 100000000
fi
# Issue 13: qemu/tzwasm-qemu --dir copies a host directory in and the module's changes back.
# The counter module (guests/files/c/counter.c) in a copy of the seed "basic", twice: the
# file on the host must count up, and nothing else in the directory change.
files_dir_case() {
    local aot=${TZWASM_FILES_DIR:-}/aarch64-bc0/files-c-counter.aot dir=$out/files-dir st1 st2 o1 o2
    if [ ! -f "$aot" ]; then
        echo "  [SKIP] host: qemu/tzwasm-qemu --dir: no $aot (TZWASM_FILES_DIR)"
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir/data"
    cp -a "$here/../../guests/files/seed/basic/." "$dir/data/"
    local before after
    before=$(cd "$dir/data" && find . ! -name counter.txt | LC_ALL=C sort)
    local c0
    c0=$(cat "$dir/data/counter.txt")
    o1=$(cd "$dir" && TZWASM_QEMU_NO_BUILD=1 "$here/../tzwasm-qemu" --dir data "$aot" -- data 2>"$dir/err1" </dev/null)
    st1=$?
    o2=$(cd "$dir" && TZWASM_QEMU_NO_BUILD=1 "$here/../tzwasm-qemu" --dir=data "$aot" -- data 2>"$dir/err2" </dev/null)
    st2=$?
    after=$(cd "$dir/data" && find . ! -name counter.txt | LC_ALL=C sort)
    local want1="counter $c0 -> $((c0 + 1))" want2="counter $((c0 + 1)) -> $((c0 + 2))"
    if [ "$st1$st2" = 00 ] && [ "$o1" = "$want1" ] && [ "$o2" = "$want2" ] &&
        [ "$(cat "$dir/data/counter.txt")" = $((c0 + 2)) ] && [ "$before" = "$after" ]; then
        echo "  [PASS] host: qemu/tzwasm-qemu --dir data counter: \"$o1\", then \"$o2\"; the host's data/counter.txt holds $((c0 + 2)), nothing else changed"
    else
        echo "  [FAIL] host: qemu/tzwasm-qemu --dir: exits $st1 $st2, stdout '$o1' / '$o2' (want '$want1' / '$want2'), counter.txt '$(cat "$dir/data/counter.txt")', stderr in $dir/err1, err2"
        problems+=("qemu/tzwasm-qemu --dir")
    fi
}
files_dir_case
# issue11_case NAME DESCRIPTION WANT TZWASM-QEMU ARGS...: WANT is "EXIT|STDERR" alternatives
# separated by newlines; the run must match one of them exactly (tzwasm-qemu's own lines, e.g.
# a timeout or a crash on the secure console, never match).
issue11_case() {
    local name=$1 what=$2 want=$3 got
    shift 3
    TZWASM_QEMU_NO_BUILD=1 TZWASM_QEMU_TIMEOUT=600 "$here/../tzwasm-qemu" "$@" \
        >"$out/$name.stdout" 2>"$out/$name.stderr" </dev/null
    got="$?|$(cat "$out/$name.stderr")"
    if [ ! -s "$out/$name.stdout" ] && [ "$(wc -l <"$out/$name.stderr")" -le 1 ] &&
        grep -qxF -- "$got" <<<"$want"; then
        local err=${got#*|}
        echo "  [PASS] host: $what: qemu/tzwasm-qemu $* -> exit ${got%%|*}${err:+, \"$err\"}"
    else
        echo "  [FAIL] host: $what: qemu/tzwasm-qemu $*: exit ${got%%|*}, stderr '${got#*|}', stdout in $out/$name.stdout"
        problems+=("qemu/tzwasm-qemu $name")
    fi
}
# qemu/tzwasm-qemu forwards its stdin (issue 13): bytes piped in come out of a cat module.
tzwasm_qemu_stdin() {
    local want got
    want=$(printf 'piped into the host script\n' | sha256sum)
    got=$(printf 'piped into the host script\n' | TZWASM_QEMU_NO_BUILD=1 TZWASM_QEMU_TIMEOUT=600 \
        "$here/../tzwasm-qemu" "$guests/stdin-cat.aot" 2>"$out/host-stdin.stderr" | sha256sum)
    if [ "$got" = "$want" ] && [ "$(cat "$out/host-stdin.stderr")" = "cat: 27 bytes" ]; then
        echo "  [PASS] host: qemu/tzwasm-qemu forwards its stdin: 27 bytes through stdin-cat.aot"
    else
        echo "  [FAIL] host: qemu/tzwasm-qemu stdin: stderr '$(cat "$out/host-stdin.stderr")'"
        problems+=("qemu/tzwasm-qemu stdin")
    fi
}
if [ -n "$guests" ]; then
    tzwasm_qemu_stdin
    issue11_case host-externref "an externref argument (issue 11)" \
        "1|tzwasm: trap: invalid input argument 0: abcé" \
        --function f "$guests/externref-arg.aot" -- abcé 1 2
    # 13M is more than the pool has free for sessions when quotas are reserved at OPEN: the
    # guest's table_copy case then saw a refusal naming the bytes free, and this boot (the
    # same image, nothing else open) runs the module in exactly that much.
    heap=$(tr -d '\r' <"$log" | sed -n 's/^\[PASS\] table.copy over 1,000,000 slots: --heap 13M: "tzwasm: heap too large: the secure world.s pool has \([0-9]*\) bytes.*/\1/p')
    issue11_case host-table-copy "table.copy over 1,000,000 slots (issue 11)" "0|" \
        --heap "${heap:-13M}" "$guests/table-copy-1m.aot"
fi
rot_checks
if [ ${#problems[@]} -gt 0 ]; then
    for p in "${problems[@]}"; do echo "linux-test: FAILED: $p"; done
    exit 1
fi
echo "linux-test: $summary"
