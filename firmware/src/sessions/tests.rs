//! Host tests of the session state machine with a fake engine: transitions, BUSY on removal
//! of what another CPU uses, quota reservation, handle generations, capacity, and randomised
//! interleavings (single-threaded with invariants after every call, and from several threads
//! at once).

use super::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex as StdMutex;
use tzwasm_smc::session::SESSION_MIN_QUOTA;
use tzwasm_smc::Call;

const SUCCESS: u64 = 0;

fn dram() -> NsDram {
    NsDram::from_banks(
        [(0x4000_0000, 0x4000_0000)],
        0x0e00_0000..0x0f00_0000,
        |_| {},
    )
}

/// A module of the fake: `pauses` pauses left before the run ends; where its ring lives.
struct FakeModule {
    /// Unique per LOAD, like a module's address space.
    id: u64,
    pauses: u64,
    ring: u64,
    charged: u64,
}

/// The fake engine: keeps the set of mapped ranges, and checks on every run step that the
/// run's ring is still mapped (the registration was not freed under it).
#[derive(Default)]
struct Fake {
    mapped: StdMutex<Vec<ShmRange>>,
    /// Fail the next map (mapping-table exhaustion).
    fail_map: AtomicBool,
    /// While set, run() spins (another CPU is in the session).
    hold: AtomicBool,
    in_run: AtomicU64,
    violations: AtomicU64,
    next_id: AtomicU64,
    /// (thread, module) pairs: the module's space "installed" on that thread's CPU, from
    /// a LOAD step/RUN/RESUME until `release_cpu`.
    installed: StdMutex<Vec<(std::thread::ThreadId, u64)>>,
    /// LOAD jobs begun and not yet abandoned.
    jobs: AtomicU64,
}

/// A LOAD of the fake in progress: how many more steps answer INTERRUPTED, and the id of the
/// space its steps install (the module's, once loaded).
struct FakeJob {
    at: LoadPlace,
    interruptions: u64,
    id: u64,
}

/// Files of `len % 1000 == 999` bytes are loaded in three steps (two INTERRUPTED answers).
fn scripted_interruptions(len: u64) -> u64 {
    if len % 1000 == 999 {
        2
    } else {
        0
    }
}

impl Fake {
    /// True if a CPU other than this one has space `id` installed.
    fn installed_elsewhere(&self, id: u64) -> bool {
        let me = std::thread::current().id();
        self.installed
            .lock()
            .unwrap()
            .iter()
            .any(|&(t, i)| i == id && t != me)
    }
    fn install(&self, id: u64) {
        let me = std::thread::current().id();
        let mut v = self.installed.lock().unwrap();
        v.retain(|&(t, _)| t != me);
        v.push((me, id));
    }
    fn ring_mapped(&self, ring: u64) -> bool {
        self.mapped
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.base <= ring && ring < r.base + r.size)
    }

    fn step(&self, m: &mut FakeModule) -> Step {
        if !self.ring_mapped(m.ring) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        if m.pauses == 0 {
            Step::Ended([SUCCESS, 0, 0, 0])
        } else {
            m.pauses -= 1;
            Step::Paused([Status::OutputPending.to_raw(), 0, 0, 0])
        }
    }
}

impl Engine for Fake {
    type Module = FakeModule;
    type Loading = FakeJob;

    fn map_shm(&self, range: ShmRange) -> bool {
        if self.fail_map.swap(false, Ordering::SeqCst) {
            return false;
        }
        let mut m = self.mapped.lock().unwrap();
        if m.iter().any(|r| r.overlaps(range)) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        m.push(range);
        true
    }

