#!/usr/bin/env python3
"""Packs the aarch64 corpus's tests (WASI commands and export calls) into one file the bare-metal test client runs
through the tzwasm protocol (SESSION_OPEN, LOAD, RUN/RESUME), with iwasm's recorded results.

  qemu/make-bundle.py MANIFEST CORPUS_DIR EXPECTED_DIR OUT [SKIP_FILE]

Layout (little-endian): "TZBN", u32 count, then `count` 96-byte entries
  u32 variant (0 = bc0, 1 = bc1), u32 reserved,
  u64 name_off, name_len, run_off, run_len, aot_off, aot_len, out_off, out_len, err_off, err_len,
  u32 exit_code, i32 trap_id (-1: no trap; -2: a trap whose message has no WAMR id),
then the blobs (8-aligned), then one zero page for LOAD's report. The run block is
tzwasm-smc's RunBlock: u32 argc, envc, entry_len, 0, the export name (empty for _start), then
NUL-terminated strings.
"""
import os
import struct
import sys

# WAMR exception ids (core/iwasm/common/wasm_runtime.h) of the messages iwasm prints.
TRAP_IDS = {
    "unreachable": 0,
    "out of bounds memory access": 2,
    "integer overflow": 3,
    "integer divide by zero": 4,
    "invalid conversion to integer": 5,
    "indirect call type mismatch": 6,
    "undefined element": 8,
    "uninitialized element": 9,
    "native stack overflow": 11,
    "out of bounds table access": 15,
}
VARIANTS = [("aarch64-bc0", 0), ("aarch64-bc1", 1)]


def decode(word):
    return word.replace("%20", " ").replace("%25", "%").encode()


def run_block(entry, args, env):
    strings = b"".join(s + b"\0" for s in args + env)
    return struct.pack("<IIII", len(args), len(env), len(entry), 0) + entry + strings


def main():
    manifest, corpus, expected, out = sys.argv[1:5]
    skip = {}
    if len(sys.argv) > 5:
        for line in open(sys.argv[5]):
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, why = line.partition(" ")
                skip[name] = why.strip()
    tests = []
    for line in open(manifest):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        test, module, entry, args, env = (line.split("|") + [""] * 5)[:5]
        if test in skip:
            continue
        export = b"" if entry == "main" else entry.removeprefix("func:").encode()
        tests.append((test, module, export, args.split(), env.split()))
    entries, blobs = [], bytearray()
    base = 8 + 96 * len(tests) * len(VARIANTS)

    def put(data):
        while (base + len(blobs)) % 8:
            blobs.append(0)
        off = base + len(blobs)
        blobs.extend(data)
        return off, len(data)

    for variant, vid in VARIANTS:
        for test, module, export, args, env in tests:
            exp = os.path.join(expected, variant, test)
            read = lambda f: open(os.path.join(exp, f), "rb").read() if os.path.exists(os.path.join(exp, f)) else b""
            trap = read("trap").decode().strip()
            trap_id = -1 if not trap else TRAP_IDS.get(trap, -2)
            exit_code = int(read("exit").decode().strip() or "0")
            argv = [f"{module}.aot".encode()] + [decode(a) for a in args]
            fields = [
                put(f"{variant}/{test}".encode()),
                put(run_block(export, argv, [decode(e) for e in env])),
                put(open(os.path.join(corpus, variant, module + ".aot"), "rb").read()),
                put(read("stdout")),
                put(read("stderr")),
            ]
            entries.append(struct.pack("<II", vid, 0)
                           + b"".join(struct.pack("<QQ", o, n) for o, n in fields)
                           + struct.pack("<Ii", exit_code & 0xffffffff, trap_id))
    data = b"TZBN" + struct.pack("<I", len(entries)) + b"".join(entries) + bytes(blobs)
    data += bytes((-len(data)) % 4096) + bytes(4096)
    with open(out, "wb") as f:
        f.write(data)
    print(f"bundle: {len(entries)} runs ({len(tests)} tests x {len(VARIANTS)} variants), "
          f"{len(data) >> 10} KiB, skipped: {', '.join(sorted(skip)) or 'none'}")


if __name__ == "__main__":
    main()
