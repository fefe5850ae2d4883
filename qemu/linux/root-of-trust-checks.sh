# Issue 12's host checks of the root of trust in `make linux-test`, sourced by
# qemu/linux/run-linux-test.sh (bash; uses its $here, $out, $flash and $log, adds failures to
# its `problems`):
#
# - the device secret never appears in normal-world memory (shared memory included), in the
#   logs, or in any file the guest's cases produced (tokens, sealed blobs, run outputs):
#   qemu/linux/secret-scan.py pauses the guest after its cases, dumps all of its DRAM, and
#   scans the dump, the consoles, the guest's files and the host's outputs for the secret raw,
#   in hex and in base64, after positive controls that show it finds the secret where it is;
# - the firmware measurement `tzwasm info` printed in the guest equals what the host computes
#   from the BL32 image (`tzwasm-provision measure`, docs/attestation.md), and that image is
#   the one in the booted flash.
#
#   rot_start                 before the main boot: starts the console/monitor helper and sets
#                             rot_ctl, to boot with TZWASM_QEMU_CONTROL=$rot_ctl
#   rot_collect               right after that boot: waits for the helper, takes the guest's
#                             files out of console.log into $out/guest-files
#   rot_checks                at the end: the scans and the measurement
#
# Environment: TZWASM_BL32 (default: bl32.bin next to the flash image), TZWASM_DEVICE_SECRET
# (default: device/secret.bin next to it), CARGO (default cargo).

rot_bl32=${TZWASM_BL32:-$(dirname "$flash")/bl32.bin}
rot_secret=${TZWASM_DEVICE_SECRET:-$(dirname "$flash")/device/secret.bin}
rot_ctl=""
rot_pid=""

rot_start() {
    # Unix socket paths are short (108 bytes): the sockets and the dump live in /tmp.
    rot_ctl=$(mktemp -d "${TMPDIR:-/tmp}/tzwasm-scan.XXXXXX")
    "$here/secret-scan.py" control "$rot_ctl" &
    rot_pid=$!
}

rot_collect() {
    local i
    # The helper ends when QEMU closes the console; if QEMU never started, stop it.
    for i in $(seq 50); do kill -0 "$rot_pid" 2>/dev/null || break; sleep 0.2; done
    kill "$rot_pid" 2>/dev/null
    wait "$rot_pid" 2>/dev/null
    # The guest's files: base64 between the frame lines, moved out of the console log.
    rm -rf "$out/guest-files" "$out/guest-files.tar.gz"
    tr -d '\r' <"$log" | sed -n '/^@@TZWASM-FILES@@$/,/^@@TZWASM-FILES-END@@$/p' | sed '1d;$d' |
        base64 -d >"$out/guest-files.tar.gz" 2>/dev/null
    mkdir -p "$out/guest-files"
    tar -C "$out/guest-files" -xzf "$out/guest-files.tar.gz" 2>/dev/null
    if grep -aq '^@@TZWASM-FILES@@' "$log"; then
        sed -i '/^@@TZWASM-FILES@@\r\?$/,/^@@TZWASM-FILES-END@@\r\?$/c\[the guest'"'"'s files: '"$out"'/guest-files]' "$log"
    fi
}

rot_checks() {
    local st
    if [ ! -f "$rot_secret" ] || [ ! -f "$rot_bl32" ]; then
        echo "  [FAIL] host: root of trust: no device secret ($rot_secret) or no BL32 image ($rot_bl32)"
        problems+=("root-of-trust checks: missing $rot_secret or $rot_bl32")
        return
    fi
    "$here/secret-scan.py" selftest "$rot_secret" "$flash" || problems+=("secret scan positive control")
    if [ -f "$rot_ctl/dump.ok" ] && [ -f "$rot_ctl/marker" ]; then
        local known=() f
        for f in linux-test/tok.cbor linux-test/seal1.out hostscan-marker; do
            [ -f "$out/guest-files/$f" ] && known+=("$out/guest-files/$f")
        done
        if "$here/secret-scan.py" dump "$rot_secret" "$rot_ctl/ns-dram.bin" "$(cat "$rot_ctl/marker")" "${known[@]}"; then
            rm -rf "$rot_ctl"
        else
            problems+=("secret scan of the normal world's RAM (dump and helper log in $rot_ctl)")
        fi
    else
        echo "  [FAIL] host: no RAM dump of the guest (see $rot_ctl/control.log)"
        problems+=("no RAM dump of the guest after its cases")
    fi
    if [ ! -f "$out/guest-files/hostscan-marker" ]; then
        echo "  [FAIL] host: the guest's files did not arrive (no hostscan-marker in $out/guest-files)"
        problems+=("the guest's files for the secret scan")
    fi
    "$here/secret-scan.py" files "$rot_secret" "$out" || problems+=("secret scan of the logs and the outputs")

    # The firmware measurement: the guest's `tzwasm info` against the host's computation.
    local guest host sum at
    guest=$(tr -d '\r' <"$log" | sed -n 's/^linux-test: firmware measurement: \([0-9a-f]\{64\}\)$/\1/p' | head -1)
    host=$("${CARGO:-cargo}" run -q --release --manifest-path "$here/../../Cargo.toml" \
        -p tzwasm-provision -- measure "$rot_bl32")
    st=$?
    sum=$(sha256sum <"$rot_bl32" | cut -d' ' -f1)
    at=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().find(open(sys.argv[2], "rb").read()))' \
        "$flash" "$rot_bl32")
    if [ $st = 0 ] && [ -n "$guest" ] && [ "$guest" = "$host" ] && [ "$host" = "$sum" ] && [ "${at:--1}" -ge 0 ]; then
        printf '  [PASS] host: firmware measurement: tzwasm info in the guest = tzwasm-provision measure %s = sha256sum = %s; that BL32 is the one in %s (at %#x)\n' \
            "$rot_bl32" "$host" "$(basename "$flash")" "$at"
    else
        echo "  [FAIL] host: firmware measurement: guest '$guest', tzwasm-provision measure $rot_bl32 '$host' (exit $st), sha256sum '$sum', BL32 at offset '$at' in $flash"
        problems+=("firmware measurement: the guest's tzwasm info differs from the host's")
    fi
}