    fn unmap_shm(&self, range: ShmRange) -> bool {
        let mut m = self.mapped.lock().unwrap();
        let before = m.len();
        m.retain(|r| *r != range);
        if m.len() + 1 != before {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        true
    }

    fn begin_load(&self, _: &Account, at: &LoadPlace) -> Result<FakeJob, Refusal> {
        if !self.ring_mapped(at.file) || !self.ring_mapped(at.report) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.jobs.fetch_add(1, Ordering::SeqCst);
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.install(id);
        Ok(FakeJob {
            at: *at,
            interruptions: scripted_interruptions(at.len),
            id,
        })
    }

    /// The file length is the script: `len % 8` pauses; it costs `len` bytes of quota.
    fn step_load(
        &self,
        account: &Account,
        job: &mut FakeJob,
    ) -> Result<LoadStep<FakeModule>, Refusal> {
        // The registration is still mapped at every step (pinned while interrupted).
        if !self.ring_mapped(job.at.file) || !self.ring_mapped(job.at.report) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.install(job.id);
        if job.interruptions > 0 {
            job.interruptions -= 1;
            return Ok(LoadStep::Interrupted);
        }
        let len = job.at.len;
        if !account.try_charge(len) {
            return Err(Refusal(Status::QuotaTooSmall, len));
        }
        Ok(LoadStep::Loaded(
            FakeModule {
                id: job.id,
                pauses: len % 8,
                ring: 0,
                charged: len,
            },
            [len, len, 0],
        ))
    }

    fn abandon_load(&self, _: &Account, job: FakeJob) {
        // Freeing what a step installed while another CPU still has it is a use after free.
        if self.installed_elsewhere(job.id) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.jobs.fetch_sub(1, Ordering::SeqCst);
    }

    fn run(&self, _: &Account, m: &mut FakeModule, at: &RunPlace) -> Step {
        if at.block.1 == 7 {
            return Step::Refused(Status::InvalidParameter.into());
        }
        self.in_run.fetch_add(1, Ordering::SeqCst);
        while self.hold.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        m.ring = at.ring.0;
        self.install(m.id);
        let s = self.step(m);
        self.in_run.fetch_sub(1, Ordering::SeqCst);
        s
    }

    fn resume(&self, _: &Account, m: &mut FakeModule) -> Step {
        self.install(m.id);
        self.step(m)
    }

    fn cancel(&self, _: &Account, m: &mut FakeModule) -> Regs4 {
        if !self.ring_mapped(m.ring) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        [SUCCESS, 0, 0, 0]
    }

    fn unload(&self, account: &Account, m: FakeModule) {
        // Freeing a space another CPU still has installed is a use after free.
        if self.installed_elsewhere(m.id) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        account.credit(m.charged);
    }

    fn release_cpu(&self) {
        let me = std::thread::current().id();
        self.installed.lock().unwrap().retain(|&(t, _)| t != me);
    }

    fn charged(&self, _: &Account, m: &FakeModule) -> u64 {
        m.charged
    }

    fn attest(&self, _: &Account, m: &FakeModule, at: &AttestPlace) -> Answer {
        // The fake's "token": which module, where the nonce was.
        ok(m.id, at.nonce.0, at.token.0)
    }

    fn receipt(&self, _: &Account, m: &FakeModule, at: &ReceiptPlace) -> Answer {
        // The fake's "receipt": which module, where the buffer was.
        ok(m.id, at.token.0, at.token.1)
    }

    fn stats(&self, m: Option<&FakeModule>, page: u64) -> Option<[u64; 3]> {
        (page == 1).then(|| [m.map_or(0, |m| m.pauses), 0, 0])
    }
}

type M = Machine<Fake>;

/// The machine as the normal world reaches it: raw register values, decoded by
/// [`SessionCall::from_regs`] and [`ShmRegisterArgs::from_regs`] as the dispatcher does (so
/// the tests below also pin the boundary's refusals), answers folded into registers by the
/// caller. Everything else (engine, book, tables) through `Deref`.
#[derive(Clone, Copy)]
struct Raw(&'static M);

impl core::ops::Deref for Raw {
    type Target = M;
    fn deref(&self) -> &M {
        self.0
    }
}

impl Raw {
    fn session_call(self, call: Call, args: &[u64]) -> Answer {
        let mut x = [0u64; 8];
        x[0] = call.id().to_x0();
        x[1..=args.len()].copy_from_slice(args);
        self.0.serve(SessionCall::from_regs(call, &x)?)
    }
    fn open(self, quota: u64) -> Answer {
        self.session_call(Call::SessionOpen, &[quota])
    }
    fn close(self, s: u64) -> Answer {
        self.session_call(Call::SessionClose, &[s])
    }
    fn load(self, s: u64, shm: u64, off: u64, len: u64, report: u64) -> Answer {
        self.session_call(Call::Load, &[s, shm, off, len, report])
    }
    fn unload(self, s: u64) -> Answer {
        self.session_call(Call::Unload, &[s])
    }
    fn stats(self, s: u64, page: u64) -> Answer {
        self.session_call(Call::Stats, &[s, page])
    }
    fn run(self, s: u64, shm: u64, [b, bl]: [u64; 2], [r, rl]: [u64; 2], rep: u64) -> Answer {
        self.session_call(Call::Run, &[s, shm, b, bl, r, rl, rep])
    }
    fn resume(self, s: u64) -> Answer {
        self.session_call(Call::Resume, &[s])
    }
    fn cancel(self, s: u64) -> Answer {
        self.session_call(Call::Cancel, &[s])
    }
    fn attest(self, s: u64, shm: u64, [n, nl]: [u64; 2], [t, tl]: [u64; 2]) -> Answer {
        self.session_call(Call::Attest, &[s, shm, n, nl, t, tl])
    }
    fn receipt(self, s: u64, shm: u64, [t, tl]: [u64; 2]) -> Answer {
        self.session_call(Call::Receipt, &[s, shm, t, tl])
    }
    fn shm_register(self, base: u64, size: u64, dram: &NsDram) -> Result<u64, Status> {
        let args = ShmRegisterArgs::new(base, size).map_err(|r| r.status())?;
        self.0.shm_register(args, dram).map(ShmHandle::raw)
    }
    fn shm_unregister(self, h: u64) -> Result<(), Status> {
        self.0.shm_unregister(ShmHandle::from_raw(h))
    }
    fn with_shm<R>(self, h: u64, f: impl FnOnce(ShmRange) -> R) -> Option<R> {
        self.0.with_shm(ShmHandle::from_raw(h), f)
    }
}

fn machine(limit: u64) -> Raw {
    let m: &'static M = Box::leak(Box::new(Machine::new(Fake::default(), 256)));
    m.book.set_limit(limit);
    Raw(m)
}

fn st(a: Answer) -> Status {
    Status::from_raw(fold(a)[0]).expect("a defined status")
}

const Q: u64 = SESSION_MIN_QUOTA;
const SHM: u64 = 0x5000_0000;

/// A registration of 4 pages and a session with a module of `len` bytes loaded from it.
fn setup(m: Raw, len: u64) -> (u64, u64) {
    let shm = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    let s = fold(m.open(Q))[1];
    assert_eq!(fold(m.load(s, shm, 0, len, 0x1000))[0], SUCCESS);
    (shm, s)
}

fn run(m: Raw, s: u64, shm: u64) -> Answer {
    m.run(s, shm, [0, 16], [0x2000, 0x1000], 0x3000)
}

#[test]
fn receipt_needs_a_loaded_module_and_a_buffer_inside_the_registration() {
    let m = machine(1 << 20);
    let shm = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    let s = fold(m.open(Q))[1];
    let buf = [0x2000, 0x800];
    assert_eq!(
        st(m.receipt(s, shm, buf)),
        Status::BadState,
        "nothing loaded"
    );
    assert_eq!(
        fold(m.load(s, shm, 0, 999, 0x1000))[0],
        Status::Interrupted.to_raw()
    );
    assert_eq!(
        st(m.receipt(s, shm, buf)),
        Status::BadState,
        "LOAD interrupted"
    );
    while fold(m.resume(s))[0] != SUCCESS {}
    let r = fold(m.receipt(s, shm, buf));
    assert_eq!(r[0], SUCCESS, "the engine decides about the run");
    assert_eq!(
        (r[2], r[3]),
        (SHM + 0x2000, 0x800),
        "secure address of the buffer"
    );
    assert_eq!(st(m.receipt(s, shm, [0x3900, 0x800])), Status::BadAddress);
    assert_eq!(
        st(m.receipt(s, shm, [0x2000, 0x7ff])),
        Status::InvalidParameter
    );
    assert_eq!(st(m.receipt(s, shm + 1, buf)), Status::NoSuchHandle);
    assert_eq!(st(m.receipt(s + 1, shm, buf)), Status::NoSuchHandle);
    assert_eq!(m.pins(), (0, 0));
}

#[test]
fn attest_needs_a_loaded_module_and_ranges_inside_the_registration() {
    let m = machine(1 << 20);
    let shm = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    let s = fold(m.open(Q))[1];
    let (nonce, token) = ([0x100, 32], [0x2000, 0x800]);
    assert_eq!(
        st(m.attest(s, shm, nonce, token)),
        Status::BadState,
        "nothing loaded"
    );
    assert_eq!(
        fold(m.load(s, shm, 0, 999, 0x1000))[0],
        Status::Interrupted.to_raw()
    );
    assert_eq!(
        st(m.attest(s, shm, nonce, token)),
        Status::BadState,
        "LOAD interrupted"
    );
    while fold(m.resume(s))[0] != SUCCESS {}
    let r = fold(m.attest(s, shm, nonce, token));
    assert_eq!(r[0], SUCCESS);
    assert_eq!(
        (r[2], r[3]),
        (SHM + 0x100, SHM + 0x2000),
        "secure addresses of both"
    );
    // Before, during and after the run alike.
    assert_eq!(st(run(m, s, shm)), Status::OutputPending);
    assert_eq!(
        st(m.attest(s, shm, nonce, token)),
        Status::Success,
        "paused"
    );
    assert_eq!(st(m.cancel(s)), Status::Success);
    assert_eq!(st(m.attest(s, shm, nonce, token)), Status::Success, "ended");
    // Ranges are checked against the registration; the shape before the session.
    assert_eq!(
        st(m.attest(s, shm, [0x3ff0, 32], token)),
        Status::BadAddress
    );
    assert_eq!(
        st(m.attest(s, shm, nonce, [0x3800, 0x801])),
        Status::BadAddress
    );
    assert_eq!(st(m.attest(s, shm + 1, nonce, token)), Status::NoSuchHandle);
    assert_eq!(st(m.attest(s + 1, shm, nonce, token)), Status::NoSuchHandle);
    assert_eq!(
        st(m.attest(s + 1, shm, [0, 31], token)),
        Status::InvalidParameter
    );
    assert_eq!(
        st(m.attest(s, shm, [0x2000, 32], token)),
        Status::InvalidParameter
    );
    assert_eq!(m.pins(), (0, 0));
}

#[test]
fn a_session_goes_through_its_states() {
    let m = machine(1 << 20);
    let (shm, s) = setup(m, 2); // two pauses
    assert_eq!(st(m.resume(s)), Status::BadState, "nothing to resume yet");
    assert_eq!(st(m.cancel(s)), Status::BadState);
    assert_eq!(st(run(m, s, shm)), Status::OutputPending);
    assert_eq!(st(run(m, s, shm)), Status::BadState, "one run per LOAD");
    assert_eq!(
        st(m.load(s, shm, 0, 2, 0x1000)),
        Status::BadState,
        "already loaded"
    );
    assert_eq!(st(m.resume(s)), Status::OutputPending);
    assert_eq!(st(m.resume(s)), Status::Success);
    assert_eq!(st(m.resume(s)), Status::BadState, "ended");
    assert_eq!(st(m.cancel(s)), Status::BadState);
    assert_eq!(fold(m.stats(s, 0)), [SUCCESS, Q, 2, 1]);
    assert_eq!(st(m.stats(s, 9)), Status::InvalidParameter);
    assert_eq!(st(m.unload(s)), Status::Success);
    assert_eq!(st(m.unload(s)), Status::BadState);
    assert_eq!(fold(m.stats(s, 0)), [SUCCESS, Q, 0, 0]);
    // Load again, run, cancel at the pause.
    assert_eq!(st(m.load(s, shm, 0, 3, 0x1000)), Status::Success);
    assert_eq!(st(run(m, s, shm)), Status::OutputPending);
    assert_eq!(st(m.cancel(s)), Status::Success);
    assert_eq!(st(m.resume(s)), Status::BadState);
    assert_eq!(st(m.close(s)), Status::Success);
    assert_eq!(st(m.close(s)), Status::NoSuchHandle);
    assert_eq!(m.shm_unregister(shm), Ok(()));
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(m.book.reserved(), 0);
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
}

#[test]
fn an_interrupted_load_resumes_or_is_abandoned() {
    let m = machine(1 << 20);
    let shm = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    let s = fold(m.open(Q))[1];
    let interrupted = [Status::Interrupted.to_raw(), 0, 0, 0];
    assert_eq!(fold(m.load(s, shm, 0, 1999, 0x1000)), interrupted);
    // The job holds its registration; nothing else is possible but RESUME and abandoning.
    assert_eq!(m.pins(), (1, 0));
    assert_eq!(m.shm_unregister(shm), Err(Status::Busy));
    assert_eq!(st(run(m, s, shm)), Status::BadState);
    assert_eq!(st(m.load(s, shm, 0, 8, 0x1000)), Status::BadState);
    assert_eq!(fold(m.stats(s, 0)), [SUCCESS, Q, 0, 0], "not loaded yet");
    assert_eq!(fold(m.resume(s)), interrupted);
    assert_eq!(
        fold(m.resume(s)),
        [SUCCESS, 1999, 1999, 0],
        "answers as LOAD"
    );
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(m.engine.jobs.load(Ordering::SeqCst), 0);
    assert_eq!(fold(m.stats(s, 0)), [SUCCESS, Q, 1999, 1]);
    assert_eq!(
        st(run(m, s, shm)),
        Status::OutputPending,
        "1999 % 8 = 7 pauses"
    );
    assert_eq!(st(m.unload(s)), Status::Success);
    // CANCEL, UNLOAD and CLOSE abandon it: everything freed, the session empty again.
    assert_eq!(fold(m.load(s, shm, 0, 2999, 0x1000)), interrupted);
    assert_eq!(st(m.cancel(s)), Status::Success);
    assert_eq!(st(m.resume(s)), Status::BadState);
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(fold(m.load(s, shm, 0, 2999, 0x1000)), interrupted);
    assert_eq!(st(m.unload(s)), Status::Success);
    assert_eq!(st(m.unload(s)), Status::BadState);
    assert_eq!(fold(m.stats(s, 0)), [SUCCESS, Q, 0, 0]);
    // A refusal at the end of an interrupted LOAD leaves the session empty.
    let big = m.shm_register(SHM + 0x10_0000, 0x2_0000, &dram()).unwrap();
    assert_eq!(fold(m.load(s, big, 0, Q + 463, 0x1_f000)), interrupted);
    assert_eq!(fold(m.resume(s)), interrupted);
    assert_eq!(
        fold(m.resume(s)),
        [Status::QuotaTooSmall.to_raw(), Q + 463, 0, 0]
    );
    assert_eq!(st(m.resume(s)), Status::BadState);
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(fold(m.load(s, shm, 0, 3999, 0x1000)), interrupted);
    assert_eq!(st(m.close(s)), Status::Success);
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(m.engine.jobs.load(Ordering::SeqCst), 0);
    assert_eq!(m.shm_unregister(big), Ok(()));
    assert_eq!(m.shm_unregister(shm), Ok(()));
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
    assert_eq!(m.book.reserved(), 0);
}

#[test]
fn bad_places_and_handles_are_refused() {
    let m = machine(1 << 20);
    let (shm, s) = setup(m, 1);
    // LOAD: empty, outside, unaligned report, report past the end.
    let _ = m.unload(s);
    for (off, len, rep) in [
        (0, 0, 0x1000),
        (0x3000, 0x2000, 0),
        (0, 8, 4),
        (0, 8, 0x3fc0),
    ] {
        assert_eq!(
            st(m.load(s, shm, off, len, rep)),
            Status::BadAddress,
            "{off} {len} {rep}"
        );
    }
    assert_eq!(
        st(m.load(s, shm, u64::MAX, 2, 0)),
        Status::BadAddress,
        "wrap"
    );
    assert_eq!(st(m.load(s, 0, 0, 1, 0x1000)), Status::NoSuchHandle);
    assert_eq!(st(m.load(s, shm, 0, 1, 0x1000)), Status::Success);
    // RUN: block, ring, report checks; an engine refusal leaves the module unstarted.
    for (blk, ring, rep, want) in [
        ([0, 0], [0x2000, 0x1000], 0x3000, Status::BadAddress),
        ([0, 16], [0x2001, 0x1000], 0x3000, Status::BadAddress),
        ([0, 16], [0x2000, 0], 0x3000, Status::BadAddress),
        ([0, 16], [0x2000, 0x1000], 0x3004, Status::BadAddress),
        ([0, 16], [0x2000, 0x1000], 0x2800, Status::InvalidParameter),
        ([0, 16], [0x2000, u64::MAX], 0x3000, Status::BadAddress),
        ([0, 7], [0x2000, 0x1000], 0x3000, Status::InvalidParameter),
    ] {
        assert_eq!(
            st(m.run(s, shm, blk, ring, rep)),
            want,
            "{blk:?} {ring:?} {rep}"
        );
    }
    assert_eq!(
        st(run(m, s, shm)),
        Status::OutputPending,
        "still not started before"
    );
    for bogus in [0, u64::MAX, s ^ (1 << 32), s + 1] {
        assert_eq!(st(m.resume(bogus)), Status::NoSuchHandle, "{bogus:#x}");
        assert_eq!(st(m.close(bogus)), Status::NoSuchHandle);
        assert_eq!(m.shm_unregister(bogus), Err(Status::NoSuchHandle));
    }
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
}

#[test]
fn a_paused_run_keeps_its_registration() {
    let m = machine(1 << 20);
    let (shm, s) = setup(m, 3);
    assert_eq!(st(run(m, s, shm)), Status::OutputPending);
    assert_eq!(
        m.shm_unregister(shm),
        Err(Status::Busy),
        "the ring lives there"
    );
    assert_eq!(st(m.resume(s)), Status::OutputPending);
    assert_eq!(m.shm_unregister(shm), Err(Status::Busy));
    // UNLOAD drops the run and its pin.
    assert_eq!(st(m.unload(s)), Status::Success);
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(m.shm_unregister(shm), Ok(()));
    // CLOSE of a session with a paused run releases it too.
    let shm = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    assert_eq!(st(m.load(s, shm, 0, 3, 0x1000)), Status::Success);
    assert_eq!(st(run(m, s, shm)), Status::OutputPending);
    assert_eq!(m.shm_unregister(shm), Err(Status::Busy));
    assert_eq!(st(m.close(s)), Status::Success);
    assert_eq!(m.shm_unregister(shm), Ok(()));
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
}

#[test]
fn removal_of_what_another_cpu_uses_is_busy() {
    let m = machine(1 << 20);
    let (shm, s) = setup(m, 8);
    let other = fold(m.open(Q))[1];
    m.engine.hold.store(true, Ordering::SeqCst);
    let t = std::thread::spawn(move || st(run(m, s, shm)));
    while m.engine.in_run.load(Ordering::SeqCst) == 0 {
        std::hint::spin_loop();
    }
    // Another "CPU" while the run is in progress.
    assert_eq!(st(m.close(s)), Status::Busy);
    assert_eq!(st(m.unload(s)), Status::Busy);
    assert_eq!(st(m.resume(s)), Status::Busy);
    assert_eq!(st(m.cancel(s)), Status::Busy);
    assert_eq!(st(m.stats(s, 0)), Status::Busy);
    assert_eq!(m.shm_unregister(shm), Err(Status::Busy));
    // Other sessions are not blocked.
    assert_eq!(fold(m.stats(other, 0))[0], SUCCESS);
    assert_eq!(st(m.close(other)), Status::Success);
    let o2 = fold(m.open(Q))[1];
    assert_eq!(st(m.close(o2)), Status::Success);
    m.engine.hold.store(false, Ordering::SeqCst);
    assert_eq!(t.join().unwrap(), Status::Success);
    assert_eq!(st(m.close(s)), Status::Success);
    assert_eq!(m.shm_unregister(shm), Ok(()));
    assert_eq!(m.pins(), (0, 0));
}

#[test]
fn quotas_are_reserved_at_open() {
    let limit = 10 * Q + 1234;
    let m = machine(limit);
    assert_eq!(
        fold(m.open(Q - 1)),
        [Status::QuotaTooSmall.to_raw(), Q, 0, 0]
    );
    let a = fold(m.open(4 * Q));
    let b = fold(m.open(6 * Q));
    assert_eq!((a[0], b[0]), (SUCCESS, SUCCESS));
    assert_eq!(m.book.reserved(), 10 * Q);
    assert_eq!(
        fold(m.open(Q)),
        [Status::QuotaTooLarge.to_raw(), 1234, 0, 0]
    );
    assert_eq!(
        fold(m.open(u64::MAX)),
        [Status::QuotaTooLarge.to_raw(), 1234, 0, 0]
    );
    assert_eq!(st(m.close(a[1])), Status::Success);
    assert_eq!(fold(m.open(5 * Q))[0], Status::QuotaTooLarge.to_raw());
    let c = fold(m.open(4 * Q));
    assert_eq!(c[0], SUCCESS);
    assert_eq!(fold(m.stats(c[1], 0)), [SUCCESS, 4 * Q, 0, 0]);
    let _ = m.close(b[1]);
    let _ = m.close(c[1]);
    assert_eq!(m.book.reserved(), 0);
    // The quota bounds what a module may take.
    let shm = m.shm_register(SHM, 0x40000, &dram()).unwrap();
    let s = fold(m.open(Q))[1];
    assert_eq!(
        fold(m.load(s, shm, 0, Q + 1, 0x30000)),
        [Status::QuotaTooSmall.to_raw(), Q + 1, 0, 0]
    );
    assert_eq!(st(m.load(s, shm, 0, Q, 0x30000)), Status::Success);
}

#[test]
fn stale_handles_never_name_a_new_object() {
    let m = machine(u64::MAX);
    let a = fold(m.open(Q))[1];
    assert_eq!(st(m.close(a)), Status::Success);
    let b = fold(m.open(Q))[1];
    assert_ne!(a, b, "same slot, new generation");
    assert_eq!(a & 0xffff_ffff, b & 0xffff_ffff);
    assert_eq!(st(m.stats(a, 0)), Status::NoSuchHandle);
    assert_eq!(st(m.close(a)), Status::NoSuchHandle);
    assert_eq!(fold(m.stats(b, 0))[0], SUCCESS);
    let r1 = m.shm_register(SHM, 0x1000, &dram()).unwrap();
    assert_eq!(m.shm_unregister(r1), Ok(()));
    let r2 = m.shm_register(SHM, 0x1000, &dram()).unwrap();
    assert_ne!(r1, r2);
    assert_eq!(m.shm_unregister(r1), Err(Status::NoSuchHandle));
    assert!(m.with_shm(r1, |_| ()).is_none());
    assert_eq!(m.shm_unregister(r2), Ok(()));
}

#[test]
fn hundreds_of_sessions_bounded_by_the_pool() {
    let m = machine(300 * Q);
    let handles: Vec<u64> = (0..300)
        .map(|_| fold(m.open(Q)))
        .map(|r| {
            assert_eq!(r[0], SUCCESS);
            r[1]
        })
        .collect();
    assert_eq!(m.session_count(), 300);
    assert_eq!(fold(m.open(Q)), [Status::QuotaTooLarge.to_raw(), 0, 0, 0]);
    assert_eq!(handles.iter().collect::<HashSet<_>>().len(), 300);
    for h in handles {
        assert_eq!(st(m.close(h)), Status::Success);
    }
    assert_eq!((m.session_count(), m.book.reserved()), (0, 0));
}

#[test]
fn registrations_overlap_map_failure_and_cap() {
    let m = machine(u64::MAX);
    let h = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    for (base, size) in [
        (SHM, 0x1000),
        (SHM - 0x1000, 0x2000),
        (SHM + 0x3000, 0x1000),
    ] {
        assert_eq!(m.shm_register(base, size, &dram()), Err(Status::Overlap));
    }
    assert_eq!(
        m.shm_register(0x0e10_0000, 0x1000, &dram()),
        Err(Status::BadAddress)
    );
    m.engine.fail_map.store(true, Ordering::SeqCst);
    assert_eq!(
        m.shm_register(SHM + 0x4000, 0x1000, &dram()),
        Err(Status::NoResources)
    );
    assert_eq!(m.shm_count(), 1, "a failed map leaves nothing");
    let many: Vec<u64> = (0..255)
        .map(|i| {
            m.shm_register(0x6000_0000 + i * 0x1000, 0x1000, &dram())
                .unwrap()
        })
        .collect();
    assert_eq!(
        m.shm_register(0x7000_0000, 0x1000, &dram()),
        Err(Status::NoResources)
    );
    for r in many.into_iter().chain([h]) {
        assert_eq!(m.shm_unregister(r), Ok(()));
    }
    assert_eq!(m.shm_count(), 0);
    assert!(m.engine.mapped.lock().unwrap().is_empty());
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[(self.next() % v.len() as u64) as usize])
    }
}

