//! The call-layer fuzz target (`make call-fuzz-smoke`, part of `make test`): deterministic
//! random call sequences through the real dispatcher ([`crate::dispatch::dispatch`]: function
//! id decoding, [`SessionCall::from_regs`] / [`ShmCall::from_regs`], the [`Machine`]), with a
//! fake platform and engine.
//!
//! One execution is one sequence of 1 to 24 calls on a fresh set of objects: function ids
//! mostly of the session and shared-memory calls, sometimes any other id or a random `x0`;
//! registers either well-formed for the call (built with `to_regs` from live, stale and
//! foreign handles and offsets around the registration's edges) or hostile (register values
//! from a table of edge cases and random words). After every call: the answer's `x0` is a
//! defined status, never INTERNAL or FAILED, BUSY only for SHM_UNREGISTER of a registration
//! a paused run or an interrupted LOAD holds (one CPU); no pin outlives the call except a
//! paused run's or an interrupted LOAD's; the engine never sees an address outside a mapped
//! registration and nothing is unmapped under a run; the quota book stays within its limit.
//! After every sequence, once everything is closed and unregistered: no session,
//! registration, reserved quota, pin, LOAD job or mapping is left, and both handle tables
//! have given their memory back.
//!
//! `TZWASM_CALL_FUZZ_EXECS` sets the number of executions (default 10^6 in release builds,
//! 2,000 in debug `cargo test`), `TZWASM_CALL_FUZZ_SEED` the seed; the test prints both and
//! how many calls and which statuses it saw. A second test runs the same generator from two
//! threads on one machine and shared handles ([`call_layer_fuzz_two_cpus`]).

use super::*;
use crate::dispatch::{dispatch, Services};
use crate::failstop::FailRecord;
use crate::pool::PoolStats;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex as StdMutex;
use tzwasm_smc::args::{ShmCall, ShmOffset};
use tzwasm_smc::call::{ids, El0Program, FaultKind, MeasureSelector, ALL_CALLS};
use tzwasm_smc::session::SESSION_MIN_QUOTA;
use tzwasm_smc::{Call, Regs8};

const Q: u64 = SESSION_MIN_QUOTA;
/// The quota book's limit: a few sessions' worth, so QUOTA_TOO_LARGE happens too.
const LIMIT: u64 = 24 * Q;
/// Normal-world DRAM of the fake platform: 0x4000_0000 + 1 GiB.
const SHM_AREA: u64 = 0x5000_0000;

/// A module of the fake engine: pauses left, where its run's ring and report live.
struct Module {
    pauses: u64,
    ring: (u64, u64),
    report: u64,
    charged: u64,
}

/// The fake engine: records what is mapped and counts every address it is handed outside a
/// mapped registration (or a registration unmapped under a run) as a violation.
#[derive(Default)]
struct FuzzEngine {
    mapped: StdMutex<Vec<ShmRange>>,
    maps: AtomicU64,
    violations: AtomicU64,
    /// LOAD jobs begun and not yet abandoned.
    jobs: AtomicU64,
}

/// A LOAD of the fake engine in progress: where it reads and reports, and how many more
/// steps answer INTERRUPTED (files of `len % 4 == 1` bytes take `len % 3` of them).
struct Job {
    at: LoadPlace,
    interruptions: u64,
}

