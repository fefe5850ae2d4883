#!/usr/bin/env bash
# Idempotent machine set-up for tzwasm: apt packages, the bookworm deb-src entry,
# Rust targets. Everything fetched into the project lands under .cache/ (gitignored).
# Usage: scripts/setup.sh [base|wamr|linux|all]   (default: base)
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
LINUX_PKGS=(busybox-static cpio)

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
        ;;
    all)
        "$0" base; "$0" wamr; "$0" linux
        ;;
    *) echo "usage: $0 [base|wamr|linux|all]" >&2; exit 2 ;;
esac
