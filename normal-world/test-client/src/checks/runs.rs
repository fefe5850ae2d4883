//! RUN, the output ring and RESUME: good runs, a messing normal world, preemption by the timer.

use super::*;
use tzwasm_smc::args::ShmHandle;

/// Preloaded files (QEMU `-device loader`): their lengths are u64 words at AOT_LEN_WORD + 8*i.
pub(super) const PRELOAD: [u64; 8] = [
    AOT_FILE,    // 0: hello .aot
    0x7400_0000, // 1: large-output .aot
    0x7600_0000, // 2: large-output expected stdout
    0x7700_0000, // 3: large-output expected stderr
    0x7780_0000, // 4: hello expected stdout
    BUNDLE,      // 5: the corpus bundle
    0x7c00_0000, // 6: the 10 MiB writer .aot
    0x7d00_0000, // 7: the module that spins forever .aot
];
/// Work area for run blocks and rings.
pub(super) const WORK: u64 = 0x7800_0000;
pub(super) const WORK_SIZE: u64 = 0x10000;
pub(super) const RING_OFF: u64 = 0x1000;

pub(super) fn preload(i: usize) -> (u64, u64) {
    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    let len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * i as u64) as *const u64) };
    (PRELOAD[i], len)
}

/// Output of one run, compared on the fly with expected bytes in normal-world RAM.
pub(super) struct Compare {
    pub(super) expected: [(u64, u64); 2],
    pub(super) seen: [u64; 2],
    pub(super) mismatches: u64,
    /// First mismatch: (stream, offset, expected byte, got byte).
    pub(super) first: Option<(usize, u64, Option<u8>, u8)>,
}

impl Compare {
    fn take(&mut self, stream: usize, bytes: &[u8]) {
        let (base, len) = self.expected[stream];
        for &b in bytes {
            let at = self.seen[stream];
            let want = if base == 0 {
                // Base 0: the 10 MiB writer's pattern instead of preloaded bytes.
                (at < len).then_some(((at % 65536) % 251) as u8)
            } else {
                // SAFETY: normal-world RAM holding the preloaded expected output.
                (at < len).then(|| unsafe { core::ptr::read_volatile((base + at) as *const u8) })
            };
            if want != Some(b) {
                self.mismatches += 1;
                self.first.get_or_insert((stream, at, want, b));
            }
            self.seen[stream] += 1;
        }
    }

    pub(super) fn exact(&self) -> bool {
        self.mismatches == 0
            && self.seen[0] == self.expected[0].1
            && self.seen[1] == self.expected[1].1
    }
}

/// Runs the preloaded hello module (`hello` = its address and length): true if it exits 0,
/// uninterrupted, with exactly iwasm's stdout. The "secure world still serves" check after
/// every hostile case.
pub fn good_run_ok(hello: (u64, u64)) -> bool {
    let mut cmp = Compare {
        expected: [preload(4), (0, 0)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    run_module(hello, &[b"hello"], 4096, &mut cmp, |_, _| false)
        .is_ok_and(|r| r.end == RunEnd::Exited(0) && r.interruptions == 0 && cmp.exact())
}

impl RunObserver for Compare {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.take(stream.index(), bytes);
    }
}

/// A [`Compare`] that may corrupt the ring at the first pause (`mess` gets the ring block and
/// the work registration's handle; `true` means it messed, and that drain is skipped).
pub(super) struct Messing<'c, F> {
    cmp: &'c mut Compare,
    mess: F,
    shm: ShmHandle,
}

impl<F: FnMut(SharedRegion<'_>, ShmHandle) -> bool> RunObserver for Messing<'_, F> {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.cmp.take(stream.index(), bytes);
    }

    fn paused(&mut self, pause: u32, ring: SharedRegion<'_>) -> bool {
        !(pause == 1 && (self.mess)(ring, self.shm))
    }
}

