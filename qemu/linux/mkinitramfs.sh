#!/usr/bin/env bash
# Builds the Linux initramfs (gzip'd newc cpio) for the tzwasm QEMU boots.
#
#   qemu/linux/mkinitramfs.sh OUT.cpio.gz DEBIAN_ROOT TZWASM_KO TOOL CORPUS_DIR EXPECTED_DIR AOT...
#
# DEBIAN_ROOT is the unpacked Debian packages (scripts/setup.sh linux): busybox comes from
# there. Layout inside:
#   /init                       qemu/linux/init
#   /bin/busybox                busybox-static:arm64 (applets linked at boot)
#   /lib/modules/tzwasm.ko      the driver, loaded by /init
#   /usr/bin/tzwasm             the tool (and tzwasm-driver-test, the driver's interface test,
#                               and tzwasm-verify, the token verifier, from the same directory)
#   /usr/share/tzwasm/rfc9783   RFC 9783's example token and key (attest/testdata/rfc9783)
#   /usr/share/tzwasm/examples  every .aot of CORPUS_DIR plus the extra AOT files
#   /usr/share/tzwasm/expected  WAMR iwasm's recorded results (per test: stdout, stderr, exit, trap)
#   /usr/share/tzwasm/{manifest.txt,skip.txt}  the corpus tests and the ones left out
#   /usr/share/tzwasm/files     the file corpus (issue 13), from FILES_DIR (build/files) if set:
#                               aarch64-bc{0,1}/*.aot, iwasm's expected/aarch64-bc{0,1}/, the
#                               manifest, the seeds and tools/wamr/files-lib.sh
#   /usr/bin/linux-test, /etc/banner
set -euo pipefail
out=${1:?output}; root=${2:?debian root}; ko=${3:?tzwasm.ko}; tool=${4:?tool}
corpus=${5:?corpus dir}; expected=${6:?expected dir}
shift 6
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

stage=$(mktemp -d "${TMPDIR:-/tmp}/tzwasm-initramfs.XXXXXX")
chmod 755 "$stage"   # the root directory: mktemp makes it 0700, and non-root tests need to get in
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,tmp,run,root,etc} \
    "$stage/usr/share/tzwasm/examples"
cp "$root/bin/busybox" "$stage/bin/busybox"
install -m 755 "$here/init" "$stage/init"
install -m 755 "$here/linux-test.sh" "$stage/usr/bin/linux-test"
install -m 644 "$here/banner" "$stage/etc/banner"
install -m 644 "$here/profile" "$stage/etc/profile"
# The account files every Linux system has (busybox's id and ls use them; the file corpus's
# symlink test points a link at /etc/passwd, which WAMR's rule refuses only if it exists).
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
cp "$ko" "$stage/lib/modules/tzwasm.ko"
"${CROSS_COMPILE:-aarch64-linux-gnu-}strip" -o "$stage/usr/bin/tzwasm" "$tool"
"${CROSS_COMPILE:-aarch64-linux-gnu-}strip" -o "$stage/usr/bin/tzwasm-driver-test" \
    "$(dirname "$tool")/tzwasm-driver-test"
"${CROSS_COMPILE:-aarch64-linux-gnu-}strip" -o "$stage/usr/bin/tzwasm-verify" \
    "$(dirname "$tool")/tzwasm-verify"
mkdir -p "$stage/usr/share/tzwasm/rfc9783"
cp "$top/attest/testdata/rfc9783/psa-sign1.cbor" "$top/attest/testdata/rfc9783/tfm-es-iak.pem" \
    "$stage/usr/share/tzwasm/rfc9783/"
cp "$corpus"/*.aot "$stage/usr/share/tzwasm/examples/"
for f in "$@"; do cp "$f" "$stage/usr/share/tzwasm/examples/"; done
cp -r "$expected" "$stage/usr/share/tzwasm/expected"
cp "$top/guests/manifest.txt" "$stage/usr/share/tzwasm/manifest.txt"
# The device's endorsed attestation key (public), for tzwasm-verify in the guest.
cp "$top/build/device-attestation.pub" "$stage/usr/share/tzwasm/device-attestation.pub"
cp "$top/qemu/bundle-skip.txt" "$stage/usr/share/tzwasm/skip.txt"
if [ -n "${FILES_DIR:-}" ]; then
    f=$stage/usr/share/tzwasm/files
    mkdir -p "$f/expected"
    for v in aarch64-bc0 aarch64-bc1; do
        mkdir -p "$f/$v"
        cp "$FILES_DIR/$v"/*.aot "$f/$v/"
        cp -r "$FILES_DIR/expected/$v" "$f/expected/$v"
    done
    cp "$top/guests/files/manifest.txt" "$top/tools/wamr/files-lib.sh" "$f/"
    cp -r "$top/guests/files/seed" "$f/seed"
fi
# Expected SHA-256 of the 10 MiB writer's output (byte k = (k mod 65536) mod 251, 160 times).
python3 - "$stage/usr/share/tzwasm/write10mib.sha256" <<'PY'
import hashlib, sys
chunk = bytes((k % 251) for k in range(65536))
h = hashlib.sha256()
for _ in range(160):
    h.update(chunk)
open(sys.argv[1], "w").write(h.hexdigest() + "\n")
PY
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) \
    | gzip -6 > "$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1))"