impl FuzzEngine {
    fn inside(&self, addr: u64, len: u64) -> bool {
        let ok = self.mapped.lock().is_ok_and(|m| {
            m.iter().any(|r| {
                addr >= r.base
                    && addr
                        .checked_add(len)
                        .is_some_and(|end| end <= r.base + r.size)
            })
        });
        if !ok {
            self.violations.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    fn step(&self, m: &mut Module) -> Step {
        let ring_ok = self.inside(m.ring.0, m.ring.1);
        let report_ok = self.inside(m.report, RUN_REPORT_LEN);
        if !(ring_ok && report_ok) {
            return Step::Ended([Status::Trapped.to_raw(), u64::MAX, 0, 0]);
        }
        if m.pauses == 0 {
            Step::Ended([Status::Success.to_raw(), 0, 1, 2])
        } else {
            m.pauses -= 1;
            let status = if m.pauses.is_multiple_of(2) {
                Status::OutputPending
            } else {
                Status::Interrupted
            };
            Step::Paused([status.to_raw(), 0, 0, 0])
        }
    }
}

const RUN_REPORT_LEN: u64 = tzwasm_smc::session::RUN_REPORT_SIZE as u64;
const LOAD_REPORT_LEN: u64 = tzwasm_smc::session::LOAD_REPORT_SIZE as u64;

impl Engine for FuzzEngine {
    type Module = Module;
    type Loading = Job;

    fn map_shm(&self, range: ShmRange) -> bool {
        // Every 17th map fails (mapping tables exhausted): the registration must vanish.
        if self.maps.fetch_add(1, Ordering::Relaxed) % 17 == 16 {
            return false;
        }
        match self.mapped.lock() {
            Ok(mut m) => {
                if m.iter().any(|r| r.overlaps(range)) {
                    self.violations.fetch_add(1, Ordering::Relaxed);
                }
                m.push(range);
                true
            }
            Err(_) => false,
        }
    }

    fn unmap_shm(&self, range: ShmRange) -> bool {
        let Ok(mut m) = self.mapped.lock() else {
            return false;
        };
        let before = m.len();
        m.retain(|r| *r != range);
        if m.len() + 1 != before {
            self.violations.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// The file length is the script: it costs `len` bytes of quota, `len % 5` pauses, and
    /// a length of 3 mod 7 is a bad module.
    fn begin_load(&self, _: &Account, at: &LoadPlace) -> Result<Job, Refusal> {
        let inside = self.inside(at.file, at.len) && self.inside(at.report, LOAD_REPORT_LEN);
        if !inside || at.len % 7 == 3 {
            return Err(Status::BadModule.into());
        }
        self.jobs.fetch_add(1, Ordering::Relaxed);
        let interruptions = if at.len % 4 == 1 { at.len % 3 } else { 0 };
        Ok(Job {
            at: *at,
            interruptions,
        })
    }

    fn step_load(&self, account: &Account, job: &mut Job) -> Result<LoadStep<Module>, Refusal> {
        // The registration is still mapped at every step (pinned while interrupted).
        let at = job.at;
        if !(self.inside(at.file, at.len) && self.inside(at.report, LOAD_REPORT_LEN)) {
            return Err(Status::BadModule.into());
        }
        if job.interruptions > 0 {
            job.interruptions -= 1;
            return Ok(LoadStep::Interrupted);
        }
        if !account.try_charge(at.len) {
            return Err(Refusal(Status::QuotaTooSmall, at.len));
        }
        let module = Module {
            pauses: at.len % 5,
            ring: (0, 0),
            report: 0,
            charged: at.len,
        };
        Ok(LoadStep::Loaded(module, [at.len, at.len, 0]))
    }

    fn abandon_load(&self, _: &Account, _job: Job) {
        self.jobs.fetch_sub(1, Ordering::Relaxed);
    }

    fn run(&self, _: &Account, m: &mut Module, at: &RunPlace) -> Step {
        let inside = self.inside(at.block.0, at.block.1)
            && self.inside(at.ring.0, at.ring.1)
            && self.inside(at.report, RUN_REPORT_LEN);
        if !inside || at.block.1 % 5 == 4 {
            return Step::Refused(Status::InvalidParameter.into());
        }
        m.ring = at.ring;
        m.report = at.report;
        self.step(m)
    }

    fn resume(&self, _: &Account, m: &mut Module) -> Step {
        self.step(m)
    }

    fn cancel(&self, _: &Account, m: &mut Module) -> Regs4 {
        self.inside(m.ring.0, m.ring.1);
        [Status::Success.to_raw(), 0, 0, 0]
    }

    fn unload(&self, account: &Account, m: Module) {
        account.credit(m.charged);
    }

    fn charged(&self, _: &Account, m: &Module) -> u64 {
        m.charged
    }

    fn attest(&self, _: &Account, _: &Module, _: &AttestPlace) -> Answer {
        ok(0, 0, 0)
    }

    fn receipt(&self, _: &Account, _: &Module, _: &ReceiptPlace) -> Answer {
        ok(0, 0, 0)
    }

    fn stats(&self, m: Option<&Module>, page: u64) -> Option<[u64; 3]> {
        (page == 1).then(|| [m.map_or(0, |m| m.pauses), 0, 0])
    }

    fn release_cpu(&self) {}
}

/// The fake platform: a machine with the fuzz engine behind the real dispatcher.
struct Platform {
    m: &'static Machine<FuzzEngine>,
    failure: FailRecord,
    dram: NsDram,
}

fn not_supported() -> Regs4 {
    fold(Err(Status::NotSupported.into()))
}

impl Services for Platform {
    fn fail_record(&self) -> &FailRecord {
        &self.failure
    }
    fn test_hooks(&self) -> bool {
        false
    }
    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: 16 << 20,
            used: 0,
            high_water: 0,
        }
    }
    fn cpus_seen(&self) -> u64 {
        1
    }
    fn max_cpus(&self) -> u64 {
        8
    }
    fn shm_register(&mut self, args: ShmRegisterArgs) -> Result<ShmHandle, Status> {
        self.m.shm_register(args, &self.dram)
    }
    fn shm_unregister(&mut self, handle: ShmHandle) -> Result<(), Status> {
        self.m.shm_unregister(handle)
    }
    fn session_call(&mut self, call: SessionCall) -> Answer {
        self.m.serve(call)
    }
    // A release platform: the dispatcher never calls these (test hooks are off).
    fn test_fault(&mut self, _: FaultKind) {}
    fn test_fp(&mut self, _: u64, _: u64) -> [u64; 3] {
        [0; 3]
    }
    fn test_shm(&mut self, _: ShmHandle, _: u64, _: u64) -> Result<u64, Status> {
        Err(Status::NotSupported)
    }
    fn test_run(&mut self, _: ShmHandle, _: u64, _: u64) -> Regs4 {
        not_supported()
    }
    fn test_el0(&mut self, _: El0Program, _: u64, _: u64) -> Regs4 {
        not_supported()
    }
    fn test_measure(&mut self, _: MeasureSelector) -> [u64; 3] {
        [0; 3]
    }
    fn test_alloc_fail(&mut self, _: u64) -> [u64; 3] {
        [0; 3]
    }
}

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick(&mut self, v: &[u64]) -> Option<u64> {
        (!v.is_empty()).then(|| v[self.below(v.len() as u64) as usize])
    }
}

/// Handles of the current sequence, and stale ones from earlier sequences.
#[derive(Default)]
struct Handles {
    sessions: Vec<u64>,
    shms: Vec<u64>,
    stale: Vec<u64>,
}

impl Handles {
    /// A handle: live of the wanted kind, live of the other kind (foreign), stale, or forged.
    fn any(&self, rng: &mut Rng, sessions: bool) -> u64 {
        self.pick(rng, sessions, 6)
    }