/// One random call against `m`, on handles from `shms`/`sessions` (stale ones included).
/// Closes every session and unregisters every registration a random run left (answers may
/// be refusals for handles already gone), then checks that nothing is left: no session, no
/// registration, no reserved quota, no pin.
fn close_all_and_check_empty(m: Raw, sessions: Vec<u64>, shms: Vec<u64>) {
    for s in sessions {
        let _ = m.close(s);
    }
    for h in shms {
        let _ = m.shm_unregister(h);
    }
    assert_eq!(
        (m.session_count(), m.shm_count(), m.book.reserved()),
        (0, 0, 0)
    );
    assert_eq!(m.pins(), (0, 0));
    assert_eq!(
        m.engine.jobs.load(Ordering::SeqCst),
        0,
        "a LOAD job was not freed"
    );
}

/// The operation (0..10) and its answer.
fn random_call(
    m: Raw,
    rng: &mut Rng,
    shms: &mut Vec<u64>,
    sessions: &mut Vec<u64>,
) -> (u64, Status) {
    let shm = rng.pick(shms).unwrap_or(rng.next());
    let s = rng.pick(sessions).unwrap_or(rng.next());
    let status = |r: Result<u64, Status>| match r {
        Ok(_) => Status::Success,
        Err(e) => e,
    };
    let op = rng.next() % 10;
    let status = match op {
        0 => {
            let base = 0x5000_0000 + (rng.next() % 16) * 0x4000;
            let r = m.shm_register(base, 0x4000, &dram());
            if let Ok(h) = r {
                shms.push(h);
            }
            status(r)
        }
        1 => status(m.shm_unregister(shm).map(|()| 0)),
        2 => {
            let r = fold(m.open(Q * (1 + rng.next() % 4)));
            if r[0] == SUCCESS {
                sessions.push(r[1]);
            }
            Status::from_raw(r[0]).unwrap()
        }
        3 => st(m.close(s)),
        4 => {
            // A quarter of the files take interrupted LOAD steps.
            let len = if rng.next().is_multiple_of(4) {
                (rng.next() % 16) * 1000 + 999
            } else {
                1 + rng.next() % 300_000
            };
            st(m.load(s, shm, 0, len, 0x1000))
        }
        5 => st(run(m, s, shm)),
        6 | 7 => st(m.resume(s)),
        8 => st(m.cancel(s)),
        _ => st(m.unload(s)),
    };
    (op, status)
}

