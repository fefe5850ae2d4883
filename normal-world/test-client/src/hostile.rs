//! Hostile modules: hand-made AOT files (tools/hostile-aot, preloaded by QEMU as one bundle)
//! whose code attacks the payload from S-EL0. This module owns their checks: for each case,
//! the real payload addresses (TEST_MEASURE selectors 1 and 2) are patched into the module's
//! literal pool, the payload is measured (TEST_MEASURE selector 0), the module is LOADed and
//! RUN through the shared runner, and its end (trap with the expected message, exit code,
//! preemption and CANCEL, or for container-level attacks LOAD's refusal) is checked, with no
//! byte of output; then the payload is measured
//! again (it must be unchanged) and a good module must still run. Finally the pool must be
//! back at its baseline.
//!
//! Bundle layout: see `tzwasm_hostile_aot::make_bundle` (tools/hostile-aot/src/lib.rs).

use core::fmt::{self, Write as _};
use tzwasm_smc::args::ShmHandle;

use tzwasm_smc::call::{ids, MeasureSelector};
use tzwasm_smc::ring::{SharedRegion, Stream};
use tzwasm_smc::runner::{
    load_report_offset, run_offset, Error as RunnerError, RunEnd, RunObserver, RunOutcome,
    RunRequest, Session, SharedArea,
};
use tzwasm_smc::{Client, ClientError};

use crate::checks::Smc;
use crate::report::Report;
use crate::{arch, println};

/// Where QEMU preloads the bundle, and the u64 word holding its length.
const BUNDLE: u64 = 0x7e00_0000;
const BUNDLE_LEN_WORD: u64 = 0x71ff_f058;
/// Work area for a module, its LOAD report and its run (registered for each case).
const WORK: u64 = 0x7f00_0000;
const WORK_SIZE: u64 = 0x4_0000;
/// The hello module, its length word, and its expected stdout with its length word.
const HELLO: u64 = 0x7200_0000;
const HELLO_LEN_WORD: u64 = 0x71ff_f000;
const HELLO_STDOUT: u64 = 0x7780_0000;
const HELLO_STDOUT_LEN_WORD: u64 = 0x71ff_f020;

const MAGIC: &[u8; 8] = b"TZHOSTL1";
const ENTRY_SIZE: u64 = 256;
const MAX_PATCHES: u64 = 8;
/// Most cases a bundle may hold.
const MAX_CASES: u64 = 64;
/// Milliseconds until the normal-world timer preempts a run: the spinning case waits for it;
/// any other case must have ended long before (else it fails, cancelled).
const PREEMPT_MS: u64 = 100;
/// A cancelled case must return INTERRUPTED within this many ms after the timer fires (QEMU's
/// timing is loose; a module that kept the CPU in the secure world, like a 1 s sleep in an
/// SVC, is far beyond it).
const PREEMPT_SLACK_MS: u64 = 300;

fn read_u64(addr: u64) -> u64 {
    // SAFETY: normal-world RAM the harness preloads (or zero) and nothing else writes.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

fn read_u32(addr: u64) -> u32 {
    // SAFETY: as in read_u64.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn bytes(addr: u64, len: u64) -> &'static [u8] {
    // SAFETY: preloaded normal-world RAM inside the bundle (the caller checks the range
    // against the bundle's length), never written while the checks run.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) }
}

fn text(field: &[u8]) -> &str {
    let n = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    core::str::from_utf8(&field[..n]).unwrap_or("?")
}

/// A fixed-size line for check names.
pub(crate) struct Line {
    buf: [u8; 160],
    len: usize,
}

impl Line {
    pub(crate) fn of(args: fmt::Arguments<'_>) -> Self {
        let mut l = Line {
            buf: [0; 160],
            len: 0,
        };
        let _ = l.write_fmt(args);
        l
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("hostile: ?")
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut b = [0u8; 4];
            let e = c.encode_utf8(&mut b).as_bytes();
            if self.len + e.len() > self.buf.len() {
                break;
            }
            self.buf[self.len..self.len + e.len()].copy_from_slice(e);
            self.len += e.len();
        }
        Ok(())
    }
}

/// One case of the bundle.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) message: &'static str,
    pub(crate) kind: u32,
    pub(crate) value: u32,
    pub(crate) file: &'static [u8],
    /// (offset in the file, target, addend).
    pub(crate) patches: [(u64, u32, u64); MAX_PATCHES as usize],
    pub(crate) npatches: usize,
}