    /// As [`Handles::any`], a live handle of the wanted kind `own_in_10` times in 10 when
    /// there is one.
    fn pick(&self, rng: &mut Rng, sessions: bool, own_in_10: u64) -> u64 {
        let (own, other) = if sessions {
            (&self.sessions, &self.shms)
        } else {
            (&self.shms, &self.sessions)
        };
        let forged = || 0;
        let k = rng.below(10);
        match k.checked_sub(own_in_10) {
            None => rng.pick(own),
            Some(0) => rng.pick(other),
            Some(1) => rng.pick(&self.stale),
            _ => None,
        }
        .unwrap_or_else(|| match rng.below(4) {
            0 => forged(),
            1 => u64::MAX,
            2 => rng.below(8) << 32 | rng.below(4),
            _ => rng.next(),
        })
    }
}

/// An offset inside (or just past) a 4-page registration, or a hostile one.
fn offset(rng: &mut Rng) -> u64 {
    match rng.below(12) {
        0..=7 => rng.below(0x41) * 0x100,
        8 => 0x4000 - 256 + rng.below(3) * 8,
        9 => u64::MAX - rng.below(0x200),
        10 => rng.below(0x4000),
        _ => rng.next(),
    }
}

/// A length: small, around the edges, or hostile.
fn length(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0..=5 => 1 + rng.below(0x400),
        6 => 0,
        7 => 0x1000 * (1 + rng.below(4)),
        8 => u64::MAX - rng.below(4),
        _ => rng.next(),
    }
}