#[test]
fn random_interleavings_keep_the_invariants() {
    let m = machine(40 * Q);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut shms, mut sessions) = (Vec::new(), Vec::new());
    for i in 0..20_000 {
        let (op, status) = random_call(m, &mut rng, &mut shms, &mut sessions);
        assert_ne!(status, Status::Internal, "call {i}");
        // With one CPU, BUSY only comes from unregistering what a paused run or an
        // interrupted LOAD holds.
        assert!(
            status != Status::Busy || (op == 1 && m.pins().0 > 0),
            "call {i}: {status:?} with one CPU"
        );
        assert!(m.book.reserved() <= 40 * Q);
        assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0, "call {i}");
        assert_eq!(m.engine.mapped.lock().unwrap().len(), m.shm_count());
        // With no call in progress, every pin is a paused run's.
        assert_eq!(m.pins().1, 0);
    }
    close_all_and_check_empty(m, sessions, shms);
}

#[test]
fn random_interleavings_from_four_threads() {
    let m = machine(40 * Q);
    let shared: &'static StdMutex<(Vec<u64>, Vec<u64>)> =
        Box::leak(Box::new(StdMutex::new((Vec::new(), Vec::new()))));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
                for _ in 0..10_000 {
                    // Handles are shared: threads act on each other's objects.
                    let (mut shms, mut sessions) = shared.lock().unwrap().clone();
                    let (n_shm, n_s) = (shms.len(), sessions.len());
                    let (_, status) = random_call(m, &mut rng, &mut shms, &mut sessions);
                    assert_ne!(status, Status::Internal);
                    let mut g = shared.lock().unwrap();
                    g.0.extend_from_slice(&shms[n_shm..]);
                    g.1.extend_from_slice(&sessions[n_s..]);
                    assert!(m.book.reserved() <= 40 * Q);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
    assert_eq!(m.pins().1, 0);
    let (shms, sessions) = shared.lock().unwrap().clone();
    close_all_and_check_empty(m, sessions, shms);
    assert!(m.engine.mapped.lock().unwrap().is_empty());
}

#[test]
fn a_file_larger_than_the_quota_has_no_instance_budget() {
    assert_eq!(copy_cost(0), 8);
    assert_eq!(copy_cost(9), 16);
    assert_eq!(copy_cost(u64::MAX), u64::MAX, "saturates");
    assert_eq!(instance_budget(Q, 1000), Some(Q - 1000));
    assert_eq!(instance_budget(Q, Q), Some(0));
    assert_eq!(instance_budget(Q, Q + 1), None, "no wrap-around");
    assert_eq!(instance_budget(Q, u64::MAX), None);
    assert_eq!(min_quota(Q + 1, 4096), Q + 8 + 4096);
    assert_eq!(min_quota(u64::MAX, u64::MAX), u64::MAX);
}

#[test]
fn reserved_tables_do_not_grow() {
    let m = machine(u64::MAX);
    assert!(m.reserve(16, 300));
    let hs: Vec<u64> = (0..300).map(|_| fold(m.open(Q))[1]).collect();
    for h in hs {
        assert_eq!(st(m.close(h)), Status::Success);
    }
}

#[test]
fn everything_closed_leaves_empty_tables() {
    let m = machine(1 << 30);
    for pauses in [0u64, 3] {
        let (shm, s) = setup(m, 8 + pauses);
        let _ = run(m, s, shm);
        let _ = m.cancel(s);
        assert_eq!(st(m.close(s)), Status::Success);
        assert_eq!(m.shm_unregister(shm), Ok(()));
        assert_eq!((m.session_count(), m.shm_count(), m.pins()), (0, 0, (0, 0)));
        assert_eq!(m.shm.inner_capacity(), 0);
        assert_eq!(m.sessions.inner_capacity(), 0);
    }
}

/// A CPU's last call inside a session leaves nothing of it installed: after LOAD, RUN and
/// RESUME on one thread, CLOSE and UNLOAD on another never free a module the first still
/// holds (the firmware freed a session's translation tables while the loading CPU still had
/// them in TTBR0, between releasing the session and returning to the normal world).
#[test]
fn another_cpu_can_free_what_a_call_used() {
    let m = machine(1 << 20);
    let (shm, s) = std::thread::spawn(move || setup(m, 2)).join().unwrap();
    assert_eq!(st(m.unload(s)), Status::Success);
    std::thread::spawn(move || {
        assert_eq!(fold(m.load(s, shm, 0, 3, 0x1000))[0], SUCCESS);
        assert_eq!(st(run(m, s, shm)), Status::OutputPending);
        assert_eq!(st(m.resume(s)), Status::OutputPending);
    })
    .join()
    .unwrap();
    assert_eq!(st(m.close(s)), Status::Success);
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
    assert!(m.engine.installed.lock().unwrap().is_empty());
}

/// The LOAD steps of LOAD and RESUME end with `release_cpu` too: a LOAD interrupted on one CPU
/// and continued on another is abandoned (SESSION_CLOSE, CANCEL) or unloaded on a third with
/// nothing of it still installed anywhere.
#[test]
fn another_cpu_can_free_what_a_load_step_used() {
    let m = machine(1 << 20);
    let shm = m.shm_register(SHM, 0x4000, &dram()).unwrap();
    let on_another_cpu =
        |f: Box<dyn FnOnce() -> Status + Send>| std::thread::spawn(f).join().unwrap();
    for abandon in [Raw::close, Raw::cancel, Raw::unload] {
        let s = fold(m.open(Q))[1];
        assert_eq!(
            on_another_cpu(Box::new(move || st(m.load(s, shm, 0, 2999, 0x1000)))),
            Status::Interrupted
        );
        assert_eq!(
            on_another_cpu(Box::new(move || st(m.resume(s)))),
            Status::Interrupted
        );
        assert_eq!(st(abandon(m, s)), Status::Success);
        let _ = m.close(s);
    }
    let s = fold(m.open(Q))[1];
    assert_eq!(
        on_another_cpu(Box::new(move || st(m.load(s, shm, 0, 1999, 0x1000)))),
        Status::Interrupted
    );
    let resume = move || st(m.resume(s));
    assert_eq!(on_another_cpu(Box::new(resume)), Status::Interrupted);
    assert_eq!(on_another_cpu(Box::new(resume)), Status::Success);
    assert_eq!(st(m.close(s)), Status::Success);
    assert_eq!(m.engine.violations.load(Ordering::SeqCst), 0);
    assert_eq!(m.engine.jobs.load(Ordering::SeqCst), 0);
    assert!(m.engine.installed.lock().unwrap().is_empty());
    assert_eq!(m.shm_unregister(shm), Ok(()));
}
