#!/usr/bin/env bash
# Idempotent machine set-up for tzwasm: apt packages, the bookworm deb-src entry,
# Rust targets. Everything fetched into the project lands under .cache/ (gitignored).
# Usage: scripts/setup.sh [base|wamr|linux|fuzz|all]   (default: base)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/.cache"
mkdir -p "$cache"
what=${1:-base}

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

BASE_PKGS=(qemu-system-arm gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
           build-essential dpkg-dev device-tree-compiler libssl-dev python3 xxd)
WAMR_PKGS=(llvm-19-dev cmake ninja-build zlib1g-dev libzstd-dev libxml2-dev libedit-dev libffi-dev
           libcurl4-openssl-dev clang lld wasi-libc libclang-rt-14-dev-wasm32 wabt qemu-user
           g++-aarch64-linux-gnu)
LINUX_PKGS=(cpio kmod)

apt_updated=""
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
    echo "setup: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

deb_src() {
    local f=/etc/apt/sources.list.d/tzwasm-deb-src.sources
    if [ ! -f "$f" ]; then
        echo "setup: adding bookworm deb-src entry ($f)"
        $SUDO tee "$f" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        $SUDO apt-get update -qq; apt_updated=1
    fi
}

tfa_source() {
    # TF-A 2.8 from Debian's source package, unpacked once into .cache/tf-a.
    if [ ! -f "$cache/tf-a/Makefile" ]; then
        deb_src
        rm -rf "$cache/tfa-src" && mkdir -p "$cache/tfa-src"
        (cd "$cache/tfa-src" && apt-get source -qq arm-trusted-firmware >/dev/null)
        d=$(find "$cache/tfa-src" -maxdepth 1 -mindepth 1 -type d -name 'arm-trusted-firmware-*' | head -1)
        [ -n "$d" ] || { echo "setup: apt-get source arm-trusted-firmware gave no tree" >&2; exit 1; }
        rm -rf "$cache/tf-a" && mv "$d" "$cache/tf-a"
        echo "setup: TF-A source in $cache/tf-a"
    fi
}

rust_targets() {
    local have
    have=$(rustup target list --installed)
    for t in "$@"; do
        grep -qx "$t" <<<"$have" || rustup target add "$t"
    done
    rustup component list --installed | grep -q '^clippy' || rustup component add clippy
    rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
}

linux_debs() {
    # Debian's current arm64 kernel (image + headers, resolved from apt through the
    # linux-image-arm64 metapackage, never pinned), the host (amd64) linux-kbuild for the
    # module build, and busybox-static for arm64, unpacked once into .cache/linux/<version>/.
    # .cache/linux/current names the version in use.
    local l="$cache/linux"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "setup: dpkg --add-architecture arm64"
        $SUDO dpkg --add-architecture arm64
        $SUDO apt-get update -qq; apt_updated=1
    fi
    local img
    img=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null \
          | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -1)
    if [ -z "$img" ] && [ -z "$apt_updated" ]; then
        $SUDO apt-get update -qq; apt_updated=1
        img=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null \
              | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\).*/\1/p' | head -1)
    fi
    [ -n "$img" ] || { echo "setup: cannot resolve linux-image-arm64:arm64 from apt (apt-get update?)" >&2; exit 1; }
    local abi=${img#linux-image-}          # e.g. 6.1.0-56-arm64
    local base=${abi%-arm64}               # e.g. 6.1.0-56
    local series=${abi%%-*}; series=${series%.*}   # e.g. 6.1
    local dir="$l/$abi"
    if [ ! -f "$dir/.complete" ]; then
        echo "setup: fetching Debian arm64 kernel $abi (image, headers, kbuild) and busybox-static:arm64"
        rm -rf "$dir" && mkdir -p "$dir/debs" "$dir/root"
        (cd "$dir/debs" && apt-get download -qq -o APT::Sandbox::User=root "$img:arm64" "linux-headers-$abi:arm64" \
            "linux-headers-$base-common" "linux-kbuild-$series" busybox-static:arm64)
        for d in "$dir"/debs/*.deb; do dpkg -x "$d" "$dir/root"; done
        # The headers' Makefile includes the -common tree by its absolute installed path.
        sed -i "s|/usr/src/|$dir/root/usr/src/|" "$dir/root/usr/src/linux-headers-$abi/Makefile"
        [ -f "$dir/root/boot/vmlinuz-$abi" ] || { echo "setup: no vmlinuz-$abi in the image package" >&2; exit 1; }
        [ -x "$dir/root/bin/busybox" ] || { echo "setup: no busybox in busybox-static:arm64" >&2; exit 1; }
        # The initramfs needs none of the kernel's own modules (about 300 MB).
        rm -rf "$dir/root/lib/modules" "$dir/debs"
        touch "$dir/.complete"
    fi
    ln -sfn "$abi" "$l/current"
}

cargo_fuzz() {
    # cargo fuzz from crates.io; it runs on the stable toolchain with RUSTC_BOOTSTRAP=1 (mk/fuzz.mk).
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "setup: cargo install cargo-fuzz"
        cargo install --locked cargo-fuzz --version 0.13.2
    fi
}

case "$what" in
    base)
        apt_install "${BASE_PKGS[@]}"
        tfa_source
        rust_targets aarch64-unknown-none-softfloat
        ;;
    wamr)
        apt_install "${BASE_PKGS[@]}" "${WAMR_PKGS[@]}"
        rust_targets aarch64-unknown-none-softfloat aarch64-unknown-linux-musl wasm32-wasip1
        ;;
    linux)
        apt_install "${BASE_PKGS[@]}" "${LINUX_PKGS[@]}"
        tfa_source
        rust_targets aarch64-unknown-none-softfloat aarch64-unknown-linux-musl
        linux_debs
        ;;
    fuzz)
        apt_install "${BASE_PKGS[@]}"
        cargo_fuzz
        ;;
    all)
        "$0" base; "$0" wamr; "$0" linux; "$0" fuzz
        ;;
    *) echo "usage: $0 [base|wamr|linux|fuzz|all]" >&2; exit 2 ;;
esac