/// An edge-case register value for the hostile register sets.
fn edge(rng: &mut Rng, h: &Handles) -> u64 {
    match rng.below(10) {
        0 => 0,
        1 => u64::MAX,
        2 => 1 << 63,
        3 => h.any(rng, true),
        4 => h.any(rng, false),
        5 => offset(rng),
        6 => length(rng),
        7 => SHM_AREA + rng.below(64) * 0x1000,
        8 => Q * rng.below(8),
        _ => rng.next(),
    }
}

/// The session and shared-memory function ids, the ones the sequences mostly call (LOAD, RUN
/// and RESUME twice: they lead to the deeper states).
const TARGETS: [tzwasm_smc::FunctionId; 13] = [
    ids::LOAD,
    ids::RUN,
    ids::RESUME,
    ids::SHM_REGISTER,
    ids::SHM_UNREGISTER,
    ids::SESSION_OPEN,
    ids::SESSION_CLOSE,
    ids::LOAD,
    ids::RUN,
    ids::RESUME,
    ids::CANCEL,
    ids::UNLOAD,
    ids::STATS,
];

/// Well-formed registers of `call` (its shape may still be refused: zero lengths, overlaps).
fn well_formed(rng: &mut Rng, h: &Handles, call: Call) -> Regs8 {
    let s = SessionHandle::from_raw(h.pick(rng, true, 8));
    let shm = ShmHandle::from_raw(h.pick(rng, false, 8));
    let span = |rng: &mut Rng| ShmSpan::new(offset(rng), length(rng));
    let decoded: Option<Regs8> = match call {
        Call::ShmRegister => {
            let base = SHM_AREA + rng.below(24) * 0x2000;
            let size = 0x1000 * (1 + rng.below(6));
            ShmRegisterArgs::new(base, size)
                .ok()
                .map(|a| ShmCall::Register(a).to_regs())
        }
        Call::ShmUnregister => Some(ShmCall::Unregister(shm).to_regs()),
        Call::SessionOpen => OpenArgs::new(Q * (1 + rng.below(10)))
            .ok()
            .map(OpenArgs::to_regs),
        // Mostly places that fit the smallest registration (one page), so runs happen.
        Call::Load if rng.below(4) != 0 => {
            let file = ShmSpan::new(rng.below(8) * 0x40, 1 + rng.below(0x300));
            file.and_then(|f| LoadArgs::new(s, shm, f, ShmOffset::new(0xf00)).ok())
                .map(|a| a.to_regs())
        }
        Call::Run if rng.below(4) != 0 => {
            let block = ShmSpan::new(0, 1 + rng.below(0x100));
            let ring = ShmSpan::new(0x400, 0x400);
            block
                .zip(ring)
                .and_then(|(b, r)| RunArgs::new(s, shm, b, r, ShmOffset::new(0xc00)).ok())
                .map(|a| a.to_regs())
        }
        Call::Load => span(rng).and_then(|file| {
            LoadArgs::new(s, shm, file, ShmOffset::new(offset(rng) & !7))
                .ok()
                .map(|a| a.to_regs())
        }),
        Call::Run => span(rng).zip(span(rng)).and_then(|(block, ring)| {
            let ring = ShmSpan::new(ring.offset().get() & !63, ring.len())?;
            RunArgs::new(s, shm, block, ring, ShmOffset::new(offset(rng) & !7))
                .ok()
                .map(|a| a.to_regs())
        }),
        Call::Stats => Some(
            SessionCall::Stats(StatsArgs {
                session: s,
                page: rng.below(3),
            })
            .to_regs(),
        ),
        Call::SessionClose => Some(SessionCall::Close(s).to_regs()),
        Call::Unload => Some(SessionCall::Unload(s).to_regs()),
        Call::Resume => Some(SessionCall::Resume(s).to_regs()),
        Call::Cancel => Some(SessionCall::Cancel(s).to_regs()),
        _ => None,
    };
    decoded.unwrap_or_else(|| {
        let mut x = [0u64; 8];
        x[0] = call.id().to_x0();
        x
    })
}

