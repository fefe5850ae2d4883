#!/usr/bin/env python3
"""Issue 12's secret scan: the device secret must never leave the secure world.

The host side of `make linux-test`'s root-of-trust checks (qemu/linux/root-of-trust-checks.sh).
Nothing here prints the secret or any encoding of it: a hit is reported as the encoding's
name and an offset.

  secret-scan.py control DIR
      Runs beside the boot (boot-linux.sh with TZWASM_QEMU_CONTROL=DIR): connects to the
      guest console's socket DIR/console.sock (QEMU waits for it before it starts) and drains
      it. When the guest's /init prints "@@TZWASM-HOSTSCAN-READY MARKER@@" it has run every
      case and waits for a console line: this pauses the VM (`stop` on the HMP monitor
      DIR/monitor.sock), saves the whole normal-world DRAM to DIR/ns-dram.bin (`pmemsave`),
      resumes it and sends the guest its line, so the dump cannot race the power-off.
      Writes DIR/marker (MARKER) and DIR/dump.ok once the dump is complete.
  secret-scan.py selftest SECRET FLASH
      Positive controls: the scanner finds the secret in every encoding it looks for (in
      memory, never written anywhere), split across a page, in SECRET itself and in the
      booted flash image's device page.
  secret-scan.py dump SECRET DUMP MARKER [FILE...]
      The dump must hold the normal world's memory (MARKER and each FILE's first page, e.g.
      the attestation token the guest left in its tmpfs) and no trace of the secret.
  secret-scan.py files SECRET PATH...
      No regular file under the PATHs (logs, the files the guest's cases produced, host
      outputs) holds a trace of the secret.

Encodings: the raw bytes, hex (any case) and base64 (standard or URL-safe alphabet, at each
of the 3 byte alignments a longer encoded blob can put the secret at). Each is searched as two
halves, so a copy split anywhere (e.g. across two non-adjacent pages) still leaves one half
whole. Exit status 0 if every check passed, 1 otherwise, 2 on usage errors.
"""

import base64
import mmap
import os
import re
import socket
import sys
import threading
import time

SECRET_LEN = 32
# QEMU virt's normal-world DRAM starts here (boot-linux.sh runs it with -m 1024).
NS_DRAM_BASE = 0x40000000
# The device page (mk/device.mk): DEVICE_PAGE_OFFSET plus the 16-byte header.
DEVICE_SECRET_OFFSET = 0x3F000 + 16
CHUNK = 64 << 20

# Text encodings are compared after folding A-F to a-f and the URL-safe base64 letters to the
# standard ones, in the haystack and in the needle alike: one search covers both cases of hex
# and both base64 alphabets (a fold can only add matches, at odds of 2^-100 and less).
FOLD = bytes.maketrans(b"ABCDEF-_", b"abcdef+/")


def read_secret(path):
    with open(path, "rb") as f:
        secret = f.read()
    if len(secret) != SECRET_LEN:
        raise SystemExit(f"secret-scan: {path} is {len(secret)} bytes, not {SECRET_LEN}")
    return secret


def b64_core(secret, align):
    """The base64 characters that depend on the secret alone, when `align` bytes of something
    else precede it in its first 3-byte group."""
    enc = base64.b64encode(bytes(align) + secret)
    first = 1 if align else 0
    last = (align + len(secret)) // 3
    return enc[4 * first : 4 * last]


def needles(secret):
    """(name, bytes, folded) for every half of every encoding."""
    whole = [("raw bytes", secret, False), ("hex", secret.hex().encode(), True)]
    for align in range(3):
        whole.append((f"base64 (alignment {align})", b64_core(secret, align), True))
    out = []
    for name, enc, folded in whole:
        half = len(enc) // 2
        if folded:
            enc = enc.translate(FOLD)
        out.append((f"{name}, first half", enc[:half], folded))
        out.append((f"{name}, second half", enc[half:], folded))
    return out