/// The bundle's cases, or why there are none.
pub(crate) fn bundle() -> Result<(u64, u64), &'static str> {
    let len = read_u64(BUNDLE_LEN_WORD);
    if !(16..=0x100_0000).contains(&len) {
        return Err("no hostile bundle preloaded");
    }
    if bytes(BUNDLE, 8) != MAGIC {
        return Err("bad bundle magic");
    }
    let count = u64::from(read_u32(BUNDLE + 8));
    if count > MAX_CASES || 16 + count * ENTRY_SIZE > len {
        return Err("bad bundle header");
    }
    Ok((count, len))
}

pub(crate) fn case(i: u64, len: u64) -> Option<Case> {
    let e = BUNDLE + 16 + ENTRY_SIZE * i;
    let head = bytes(e, ENTRY_SIZE);
    let (off, flen) = (u64::from(read_u32(e + 104)), u64::from(read_u32(e + 108)));
    if off.checked_add(flen)? > len || flen == 0 {
        return None;
    }
    let npatches = u64::from(read_u32(e + 112)).min(MAX_PATCHES) as usize;
    let mut patches = [(0, 0, 0); MAX_PATCHES as usize];
    for (k, p) in patches.iter_mut().enumerate().take(npatches) {
        let at = e + 120 + 16 * k as u64;
        *p = (u64::from(read_u32(at)), read_u32(at + 4), read_u64(at + 8));
        if p.0 + 8 > flen {
            return None;
        }
    }
    Some(Case {
        name: text(&head[..32]),
        message: text(&head[32..96]),
        kind: read_u32(e + 96),
        value: read_u32(e + 100),
        file: bytes(BUNDLE + off, flen),
        patches,
        npatches,
    })
}

pub(crate) fn measure(selector: MeasureSelector) -> Result<[u64; 3], ClientError> {
    Smc.invoke_checked(ids::TEST_MEASURE, [selector.to_raw(), 0, 0, 0, 0, 0, 0])
}

/// Counts output, compares stdout with expected bytes (when given), and cancels the run at
/// the first interruption.
pub(crate) struct Watch {
    expected: Option<&'static [u8]>,
    seen: [u64; 2],
    mismatches: u64,
    interrupted: bool,
    /// OUTPUT_PENDING pauses so far (none expected from a module that writes nothing: after
    /// 100 the run is cancelled rather than resumed forever).
    pauses: u32,
    /// Counter values when the timer was armed and when the first INTERRUPTED came back.
    armed_at: u64,
    interrupted_at: u64,
}

impl Watch {
    pub(crate) fn new(expected: Option<&'static [u8]>) -> Self {
        Watch {
            expected,
            seen: [0; 2],
            mismatches: 0,
            interrupted: false,
            pauses: 0,
            armed_at: 0,
            interrupted_at: 0,
        }
    }
}

impl RunObserver for Watch {
    fn output(&mut self, stream: Stream, out: &[u8]) {
        let i = stream.index();
        if let (0, Some(exp)) = (i, self.expected) {
            for (k, &b) in out.iter().enumerate() {
                if exp.get(self.seen[0] as usize + k) != Some(&b) {
                    self.mismatches += 1;
                }
            }
        }
        self.seen[i] += out.len() as u64;
    }

    fn interrupted(&mut self, _n: u32) {
        crate::irq::disarm();
        if !self.interrupted {
            self.interrupted_at = arch::counter();
        }
        self.interrupted = true;
    }

    fn paused(&mut self, pause: u32, _ring: SharedRegion<'_>) -> bool {
        self.pauses = pause;
        true
    }

    fn cancel_requested(&mut self) -> bool {
        self.interrupted || self.pauses > 100
    }
}

fn work_area(handle: ShmHandle) -> SharedArea<'static> {
    // SAFETY: [WORK, WORK + WORK_SIZE) is normal-world RAM only this module uses, registered
    // as `handle`; page-aligned, so never refused.
    let mem = unsafe { SharedRegion::new(WORK as *mut u8, WORK_SIZE as usize) }
        .expect("page-aligned work area");
    SharedArea { handle, mem }
}

/// LOADs `len` bytes already at offset 0 of the work area and RUNs `_start` with the timer
/// armed as a safety net.
pub(crate) fn load_and_run(len: usize, watch: &mut Watch) -> Result<RunOutcome, RunnerError> {
    let handle = Smc
        .shm_register(WORK, WORK_SIZE)
        .map_err(RunnerError::Client)?;
    let area = work_area(handle);
    let result = (|| {
        let report = load_report_offset(len).ok_or(RunnerError::BadRequest)?;
        let at = run_offset(len).ok_or(RunnerError::BadRequest)?;
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, 8 << 20)?;
        session.load_at(&area, 0, len, report)?;
        let req = RunRequest {
            entry: b"",
            args: &[b"hostile"],
            env: &[],
            ring_capacity: 4096,
            receipt_nonce: None,
            stdin_capacity: None,
            files: None,
        };
        crate::irq::arm(PREEMPT_MS);
        watch.armed_at = arch::counter();
        let outcome = session.run(&area, at, &req, watch);
        crate::irq::disarm();
        let outcome = outcome?;
        session.close()?;
        Ok(outcome)
    })();
    let unreg = Smc.shm_unregister(handle);
    let outcome = result?;
    unreg.map_err(RunnerError::Client)?;
    Ok(outcome)
}