/// One random call's registers.
fn registers(rng: &mut Rng, h: &Handles) -> Regs8 {
    let id = match rng.below(20) {
        0..=17 => TARGETS[rng.below(TARGETS.len() as u64) as usize].to_x0(),
        18 => ALL_CALLS[rng.below(ALL_CALLS.len() as u64) as usize]
            .id()
            .to_x0(),
        _ => rng.next() & 0xffff_ffff,
    };
    match tzwasm_smc::FunctionId::from_x0(id).decode() {
        Ok(call) if rng.below(3) != 0 => well_formed(rng, h, call),
        _ => {
            let mut x: Regs8 = core::array::from_fn(|_| edge(rng, h));
            x[0] = id;
            x
        }
    }
}

struct Counts {
    calls: u64,
    statuses: std::collections::BTreeMap<i64, u64>,
}

/// One execution: a sequence of calls, then everything closed and checked empty.
fn execution(p: &mut Platform, rng: &mut Rng, h: &mut Handles, counts: &mut Counts, n: u64) {
    let calls = 1 + rng.below(24);
    // Half the sequences start with a registration and a session, to reach deeper states.
    let prologue = rng.below(2) == 0;
    for i in 0..calls {
        let x = match i {
            0 | 1 if prologue => {
                let call = [Call::ShmRegister, Call::SessionOpen][i as usize];
                well_formed(rng, h, call)
            }
            _ => registers(rng, h),
        };
        let r = dispatch(p, &x);
        counts.calls += 1;
        // The standard Trusted OS queries answer values, not a status.
        let expected = match tzwasm_smc::FunctionId::from_x0(x[0]).decode() {
            Ok(Call::CallCount) => Some([u64::from(Call::served_count(false)), 0, 0, 0]),
            Ok(Call::CallUid) => Some(tzwasm_smc::TZWASM_UID.to_regs()),
            Ok(Call::Revision) => Some([
                u64::from(tzwasm_smc::PROTOCOL_VERSION.major),
                u64::from(tzwasm_smc::PROTOCOL_VERSION.minor),
                0,
                0,
            ]),
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(r, expected, "execution {n} call {i}");
            continue;
        }
        let status = Status::from_raw(r[0]);
        let Some(status) = status else {
            panic!(
                "execution {n} call {i}: undefined status {:#x} for {x:#x?}",
                r[0]
            );
        };
        *counts.statuses.entry(status.code()).or_default() += 1;
        // One CPU: BUSY only for SHM_UNREGISTER of a registration a paused run or an
        // interrupted LOAD holds.
        let busy_ok = status == Status::Busy && x[0] == ids::SHM_UNREGISTER.to_x0();
        assert!(
            busy_ok || !matches!(status, Status::Internal | Status::Busy | Status::Failed),
            "execution {n} call {i}: {status:?} for {x:#x?}"
        );
        if status == Status::Success {
            if x[0] == ids::SESSION_OPEN.to_x0() {
                h.sessions.push(r[1]);
            } else if x[0] == ids::SHM_REGISTER.to_x0() {
                h.shms.push(r[1]);
            }
        }
        let m = p.m;
        assert_eq!(
            m.pins().1,
            0,
            "execution {n} call {i}: a session pin outlived its call"
        );
        assert!(m.book.reserved() <= LIMIT);
        assert_eq!(
            m.engine.violations.load(Ordering::Relaxed),
            0,
            "execution {n} call {i}: {x:#x?}"
        );
        assert_eq!(
            m.engine.mapped.lock().map(|v| v.len()).ok(),
            Some(m.shm_count())
        );
    }
    // Close everything (stale and foreign handles answer NO_SUCH_HANDLE), then nothing left.
    for s in h.sessions.drain(..) {
        let r = dispatch(p, &SessionCall::Close(SessionHandle::from_raw(s)).to_regs());
        assert!(matches!(
            Status::from_raw(r[0]),
            Some(Status::Success | Status::NoSuchHandle)
        ));
        h.stale.push(s);
    }
    for s in h.shms.drain(..) {
        let r = dispatch(p, &ShmCall::Unregister(ShmHandle::from_raw(s)).to_regs());
        assert!(matches!(
            Status::from_raw(r[0]),
            Some(Status::Success | Status::NoSuchHandle)
        ));
        h.stale.push(s);
    }
    if h.stale.len() > 64 {
        let excess = h.stale.len() - 64;
        h.stale.drain(..excess);
    }
    let m = p.m;
    assert_eq!(
        (
            m.session_count(),
            m.shm_count(),
            m.book.reserved(),
            m.pins()
        ),
        (0, 0, 0, (0, 0)),
        "execution {n}: something left after closing everything"
    );
    assert_eq!(m.engine.mapped.lock().map(|v| v.len()).ok(), Some(0));
    assert_eq!(
        m.engine.jobs.load(Ordering::Relaxed),
        0,
        "execution {n}: a LOAD job was not freed"
    );
    assert_eq!(
        (m.shm.inner_capacity(), m.sessions.inner_capacity()),
        (0, 0)
    );
}