def scan_buffer(buf, secret):
    """[(name, offset)] of every needle found in buf (a bytes-like object), the first hit of each."""
    ns = needles(secret)
    overlap = max(len(n) for _, n, _ in ns) - 1
    hits = {}
    pos = 0
    size = len(buf)
    while pos < size:
        end = min(size, pos + CHUNK)
        chunk = bytes(buf[max(0, pos - overlap) : end])
        base = max(0, pos - overlap)
        folded = None
        for name, needle, fold in ns:
            if name in hits:
                continue
            if fold:
                if folded is None:
                    folded = chunk.translate(FOLD)
                at = folded.find(needle)
            else:
                at = chunk.find(needle)
            if at >= 0:
                hits[name] = base + at
        pos = end
    return sorted(hits.items(), key=lambda h: h[1])


def scan_file(path, secret):
    size = os.path.getsize(path)
    if size == 0:
        return []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return scan_buffer(m, secret)


def describe(hits):
    return ", ".join(f"{name} at {at:#x}" for name, at in hits)


# ---- control: pause, dump and resume the guest -------------------------------------------


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Monitor:
    """QEMU's human monitor over a unix socket: a command, then its output up to the prompt."""

    def __init__(self, path, log):
        self.sock = connect(path, time.monotonic() + 10)
        self.log = log
        self.read_to_prompt()

    def read_to_prompt(self):
        data = b""
        while not data.endswith(b"(qemu) "):
            part = self.sock.recv(4096)
            if not part:
                raise OSError("monitor closed")
            data += part
        self.log.write(data.decode(errors="replace"))
        self.log.flush()
        # The monitor echoes the command line with terminal escapes; keep the text lines.
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", data.decode(errors="replace"))
        return text

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.read_to_prompt()


def control(ctl):
    log = open(os.path.join(ctl, "control.log"), "w")
    # QEMU waits for this connection before it runs the machine (server=on,wait=on).
    try:
        console = connect(os.path.join(ctl, "console.sock"), time.monotonic() + 120)
    except OSError as e:
        log.write(f"no console socket: {e}\n")
        return 1
    log.write("console connected\n")
    log.flush()
    ready = re.compile(rb"@@TZWASM-HOSTSCAN-READY (tzwasm-hostscan-[0-9a-f]{32})@@")
    tail = b""
    while True:
        part = console.recv(65536)
        if not part:
            log.write("console closed before the guest was ready\n")
            return 1
        tail = (tail + part)[-256:]
        m = ready.search(tail)
        if m:
            break
    marker = m.group(1).decode()
    # Keep draining the console (QEMU's UART blocks when nobody reads) until QEMU exits.
    def drain():
        while console.recv(65536):
            pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    dump = os.path.join(ctl, "ns-dram.bin")
    try:
        mon = Monitor(os.path.join(ctl, "monitor.sock"), log)
        mon.cmd("stop")
        sizes = mon.cmd("info memory_size_summary")
        m = re.search(r"base memory: (\d+)", sizes)
        if not m:
            raise OSError(f"no base memory size in {sizes!r}")
        size = int(m.group(1))
        mon.cmd(f'pmemsave {NS_DRAM_BASE:#x} {size:#x} "{dump}"')
        got = os.path.getsize(dump) if os.path.exists(dump) else -1
        if got != size:
            raise OSError(f"{dump}: {got} bytes, the guest has {size}")
        mon.cmd("cont")
        with open(os.path.join(ctl, "marker"), "w") as f:
            f.write(marker + "\n")
        with open(os.path.join(ctl, "dump.ok"), "w") as f:
            f.write(f"{NS_DRAM_BASE:#x} {size}\n")
        status = 0
    except OSError as e:
        log.write(f"dump failed: {e}\n")
        status = 1
    # The guest's line: it powers off either way (it gives up by itself after 300 s).
    console.sendall(b"dumped\n" if status == 0 else b"dump-failed\n")
    drainer.join()
    log.write("console closed\n")
    log.close()
    return status


# ---- the checks ---------------------------------------------------------------------------


def ok(line):
    print(f"  [PASS] host: {line}")


def bad(line):
    print(f"  [FAIL] host: {line}")