/// Copies `file` into the work area (no registration is live on it meanwhile).
pub(crate) fn stage(file: &[u8]) -> bool {
    // SAFETY: as in work_area; nothing is registered or running on it right now.
    let mem = unsafe { SharedRegion::new(WORK as *mut u8, WORK_SIZE as usize) };
    mem.is_ok_and(|m| m.write_bytes(0, file))
}

pub(crate) fn write_word(off: u64, v: u64) -> bool {
    // SAFETY: as in stage.
    let mem = unsafe { SharedRegion::new(WORK as *mut u8, WORK_SIZE as usize) };
    mem.is_ok_and(|m| m.write_bytes(off as usize, &v.to_le_bytes()))
}

/// The hello module runs and prints exactly its expected stdout.
fn good_run() -> Result<(), Line> {
    let (len, out_len) = (read_u64(HELLO_LEN_WORD), read_u64(HELLO_STDOUT_LEN_WORD));
    if !(64..WORK_SIZE / 2).contains(&len) || out_len == 0 || out_len > 4096 {
        return Err(Line::of(format_args!("no hello module preloaded")));
    }
    if !stage(bytes(HELLO, len)) {
        return Err(Line::of(format_args!("cannot stage hello")));
    }
    let mut watch = Watch::new(Some(bytes(HELLO_STDOUT, out_len)));
    match load_and_run(len as usize, &mut watch) {
        Ok(r)
            if r.end == RunEnd::Exited(0)
                && watch.mismatches == 0
                && watch.seen == [out_len, 0]
                && !watch.interrupted =>
        {
            Ok(())
        }
        Ok(r) => Err(Line::of(format_args!(
            "hello: {:?}, seen {:?}, {} mismatches",
            r.end, watch.seen, watch.mismatches
        ))),
        Err(e) => Err(Line::of(format_args!("hello: {e}"))),
    }
}

/// Milliseconds from arming the timer to the first INTERRUPTED.
fn latency_ms(watch: &Watch) -> u64 {
    watch.interrupted_at.wrapping_sub(watch.armed_at) * 1000 / arch::counter_frequency().max(1)
}

/// Checks how a case ended against what the bundle expects.
/// Secure DRAM of QEMU virt, where the payload runs with VA == PA.
const SECURE_DRAM: core::ops::Range<u64> = 0x0e00_0000..0x0f00_0000;

/// True if `msg` names no secure address (issue 11: reports give window offsets, never a
/// secure VA): no hexadecimal number in it has more than 8 digits (module windows are at 512
/// GiB and up) or lies in secure DRAM (the payload's own addresses). ESR values, exception
/// classes and window offsets are all below both.
pub(crate) fn names_no_secure_address(msg: &str) -> bool {
    let b = msg.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'0' && (b[i + 1] == b'x' || b[i + 1] == b'X') {
            let digits = b[i + 2..]
                .iter()
                .take_while(|d| d.is_ascii_hexdigit())
                .count();
            let text = &msg[i + 2..i + 2 + digits];
            match u64::from_str_radix(text, 16) {
                Ok(v) if digits <= 8 && !SECURE_DRAM.contains(&v) => {}
                Ok(_) => return false,
                Err(_) if digits == 0 => {}
                Err(_) => return false, // more than 64 bits of digits
            }
            i += 2 + digits;
        } else {
            i += 1;
        }
    }
    true
}

pub(crate) fn judge(c: &Case, r: &RunOutcome, watch: &Watch) -> Result<Line, Line> {
    let msg = r.report.as_ref().map_or("", |rep| rep.message());
    if !names_no_secure_address(msg) {
        return Err(Line::of(format_args!(
            "the report names a secure address: {msg}"
        )));
    }
    if watch.seen != [0, 0] {
        return Err(Line::of(format_args!(
            "{} output bytes reached the ring: {:?}",
            watch.seen[0] + watch.seen[1],
            watch.seen
        )));
    }
    let ok = match (c.kind, r.end) {
        (0, RunEnd::Trapped(id)) => {
            let id_ok = if c.value == u32::MAX {
                id.is_none()
            } else {
                id == Some(c.value)
            };
            id_ok && msg.contains(c.message)
        }
        (1, RunEnd::Exited(code)) => code == c.value && !watch.interrupted,
        (2, RunEnd::Cancelled) => {
            watch.interrupted
                && r.interruptions >= 1
                && latency_ms(watch) <= PREEMPT_MS + PREEMPT_SLACK_MS
        }
        _ => false,
    };
    let summary = match r.end {
        RunEnd::Trapped(_) => Line::of(format_args!("trapped: {msg}")),
        RunEnd::Exited(code) => Line::of(format_args!("exit {code}")),
        RunEnd::Cancelled => Line::of(format_args!(
            "INTERRUPTED {} ms after the timer was armed ({PREEMPT_MS} ms), cancelled",
            latency_ms(watch)
        )),
    };
    if ok {
        Ok(summary)
    } else {
        Err(Line::of(format_args!(
            "{} (expected {}{} \"{}\")",
            summary.as_str(),
            ["trap", "exit", "cancel", "LOAD refused"]
                .get(c.kind as usize)
                .unwrap_or(&"?"),
            match c.kind {
                0 if c.value != u32::MAX => " id",
                _ => "",
            },
            c.message
        )))
    }
}

