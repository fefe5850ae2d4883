#!/usr/bin/env bash
# Prints the path of the WAMR 2.4.3 source tree (wasm-micro-runtime/ inside the crates.io crate
# wamrx-sys 0.3.0), fetching the crate with cargo first if it is not in the registry yet.
# Usage: tools/wamr/wamr-src.sh [cargo]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cargo=${1:-${CARGO:-cargo}}
home=${CARGO_HOME:-$HOME/.cargo}

find_src() {
    local d
    for d in "$home"/registry/src/*/wamrx-sys-0.3.0/wasm-micro-runtime; do
        if [ -f "$d/core/version.h" ]; then echo "$d"; return 0; fi
    done
    return 1
}

if ! src=$(find_src); then
    "$cargo" fetch --manifest-path "$here/src-fetch/Cargo.toml" >&2
    src=$(find_src) || { echo "wamr-src: wamrx-sys-0.3.0 not found under $home/registry/src after cargo fetch" >&2; exit 1; }
fi
ver=$(awk '/define WAMR_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' "$src/core/version.h")
if [ "$ver" != "2.4.3" ]; then
    echo "wamr-src: expected WAMR 2.4.3 in $src, found $ver" >&2; exit 1
fi
echo "$src"