def selftest(secret_path, flash):
    secret = read_secret(secret_path)
    rnd = os.urandom
    failures = []
    cases = [("raw bytes", rnd(999) + secret + rnd(999))]
    cases.append(("hex", rnd(99) + secret.hex().encode() + rnd(99)))
    cases.append(("hex", rnd(99) + secret.hex().upper().encode() + rnd(99)))
    for align in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            # The secret inside a longer blob, `align` bytes into a 3-byte group.
            blob = rnd(3 * 7 + align) + secret + rnd(20)
            cases.append((f"base64 (alignment {align})", b"x" + enc(blob) + b"y"))
    # Split across two pages that are not adjacent: one half stays whole.
    cases.append(("raw bytes, second half", rnd(100) + secret[:5] + rnd(4096) + secret[5:] + rnd(9)))
    for want, buf in cases:
        hits = scan_buffer(buf, secret)
        if not any(name.startswith(want) for name, _ in hits):
            failures.append(f"a buffer with the secret as {want}: no hit")
    # A buffer with everything but the secret: nothing.
    near = bytearray(secret)
    near[0] ^= 1
    near[31] ^= 1
    if scan_buffer(bytes(near) + bytes(near).hex().encode(), secret):
        failures.append("a near miss (first and last byte changed) was reported as the secret")
    real = []
    for path, want_at in ((secret_path, 0), (flash, DEVICE_SECRET_OFFSET)):
        hits = dict(scan_file(path, secret))
        if hits.get("raw bytes, first half") != want_at:
            failures.append(f"{path}: raw secret not found at {want_at:#x} ({describe(hits.items()) or 'no hit'})")
        else:
            real.append(f"{os.path.basename(path)} at {want_at:#x}")
    if failures:
        bad("secret scan positive control: " + "; ".join(failures))
        return 1
    ok(f"secret scan positive control: finds the secret in {len(cases)} planted buffers (raw, hex in "
       "either case, base64 in both alphabets at each alignment, split across pages), not in a near "
       f"miss, and where it is: {', '.join(real)}")
    return 0


def check_dump(secret_path, dump, marker, files):
    secret = read_secret(secret_path)
    size = os.path.getsize(dump)
    with open(dump, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        missing = []
        known = [("the marker " + marker, marker.encode())]
        for path in files:
            with open(path, "rb") as g:
                head = g.read(4096)
            if len(head) >= 16:
                known.append((f"{os.path.basename(path)} ({len(head)} bytes)", head))
        for name, needle in known:
            if m.find(needle) < 0:
                missing.append(name)
        hits = scan_buffer(m, secret)
    status = 0
    if missing:
        bad(f"normal-world RAM dump ({size >> 20} MiB) lacks what the guest holds: {', '.join(missing)}")
        status = 1
    else:
        ok(f"normal-world RAM dump ({size >> 20} MiB from {NS_DRAM_BASE:#x}, VM paused after the cases) "
           f"holds the guest's memory: {', '.join(n for n, _ in known)}")
    if hits:
        bad(f"the device secret is in normal-world memory: {describe(hits)} (dump kept: {dump})")
        status = 1
    else:
        ok("the device secret is nowhere in normal-world memory (all DRAM, shared memory included): "
           "not raw, not hex, not base64")
    return status


def check_files(secret_path, paths):
    secret = read_secret(secret_path)
    found = []
    n = total = 0
    every = []
    for top in paths:
        if os.path.isdir(top):
            every += [os.path.join(d, name) for d, _, names in os.walk(top) for name in names]
        else:
            every.append(top)
    for path in every:
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        n += 1
        total += os.path.getsize(path)
        hits = scan_file(path, secret)
        if hits:
            found.append(f"{path}: {describe(hits)}")
    if not n:
        bad(f"secret scan of {' '.join(paths)}: no files")
        return 1
    if found:
        bad("the device secret is in " + "; ".join(found))
        return 1
    ok(f"the device secret is in none of {n} files ({total / 1e6:.1f} MB: the consoles, the guest's case "
       "outputs, tokens and sealed blobs, host outputs): not raw, not hex, not base64")
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "control":
        return control(argv[1])
    if len(argv) == 3 and argv[0] == "selftest":
        return selftest(argv[1], argv[2])
    if len(argv) >= 4 and argv[0] == "dump":
        return check_dump(argv[1], argv[2], argv[3], argv[4:])
    if len(argv) >= 3 and argv[0] == "files":
        return check_files(argv[1], argv[2:])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