/// A machine with the fuzz engine, at most 8 registrations and `LIMIT` for session quotas.
fn fuzz_machine() -> &'static Machine<FuzzEngine> {
    let m: &'static Machine<FuzzEngine> =
        Box::leak(Box::new(Machine::new(FuzzEngine::default(), 8)));
    m.book.set_limit(LIMIT);
    m
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn call_layer_fuzz() {
    let default = if cfg!(debug_assertions) {
        2_000
    } else {
        1_000_000
    };
    let execs = env_u64("TZWASM_CALL_FUZZ_EXECS", default);
    let seed = env_u64("TZWASM_CALL_FUZZ_SEED", 1);
    let m = fuzz_machine();
    let mut p = Platform {
        m,
        failure: FailRecord::new(),
        dram: NsDram::from_banks(
            [(0x4000_0000, 0x4000_0000)],
            0x0e00_0000..0x0f00_0000,
            |_| {},
        ),
    };
    let mut rng = Rng(seed);
    let mut h = Handles::default();
    let mut counts = Counts {
        calls: 0,
        statuses: Default::default(),
    };
    for n in 0..execs {
        execution(&mut p, &mut rng, &mut h, &mut counts, n);
    }
    let seen: Vec<String> = counts
        .statuses
        .iter()
        .map(|(&code, &k)| format!("{} {k}", Status::from_code(code).map_or("?", Status::name)))
        .collect();
    println!(
        "call-layer fuzz: {execs} executions (call sequences), {} calls, seed {seed}, no panic; \
         statuses: {}",
        counts.calls,
        seen.join(", ")
    );
    // The sequences reach deep states, not only refusals.
    for s in [
        Status::Success,
        Status::OutputPending,
        Status::Interrupted,
        Status::BadState,
        Status::NoSuchHandle,
        Status::BadAddress,
        Status::QuotaTooLarge,
        Status::NoResources,
        Status::Overlap,
        Status::InvalidParameter,
        Status::NotSupported,
    ] {
        if execs >= 2_000 {
            assert!(
                counts.statuses.contains_key(&s.code()),
                "{s:?} never answered"
            );
        }
    }
}