/// LOADs the module, RUNs it with `args` through a ring of `cap` bytes per stream with the
/// shared runner (draining and RESUMing until it ends); `mess` may corrupt the ring during
/// the first pause. Checks afterwards that a second RUN is refused and everything closes.
pub(super) fn run_module(
    file: (u64, u64),
    args: &[&[u8]],
    cap: u32,
    cmp: &mut Compare,
    mess: impl FnMut(SharedRegion<'_>, ShmHandle) -> bool,
) -> Result<RunOutcome, RunnerError> {
    let req = RunRequest {
        entry: b"",
        args,
        env: &[b"TZWASM=1"],
        ring_capacity: cap,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    };
    with_loaded(file, |session, work, work_shm| {
        let mut observer = Messing {
            cmp,
            mess,
            shm: work_shm,
        };
        let outcome = session.run(work, 0, &req, &mut observer)?;
        match session.run(work, 0, &req, &mut observer) {
            Err(RunnerError::Refused {
                status: Status::BadState,
                ..
            }) => Ok(outcome),
            _ => Err(RunnerError::BadRequest),
        }
    })
}

/// Registers the preloaded file and the work area, opens an 8 MiB session, LOADs the file
/// and hands `f` the session, the work area and its handle; then closes the session and
/// unregisters both areas (also when `f` fails).
fn with_loaded<T>(
    (aot, len): (u64, u64),
    f: impl FnOnce(&mut Session<'_, Smc>, &SharedArea<'_>, ShmHandle) -> Result<T, RunnerError>,
) -> Result<T, RunnerError> {
    let report_off = len.div_ceil(0x1000) * 0x1000;
    let file_shm = Smc
        .shm_register(aot, report_off + 0x1000)
        .map_err(RunnerError::Client)?;
    let work_shm = Smc
        .shm_register(WORK, WORK_SIZE)
        .map_err(RunnerError::Client)?;
    let work = area(work_shm, WORK, WORK_SIZE);
    let result = (|| {
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, 8 << 20)?;
        session.load_at(
            &area(file_shm, aot, report_off + 0x1000),
            0,
            len as usize,
            report_off as usize,
        )?;
        let out = f(&mut session, &work, work_shm)?;
        session.close()?;
        Ok(out)
    })();
    let unreg = Smc
        .shm_unregister(work_shm)
        .and(Smc.shm_unregister(file_shm));
    let out = result?;
    unreg.map_err(RunnerError::Client)?;
    Ok(out)
}

