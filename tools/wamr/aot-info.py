#!/usr/bin/env python3
"""aot-info: summarise WAMR AOT (version 6) files: target, sections, relocation groups and the
relocation types and symbols they use. A test/diagnostic tool for the corpus; the format facts
are those of /work/shared/WAMR-AOT-ABI.md section 6 (container, TARGET_INFO, RELOCATION).

usage: tools/wamr/aot-info.py [--totals] file.aot...
  --totals   one summary over all files: relocation type counts per machine, symbols used
"""
import struct
import sys
from collections import Counter

SECTION_NAMES = {0: "TARGET_INFO", 1: "INIT_DATA", 2: "TEXT", 3: "FUNCTION", 4: "EXPORT",
                 5: "RELOCATION", 100: "CUSTOM"}
MACHINES = {183: "aarch64", 62: "x86_64"}
# ELF r_type names for the two machines wamrc targets here.
RELOC_NAMES = {
    "aarch64": {
        257: "R_AARCH64_ABS64", 258: "R_AARCH64_ABS32", 261: "R_AARCH64_PREL32",
        263: "R_AARCH64_MOVW_UABS_G0", 264: "R_AARCH64_MOVW_UABS_G0_NC",
        265: "R_AARCH64_MOVW_UABS_G1", 266: "R_AARCH64_MOVW_UABS_G1_NC",
        267: "R_AARCH64_MOVW_UABS_G2", 268: "R_AARCH64_MOVW_UABS_G2_NC",
        269: "R_AARCH64_MOVW_UABS_G3", 275: "R_AARCH64_ADR_PREL_PG_HI21",
        276: "R_AARCH64_ADR_PREL_PG_HI21_NC", 277: "R_AARCH64_ADD_ABS_LO12_NC",
        278: "R_AARCH64_LDST8_ABS_LO12_NC", 282: "R_AARCH64_JUMP26", 283: "R_AARCH64_CALL26",
        284: "R_AARCH64_LDST16_ABS_LO12_NC", 285: "R_AARCH64_LDST32_ABS_LO12_NC",
        286: "R_AARCH64_LDST64_ABS_LO12_NC", 299: "R_AARCH64_LDST128_ABS_LO12_NC",
    },
    "x86_64": {
        1: "R_X86_64_64", 2: "R_X86_64_PC32", 4: "R_X86_64_PLT32", 9: "R_X86_64_GOTPCREL",
        10: "R_X86_64_32", 11: "R_X86_64_32S", 24: "R_X86_64_PC64", 41: "R_X86_64_GOTPCRELX",
        42: "R_X86_64_REX_GOTPCRELX",
    },
}


class Reader:
    def __init__(self, data, pos, end):
        self.d, self.p, self.end = data, pos, end

    def align(self, n):
        self.p = (self.p + n - 1) & ~(n - 1)

    def take(self, n):
        if self.p + n > self.end:
            raise ValueError(f"truncated at offset {self.p} (need {n} bytes)")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def u16(self):
        self.align(2)
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        self.align(4)
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        self.align(4)
        return struct.unpack("<Q", self.take(8))[0]

    def string(self):
        n = self.u16()
        return self.take(n).rstrip(b"\0").decode("utf-8", "replace")


def parse(path):
    data = open(path, "rb").read()
    if len(data) < 8 or data[:4] != b"\0aot":
        raise ValueError("not an AOT file (no \\0aot magic)")
    version = struct.unpack_from("<I", data, 4)[0]
    if version != 6:
        raise ValueError(f"AOT version {version}, this tool reads version 6")
    info = {"sections": [], "machine": "?", "arch": "?", "groups": []}
    pos = 8
    while pos < len(data):
        pos = (pos + 3) & ~3
        if pos + 8 > len(data):
            break
        sid, size = struct.unpack_from("<II", data, pos)
        body, end = pos + 8, pos + 8 + size
        if end > len(data):
            raise ValueError(f"section {sid} truncated at offset {pos}")
        info["sections"].append((SECTION_NAMES.get(sid, f"#{sid}"), pos, size))
        if sid == 0:
            bin_type, _abi, e_type, e_machine = struct.unpack_from("<HHHH", data, body)
            info["machine"] = MACHINES.get(e_machine, f"e_machine {e_machine}")
            info["xip"] = e_type == 4
            info["feature_flags"] = struct.unpack_from("<Q", data, body + 16)[0]
            info["arch"] = data[body + 32:body + 48].split(b"\0")[0].decode()
        elif sid == 5:
            r = Reader(data, body, end)
            is64 = info["machine"] in ("aarch64", "x86_64")
            nsym = r.u32()
            offsets = [r.u32() for _ in range(nsym)]
            r.u32()  # total_string_len
            strings_at = r.p
            names = []
            for off in offsets:
                s = Reader(data, strings_at + off, end)
                names.append(s.string())
            r.p = strings_at + struct.unpack_from("<I", data, strings_at - 4)[0]
            ngroups = r.u32()
            for _ in range(ngroups):
                r.align(4)
                gname = names[r.u32()]
                count = r.u32()
                relocs = []
                for _ in range(count):
                    r.align(4)
                    if is64:
                        off, addend = r.u64(), r.u64()
                    else:
                        off, addend = r.u32(), r.u32()
                    rtype, sym = r.u32(), r.u32()
                    relocs.append((off, addend, rtype, names[sym]))
                info["groups"].append((gname, relocs))
        pos = end
    return info


def sym_class(name):
    if name.startswith("aot_func#"):
        return "aot_func#N"
    if name.startswith("aot_func_internal#"):
        return "aot_func_internal#N"
    return name


def main(argv):
    totals = "--totals" in argv
    files = [a for a in argv if a != "--totals"]
    if not files:
        print(__doc__.strip())
        return 2
    per_machine = {}
    syms = Counter()
    rc = 0
    for f in files:
        try:
            info = parse(f)
        except (OSError, ValueError, IndexError, struct.error) as e:
            print(f"{f}: error: {e}")
            rc = 1
            continue
        m = info["machine"]
        types = per_machine.setdefault(m, Counter())
        for g, relocs in info["groups"]:
            for _off, _add, t, s in relocs:
                types[RELOC_NAMES.get(m, {}).get(t, str(t))] += 1
                syms[sym_class(s)] += 1
        if totals:
            continue
        print(f"{f}: {m} arch={info['arch']} xip={info.get('xip')} "
              f"features=0x{info.get('feature_flags', 0):x}")
        for name, pos, size in info["sections"]:
            print(f"  section {name:<12} at {pos:>8} size {size}")
        for g, relocs in info["groups"]:
            c = Counter(RELOC_NAMES.get(m, {}).get(t, str(t)) for _o, _a, t, _s in relocs)
            print(f"  {g}: {len(relocs)} relocations: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(c.items())))
            s = Counter(sym_class(x) for _o, _a, _t, x in relocs)
            print("    symbols: " + ", ".join(f"{k} x{v}" for k, v in sorted(s.items())))
    if totals:
        for m, c in sorted(per_machine.items()):
            print(f"{m}: " + ", ".join(f"{k} x{v}" for k, v in sorted(c.items())))
        print("symbols: " + ", ".join(f"{k} x{v}" for k, v in sorted(syms.items())))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