/// Two threads (two CPUs) on one machine, acting on each other's handles: every answer a
/// defined status (BUSY now legitimate), never INTERNAL or FAILED, no address outside a mapped
/// registration; everything closed at the end leaves the machine empty.
/// `TZWASM_CALL_FUZZ_PARALLEL_CALLS` calls per thread (default 200,000 in release builds,
/// 5,000 in debug).
#[test]
fn call_layer_fuzz_two_cpus() {
    let default = if cfg!(debug_assertions) {
        5_000
    } else {
        200_000
    };
    let per_thread = env_u64("TZWASM_CALL_FUZZ_PARALLEL_CALLS", default);
    let seed = env_u64("TZWASM_CALL_FUZZ_SEED", 1);
    let m = fuzz_machine();
    let shared: &'static StdMutex<Handles> = Box::leak(Box::default());
    // Every handle ever issued (sessions, registrations), to close them all at the end.
    let issued: &'static StdMutex<(Vec<u64>, Vec<u64>)> = Box::leak(Box::default());
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut p = Platform {
                    m,
                    failure: FailRecord::new(),
                    dram: NsDram::from_banks(
                        [(0x4000_0000, 0x4000_0000)],
                        0x0e00_0000..0x0f00_0000,
                        |_| {},
                    ),
                };
                let mut rng = Rng(seed ^ (0xc0de << 16) ^ t);
                let mut busy = 0u64;
                for i in 0..per_thread {
                    let x = {
                        let h = shared.lock().unwrap();
                        registers(&mut rng, &h)
                    };
                    let r = dispatch(&mut p, &x);
                    let decoded = tzwasm_smc::FunctionId::from_x0(x[0]).decode();
                    if matches!(
                        decoded,
                        Ok(Call::CallCount | Call::CallUid | Call::Revision)
                    ) {
                        continue;
                    }
                    let status = Status::from_raw(r[0]);
                    assert!(
                        status.is_some_and(|s| !matches!(s, Status::Internal | Status::Failed)),
                        "thread {t} call {i}: {:#x} for {x:#x?}",
                        r[0]
                    );
                    busy += u64::from(status == Some(Status::Busy));
                    if status == Some(Status::Success) {
                        let mut h = shared.lock().unwrap();
                        let mut all = issued.lock().unwrap();
                        if x[0] == ids::SESSION_OPEN.to_x0() {
                            h.sessions.push(r[1]);
                            all.0.push(r[1]);
                        } else if x[0] == ids::SHM_REGISTER.to_x0() {
                            h.shms.push(r[1]);
                            all.1.push(r[1]);
                        }
                    }
                    // Keep the live lists short: forget (as stale) the oldest handles.
                    let mut h = shared.lock().unwrap();
                    for list in 0..2 {
                        let v = if list == 0 {
                            &mut h.sessions
                        } else {
                            &mut h.shms
                        };
                        if v.len() > 16 {
                            let old = v.remove(0);
                            h.stale.push(old);
                        }
                    }
                    if h.stale.len() > 64 {
                        h.stale.remove(0);
                    }
                }
                busy
            })
        })
        .collect();
    let busy: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(m.engine.violations.load(Ordering::Relaxed), 0);
    // Close every session ever opened, then unregister every registration (stale handles
    // answer NO_SUCH_HANDLE): nothing may be left.
    let mut p = Platform {
        m,
        failure: FailRecord::new(),
        dram: NsDram::default(),
    };
    let (sessions, shms) = issued.lock().unwrap().clone();
    for s in sessions {
        let r = dispatch(
            &mut p,
            &SessionCall::Close(SessionHandle::from_raw(s)).to_regs(),
        );
        assert!(matches!(
            Status::from_raw(r[0]),
            Some(Status::Success | Status::NoSuchHandle)
        ));
    }
    for h in shms {
        let r = dispatch(
            &mut p,
            &ShmCall::Unregister(ShmHandle::from_raw(h)).to_regs(),
        );
        assert!(matches!(
            Status::from_raw(r[0]),
            Some(Status::Success | Status::NoSuchHandle)
        ));
    }
    assert_eq!(
        (
            m.session_count(),
            m.shm_count(),
            m.book.reserved(),
            m.pins()
        ),
        (0, 0, 0, (0, 0))
    );
    assert_eq!(m.engine.mapped.lock().map(|v| v.len()).ok(), Some(0));
    assert_eq!(m.engine.violations.load(Ordering::Relaxed), 0);
    println!(
        "call-layer fuzz, two CPUs: {} calls on shared handles, {busy} answered BUSY, no panic",
        2 * per_thread
    );
}