/// RUN / RESUME / CANCEL with the output ring: real modules' stdout and stderr arrive byte for
/// byte through small rings, pausing the run whenever the ring is full.
pub(super) fn run_checks(report: &mut Report) {
    let (hello, large) = (preload(0), preload(1));
    if hello.1 < 64 || large.1 < 64 {
        report.skip("run: RUN checks", "no modules preloaded");
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let mut cmp = Compare {
        expected: [preload(4), (0, 0)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    match run_module(hello, &[b"hello"], 4096, &mut cmp, |_, _| false) {
        Ok(ran) => report.check(
            "run: hello's stdout arrives through the ring, exit 0",
            ran.end == RunEnd::Exited(0) && cmp.exact(),
            format_args!(
                "{:?}, seen {:?}, mismatches {}",
                ran.end, cmp.seen, cmp.mismatches
            ),
        ),
        Err(e) => report.fail("run: hello through the ring", format_args!("{e}")),
    }
    let mut cmp = Compare {
        expected: [preload(2), preload(3)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    let t0 = arch::counter();
    let large_run = run_module(large, &[b"large"], 4096, &mut cmp, |_, _| false);
    let run_ticks = arch::counter() - t0;
    // The same bytes copied once inside the normal world, for scale.
    let bytes = cmp.seen[0] + cmp.seen[1];
    let t0 = arch::counter();
    for k in (0..bytes).step_by(8) {
        // SAFETY: the preloaded expected output and the area above the work area are
        // normal-world RAM this client owns.
        unsafe {
            let v =
                core::ptr::read_volatile((preload(2).0 + (k % preload(2).1.max(8))) as *const u64);
            core::ptr::write_volatile((0x7a00_0000 + k) as *mut u64, v);
        }
    }
    let copy_ticks = (arch::counter() - t0).max(1);
    let freq = arch::counter_frequency();
    println!(
        "figure: streamed {} bytes through 4 KiB rings in {} us (load + run + drain), plain copy {} us: ratio {}",
        bytes,
        micros(run_ticks, freq),
        micros(copy_ticks, freq),
        run_ticks / copy_ticks
    );
    match large_run {
        Ok(ran) => {
            report.check(
                "run: 1.5 MiB stdout + 68 KiB stderr through 4 KiB rings, byte for byte",
                ran.end == RunEnd::Exited(0) && cmp.exact(),
                format_args!(
                    "{:?}, seen {:?} of {:?}, mismatches {}",
                    ran.end, cmp.seen, cmp.expected, cmp.mismatches
                ),
            );
            report.check(
                "run: the run paused (OUTPUT_PENDING) and resumed many times",
                ran.pauses > 300,
                format_args!("{} pauses", ran.pauses),
            );
        }
        Err(e) => report.fail("run: large output through the ring", format_args!("{e}")),
    }
    // Hostile: a garbage consumer index during a pause, and unregistering the ring's memory.
    let mut cmp = Compare {
        expected: [preload(2), preload(3)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    let mut busy = false;
    let r = run_module(large, &[b"large"], 4096, &mut cmp, |ring, shm| {
        busy = Smc.shm_unregister(shm) == Err(ClientError::Status(Status::Busy));
        ring.write_u32(ring::OFF_CONSUMED, 0xdead_beef)
    });
    report.check(
        "run: unregistering a paused run's ring memory -> BUSY",
        busy,
        format_args!("SHM_UNREGISTER was not refused"),
    );
    match r {
        Ok(ran) => report.check(
            "run: a garbage consumer index ends in a clean result (secure world unharmed)",
            matches!(ran.end, RunEnd::Exited(_) | RunEnd::Trapped(_)),
            format_args!("{:?}", ran.end),
        ),
        Err(e) => report.fail("run: garbage consumer index", format_args!("{e}")),
    }
    // 10 MiB through a 4 KiB ring: byte k is (k mod 65536) mod 251, checked as it arrives.
    let w10 = preload(6);
    if w10.1 > 64 {
        let mut cmp = Compare {
            expected: [(0, 10 << 20), (0, 0)],
            seen: [0; 2],
            mismatches: 0,
            first: None,
        };
        match run_module(w10, &[b"w10"], 2048, &mut cmp, |_, _| false) {
            Ok(ran) => report.check(
                "run: a module writing 10 MiB through 2 KiB rings: every byte, in order",
                ran.end == RunEnd::Exited(0) && cmp.exact() && ran.pauses > 4000,
                format_args!(
                    "{:?}, seen {:?}, mismatches {}, first {:?}, {} pauses",
                    ran.end, cmp.seen, cmp.mismatches, cmp.first, ran.pauses
                ),
            ),
            Err(e) => report.fail("run: 10 MiB writer", format_args!("{e}")),
        }
    }
    let ok = good_run_ok(hello);
    report.check(
        "run: the next good run succeeds",
        ok,
        format_args!("it did not"),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "run: pool back to baseline after the runs",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// Counts a spinning module's output (none) and interruptions; re-arms the timer after each
/// interruption and asks to cancel after `cancel_after`.
pub(super) struct Preempted {
    interruptions: u32,
    cancel_after: u32,
    bytes: u64,
}

impl RunObserver for Preempted {
    fn output(&mut self, _stream: Stream, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
    }

    fn interrupted(&mut self, n: u32) {
        crate::irq::disarm();
        self.interruptions = n;
        if n < self.cancel_after {
            crate::irq::arm(PREEMPT_MS);
        }
    }

    fn cancel_requested(&mut self) -> bool {
        self.interruptions >= self.cancel_after
    }
}

/// Milliseconds between the timer interrupts that preempt the spinning module.
pub(super) const PREEMPT_MS: u64 = 20;

/// A module that never ends must not hold the CPU: a normal-world interrupt (the EL1 physical
/// timer, routed as a non-secure IRQ) makes RUN/RESUME return INTERRUPTED with the module's
/// context saved, RESUME continues it, CANCEL ends it, and the secure world serves the next run.
pub(super) fn preempt_checks(report: &mut Report) {
    let (spin, hello) = (preload(7), preload(0));
    if spin.1 < 64 || hello.1 < 64 {
        report.skip("preempt: a spinning module", "no module preloaded");
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let mut observer = Preempted {
        interruptions: 0,
        cancel_after: 3,
        bytes: 0,
    };
    let req = RunRequest {
        entry: b"",
        args: &[b"spin"],
        env: &[],
        ring_capacity: 4096,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    };
    let (Ok(file_shm), Ok(work_shm)) = (
        Smc.shm_register(spin.0, spin.1.div_ceil(0x1000) * 0x1000 + 0x1000),
        Smc.shm_register(WORK, WORK_SIZE),
    ) else {
        report.fail("preempt: register memory", format_args!("refused"));
        return;
    };
    let t0 = arch::counter();
    let result = (|| {
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, 8 << 20)?;
        let report_off = spin.1.div_ceil(0x1000) * 0x1000;
        session.load_at(
            &area(file_shm, spin.0, report_off + 0x1000),
            0,
            spin.1 as usize,
            report_off as usize,
        )?;
        crate::irq::arm(PREEMPT_MS);
        let outcome = session.run(&area(work_shm, WORK, WORK_SIZE), 0, &req, &mut observer);
        crate::irq::disarm();
        let counted = session.stats(2).map(|s| s[2]);
        Ok::<_, RunnerError>((outcome?, counted?))
    })();
    let ms = micros(arch::counter() - t0, arch::counter_frequency()) / 1000;
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(file_shm);
    match result {
        Ok((outcome, counted)) => {
            report.check(
                "preempt: a module spinning forever returns INTERRUPTED at each normal-world interrupt",
                outcome.interruptions == 3 && counted == 3,
                format_args!(
                    "{} INTERRUPTED answers, STATS counted {counted}",
                    outcome.interruptions
                ),
            );
            report.check(
                "preempt: CANCEL ends the interrupted run (report: cancelled)",
                outcome.end == RunEnd::Cancelled
                    && outcome.report.is_some_and(|r| r.message() == "cancelled")
                    && observer.bytes == 0,
                format_args!("{:?}, {:?}", outcome.end, outcome.report.map(|r| r.status)),
            );
            println!("preempt: 3 interruptions {PREEMPT_MS} ms apart, then cancelled, in {ms} ms");
        }
        Err(e) => report.fail("preempt: the spinning module", format_args!("{e}")),
    }
    let ok = good_run_ok(hello);
    report.check(
        "preempt: the next good run succeeds, uninterrupted",
        ok,
        format_args!("it did not"),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "preempt: pool back to baseline",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// What [`receipt_run`] saw: RECEIPT before the run, how the run ended, RECEIPT after it.
type ReceiptRun = (
    Result<usize, RunnerError>,
    RunEnd,
    Result<usize, RunnerError>,
);

/// Loads hello, asks RECEIPT before the run, RUNs it with `nonce` (or none), then asks
/// RECEIPT again: (the status of the first RECEIPT, the run's end, the receipt's bytes or
/// the second RECEIPT's error).
fn receipt_run(
    file: (u64, u64),
    nonce: Option<&[u8]>,
    cmp: &mut Compare,
    receipt: &mut [u8],
) -> Result<ReceiptRun, RunnerError> {
    let req = RunRequest {
        entry: b"",
        args: &[b"hello"],
        env: &[b"TZWASM=1"],
        ring_capacity: 4096,
        receipt_nonce: nonce,
        stdin_capacity: None,
        files: None,
    };
    with_loaded(file, |session, work, _| {
        let before = session.receipt(work, 0, receipt);
        let outcome = session.run(work, 0, &req, cmp)?;
        let after = session.receipt(work, 0, receipt);
        Ok((before, outcome.end, after))
    })
}

/// RECEIPT (issue 12): a run that asked for a receipt gets one after it ended, bound to its
/// nonce and carrying the SHA-256 of exactly its stdout; before the end, and for a run that
/// did not ask, BAD_STATE. (The signature and every claim are checked by tzwasm-verify in
/// `make linux-test`.)
pub(super) fn receipt_checks(report: &mut Report) {
    use sha2::{Digest, Sha256};
    let hello = preload(0);
    let (out, out_len) = preload(4);
    if hello.1 < 64 || out_len == 0 {
        report.skip("receipt: RECEIPT checks", "no modules preloaded");
        return;
    }
    let bad_state = |r: &Result<usize, RunnerError>| {
        matches!(
            r,
            Err(RunnerError::Refused {
                status: Status::BadState,
                ..
            })
        )
    };
    let mut h = Sha256::new();
    for k in 0..out_len {
        // SAFETY: normal-world RAM holding the preloaded expected stdout of hello.
        h.update([unsafe { core::ptr::read_volatile((out + k) as *const u8) }]);
    }
    let stdout_digest: [u8; 32] = h.finalize().into();
    let empty_digest: [u8; 32] = Sha256::digest(b"").into();
    let nonce = [0x5au8; 48];
    let new_cmp = || Compare {
        expected: [preload(4), (0, 0)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    let mut cmp = new_cmp();
    let mut buf = [0u8; 2048];
    match receipt_run(hello, Some(&nonce), &mut cmp, &mut buf) {
        Ok((before, end, after)) => {
            report.check(
                "receipt: RECEIPT before the run ended -> BAD_STATE",
                bad_state(&before),
                format_args!("{before:?}"),
            );
            let got = after.as_ref().ok().and_then(|&n| buf.get(..n));
            if has_feature(Features::ATTESTATION) {
                report.check(
                    "receipt: after the run, a receipt holding its nonce and the SHA-256 of its stdout and stderr",
                    end == RunEnd::Exited(0)
                        && cmp.exact()
                        && got.is_some_and(|r| {
                            contains(r, &nonce)
                                && contains(r, &stdout_digest)
                                && contains(r, &empty_digest)
                        }),
                    format_args!("{end:?}, {after:?}"),
                );
            } else {
                // No device identity: the run is the same, its receipt cannot be signed.
                report.check(
                    "receipt: without ATTESTATION, the run completes and RECEIPT -> NOT_SUPPORTED",
                    end == RunEnd::Exited(0)
                        && cmp.exact()
                        && matches!(
                            after,
                            Err(RunnerError::Refused {
                                status: Status::NotSupported,
                                ..
                            })
                        ),
                    format_args!("{end:?}, {after:?}"),
                );
            }
        }
        Err(e) => report.fail("receipt: a run with a receipt", format_args!("{e}")),
    }
    let mut cmp = new_cmp();
    match receipt_run(hello, None, &mut cmp, &mut buf) {
        Ok((_, end, after)) => report.check(
            "receipt: a run that asked for no receipt: RECEIPT -> BAD_STATE",
            end == RunEnd::Exited(0) && bad_state(&after),
            format_args!("{end:?}, {after:?}"),
        ),
        Err(e) => report.fail("receipt: a run without a receipt", format_args!("{e}")),
    }
}

/// Address and length word of the preloaded stdin cat module (guests/stdin/cat.c).
const STDIN_CAT: u64 = 0x6a00_0000;
const STDIN_CAT_LEN_WORD: u64 = AOT_LEN_WORD + 8 * 16;

/// Feeds the cat module's stdin: `input` at the first INPUT_PENDING, then end of file; or,
/// with `hostile`, a garbage producer index in the input ring instead of data.
struct Feed<'c> {
    cmp: &'c mut Compare,
    input: &'static [u8],
    hostile: Option<usize>,
    waits: u32,
}

impl RunObserver for Feed<'_> {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.cmp.take(stream.index(), bytes);
    }

    fn input(&mut self, ring: &mut tzwasm_smc::ring::Producer<'_>, wait: bool) -> bool {
        if !wait {
            return true;
        }
        self.waits += 1;
        match (self.hostile, self.waits) {
            (Some(at), 1) => {
                // The producer index far beyond the capacity: the secure world must refuse
                // it without reading or writing anything, and the module's read gets EIO.
                // SAFETY: the input ring's producer word in the work area this client owns.
                unsafe { core::ptr::write_volatile(at as *mut u32, 0x4000_0000) };
            }
            (None, 1) => {
                ring.write(Stream::Stdout, self.input);
            }
            _ => ring.finish(),
        }
        true
    }
}

/// stdin (issue 13): the cat module copies what the input ring brings to stdout; a hostile
/// producer index gives its read EIO, leaves the ring's consumer index untouched, and the
/// secure world serves the next run.
pub(super) fn stdin_checks(report: &mut Report) {
    // SAFETY: the length word the harness writes before boot.
    let len = unsafe { core::ptr::read_volatile(STDIN_CAT_LEN_WORD as *const u64) };
    let hello = preload(0);
    if len < 64 || hello.1 < 64 {
        report.skip("stdin: input ring checks", "no stdin module preloaded");
        return;
    }
    let cat = (STDIN_CAT, len);
    let req = RunRequest {
        entry: b"",
        args: &[b"cat"],
        env: &[],
        ring_capacity: 4096,
        receipt_nonce: None,
        stdin_capacity: Some(4096),
        files: None,
    };
    let Some(place) = tzwasm_smc::runner::RunPlacement::new(0, &req) else {
        report.fail("stdin: placement", format_args!("the request does not fit"));
        return;
    };
    let Some((input_at, _)) = place.input else {
        report.fail("stdin: placement", format_args!("no input ring placed"));
        return;
    };
    let produced_word = WORK as usize + input_at + tzwasm_smc::ring::OFF_PRODUCED;
    let consumed_word = WORK as usize + input_at + tzwasm_smc::ring::OFF_CONSUMED;
    let run = |hostile: Option<usize>, cmp: &mut Compare| {
        let mut feed = Feed {
            cmp,
            input: b"through the input ring\n",
            hostile,
            waits: 0,
        };
        let outcome = with_loaded(cat, |session, work, _| {
            session.run(work, 0, &req, &mut feed)
        })?;
        Ok::<_, RunnerError>((outcome, feed.waits))
    };
    const OUT: &[u8] = b"through the input ring\n";
    const ERR: &[u8] = b"cat: 23 bytes\n";
    let mut cmp = Compare {
        expected: [
            (OUT.as_ptr() as u64, OUT.len() as u64),
            (ERR.as_ptr() as u64, ERR.len() as u64),
        ],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    match run(None, &mut cmp) {
        Ok((ran, waits)) => report.check(
            "stdin: a module's read waits (INPUT_PENDING) and gets what the input ring brings, then end of file",
            ran.end == RunEnd::Exited(0) && cmp.exact() && waits == 2,
            format_args!("{:?}, seen {:?}, first {:?}, {waits} waits", ran.end, cmp.seen, cmp.first),
        ),
        Err(e) => report.fail("stdin: cat through the input ring", format_args!("{e}")),
    }
    let mut cmp = Compare {
        expected: [(0, 0), (0, 0)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    match run(Some(produced_word), &mut cmp) {
        Ok((ran, waits)) => {
            // SAFETY: the consumer word of the input ring in the work area this client owns.
            let consumed = unsafe { core::ptr::read_volatile(consumed_word as *const u32) };
            report.check(
                "stdin: a hostile producer index is refused: the read fails (EIO, exit 2), nothing consumed",
                ran.end == RunEnd::Exited(2) && consumed == 0 && waits == 1 && cmp.seen[0] == 0,
                format_args!("{:?}, consumer index {consumed}, {waits} waits, seen {:?}", ran.end, cmp.seen),
            );
        }
        Err(e) => report.fail("stdin: hostile producer index", format_args!("{e}")),
    }
    report.check(
        "stdin: the next good run succeeds",
        good_run_ok(hello),
        format_args!("it did not"),
    );
}