/// Every hostile case of the preloaded bundle.
pub fn hostile_checks(report: &mut Report) {
    let (count, len) = match bundle() {
        Ok(b) => b,
        Err(why) => {
            report.skip("hostile: hostile modules", why);
            return;
        }
    };
    let (Ok(a), Ok(b)) = (
        measure(MeasureSelector::Addresses),
        measure(MeasureSelector::MoreAddresses),
    ) else {
        report.skip("hostile: hostile modules", "TEST_MEASURE not served");
        return;
    };
    // Target numbering of tools/hostile-aot: text, canary, rodata, data, stacks, pool.
    let targets = [a[0], a[1], a[2], b[0], b[1], b[2]];
    println!(
        "hostile: {count} modules; payload text {:#x}, canary {:#x}, rodata {:#x}, data {:#x}, stacks {:#x}, pool {:#x}",
        targets[0], targets[1], targets[2], targets[3], targets[4], targets[5]
    );
    let baseline = Smc.pool_info().map(|p| p.used);
    let t0 = arch::counter();
    for i in 0..count {
        let Some(c) = case(i, len) else {
            report.fail(
                "hostile: bundle entry",
                format_args!("entry {i} is malformed"),
            );
            continue;
        };
        if c.kind >= 4 {
            continue; // a module of the isolation test (isolation.rs runs it)
        }
        let staged = stage(c.file)
            && c.patches[..c.npatches].iter().all(|&(off, t, add)| {
                targets
                    .get(t as usize)
                    .is_some_and(|&v| write_word(off, v.wrapping_add(add)))
            });
        if !staged {
            report.fail(
                Line::of(format_args!("hostile: {}: stage", c.name)).as_str(),
                format_args!("cannot place or patch the module"),
            );
            continue;
        }
        let before = measure(MeasureSelector::Hash);
        let mut watch = Watch::new(None);
        let ran = load_and_run(c.file.len(), &mut watch);
        let after = measure(MeasureSelector::Hash);
        let ran = match ran {
            Err(RunnerError::Load {
                status, report: r, ..
            }) if c.kind == 3 => {
                let msg = r.as_ref().map_or("", |r| r.message());
                let ok = status.to_raw() as u32 == c.value && msg.contains(c.message);
                report.check(
                    Line::of(format_args!(
                        "hostile: {}: LOAD refused: {status}: {msg}",
                        c.name
                    ))
                    .as_str(),
                    ok,
                    format_args!("expected status {:#x} and \"{}\"", c.value, c.message),
                );
                None
            }
            other => Some(other),
        };
        match ran {
            None => {}
            Some(Ok(r)) => match judge(&c, &r, &watch) {
                Ok(summary) => report.pass(
                    Line::of(format_args!("hostile: {}: {}", c.name, summary.as_str())).as_str(),
                ),
                Err(why) => report.fail(
                    Line::of(format_args!("hostile: {}", c.name)).as_str(),
                    format_args!("{}", why.as_str()),
                ),
            },
            Some(Err(e)) => report.fail(
                Line::of(format_args!("hostile: {}: load and run", c.name)).as_str(),
                format_args!("{e}"),
            ),
        }
        let good = good_run();
        report.check(
            Line::of(format_args!(
                "hostile: {}: payload hash unchanged, next good run succeeds",
                c.name
            ))
            .as_str(),
            before.is_ok() && before == after && good.is_ok(),
            format_args!(
                "hash before {before:x?}, after {after:x?}; good run: {}",
                good.as_ref().err().map_or("ok", |l| l.as_str())
            ),
        );
    }
    let ms = arch::counter().wrapping_sub(t0) * 1000 / arch::counter_frequency().max(1);
    println!("hostile: {count} modules and their good runs in {ms} ms");
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "hostile: pool back to baseline after the hostile modules",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}
