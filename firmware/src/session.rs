//! The payload's session [`Engine`]: what LOAD, RUN, RESUME, CANCEL and UNLOAD do with
//! modules, under the state machine of `tzwasm_firmware::sessions` (handle tables,
//! per-session locks, quotas reserved at OPEN), which is host-tested with a fake engine.
//!
//! LOAD never parses shared memory in place: the bytes are copied into secure memory first
//! (so the normal world cannot change them between check and use), measured with SHA-256,
//! parsed and instantiated with the secure [`SecurePlatform`]. Every engine call of a session
//! runs under a [`tzwasm_firmware::pool::Charging`] guard, so everything allocated for it (the
//! copy, the parser's working memory, code, instance data, stack, linear memory, the run's
//! records, the helpers' working memory) is charged to the session's
//! account and fails cleanly past its quota; a quota that is too small is refused with the
//! measured minimum ([`refusal`]). Unloading unmaps, zeroes and frees all of it.
//!
//! Runs are parallel: each CPU serves at most one session at a time, and a paused run's
//! context lives in its module, so it resumes on any CPU. [`RUNS_NOW`] counts the CPUs
//! executing module code at this moment.

use crate::attestation::RunReceipt;
use crate::heap::POOL;
use crate::runner::{resume as resume_run, start, Cursor, Step as RunnerStep};
use crate::runner::{running, RUNS_NOW, RUNS_PEAK};
use crate::runner::{text, SecurePlatform};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use core::sync::atomic::Ordering;
use tzwasm_aot_loader::module::AotModule;
use tzwasm_aot_loader::runtime::Stop;
use tzwasm_aot_loader::runtime::{footprint, Instance, InstanceConfig, InstantiateError};
use tzwasm_aot_loader::{parse, Arch};
use tzwasm_firmware::files::{FilesError, RunFiles};
use tzwasm_firmware::handles::try_boxed;
use tzwasm_firmware::quota::Account;
use tzwasm_firmware::sessions::{
    copy_cost, instance_budget, min_quota as module_min_quota, ok, Answer, AttestPlace, Engine,
    LoadPlace, LoadStep, Machine, ReceiptPlace, Refusal, RunPlace, Step,
};
use tzwasm_firmware::sha256::Sha256;
use tzwasm_firmware::shm::ShmRange;
use tzwasm_smc::call::SHM_MAX_REGISTRATIONS;
use tzwasm_smc::files::{Channel, ChannelError};
use tzwasm_smc::ring::{Consumer, Producer, SharedRegion};
use tzwasm_smc::session::{LoadReport, MAX_MODULE_SIZE, MAX_RUN_BLOCK};
use tzwasm_smc::session::{RunBlock, RunReport};
use tzwasm_smc::{Regs4, Status};

/// Registrations and sessions of the whole payload.
pub static MACHINE: Machine<FwEngine> = Machine::new(FwEngine, SHM_MAX_REGISTRATIONS);

/// The payload's engine (stateless: everything lives in the modules).
pub struct FwEngine;

/// A module loaded in a session. Field order matters for Drop: the instance (which borrows
/// the module and the file) goes first.
pub struct Loaded {
    instance: ManuallyDrop<Box<Instance<'static, SecurePlatform>>>,
    run: RunState,
    module: *mut AotModule,
    file: *mut [u64],
    charged: u64,
    /// SHA-256 of the file as LOAD copied it (the module's measurement).
    measurement: [u8; 32],
    /// Counter ticks LOAD spent: copy, SHA-256, parse, instantiate; then, inside
    /// instantiate, relocation and memory work (allocate, zero, map, seal).
    load_ticks: [u64; 6],
    /// INTERRUPTED answers of the LOAD, and its longest piece (counter ticks between two
    /// interrupt checks).
    load_interruptions: u64,
    load_longest_step: u64,
    /// Times the run returned INTERRUPTED.
    interruptions: u64,
    /// The receipt of the run, when its RUN block asked for one.
    receipt: Option<Box<RunReceipt>>,
}

// SAFETY: a Loaded is only ever touched by the CPU holding its session's lock, one at a time;
// the raw pointers are owned allocations of the payload's pool, not shared with anything.
unsafe impl Send for Loaded {}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, before what it borrows; the platform's Drop unmaps,
        // zeroes and frees every page the instance used.
        unsafe { ManuallyDrop::drop(&mut self.instance) };
        // SAFETY: `module` and `file` came from Box::into_raw in load() and nothing borrows
        // them any more (the instance is gone).
        unsafe {
            drop(Box::from_raw(self.module));
            let mut file = Box::from_raw(self.file);
            file.fill(0);
        }
    }
}

/// Where a loaded module's one run stands.
enum RunState {
    NotStarted,
    /// Waiting for the normal world to drain the ring or give the CPU back: the module's
    /// registers, and where the report goes (the state machine keeps its registration
    /// pinned meanwhile).
    Paused {
        cur: Box<Cursor>,
        report: u64,
    },
    /// The module finished; output the payload adds (an export's results) is still
    /// waiting for room in the ring, and then the run reports `result`.
    Flushing {
        result: Regs4,
        at: u64,
        report: Box<RunReport>,
    },
    /// Finished, trapped or cancelled: RUN again needs UNLOAD + LOAD.
    Done,
}

fn st(s: Status) -> Regs4 {
    [s.to_raw(), 0, 0, 0]
}

fn write_report(at: u64, report: &LoadReport) {
    // SAFETY: the state machine checked [at, at + LOAD_REPORT_SIZE) lies in a registration it
    // holds pinned for the call.
    unsafe { crate::shared_memory::write_shared(at, &report.to_bytes()) };
}

type LoadError = (Status, u64, String);

/// Bytes LOAD copies out of shared memory between two checks for a pending normal-world
/// interrupt (well under 1 ms under QEMU TCG, first touch of the pool pages included).
const LOAD_COPY_CHUNK: usize = 256 << 10;
/// Bytes LOAD hashes between two checks (0.5 to 2 ms of SHA-256 under QEMU TCG).
const LOAD_HASH_CHUNK: usize = 16 << 10;

/// An empty SHA-256 for a LOAD's measurement, with the CPU's SHA-256 instructions if it has
/// them.
fn load_hasher() -> Sha256 {
    Sha256::new(crate::arch::sha256_blocks)
}

/// One load of a file (the LOAD's own, or a measuring one): the copy made so far, the SHA-256 state, and what it cost so far. It
/// lives in the session between INTERRUPTED answers (the state machine pins the
/// registration it copies from and reports into meanwhile).
pub struct Attempt {
    at: LoadPlace,
    quota: u64,
    /// The copy: capacity for the whole file, reserved when the LOAD began.
    words: Vec<u64>,
    hasher: Sha256,
    hashed: usize,
    /// After the parse: the module, the copy, and the platform with the module's pages set
    /// aside (zeroed in pieces before instantiation).
    parsed: Option<Parsed>,
    /// After the parse and the zeroing: the instance being built, in pieces
    /// ([`INSTANTIATE_BUDGET`]), with the module and the copy it borrows.
    building: Option<Building>,
    /// Counter ticks spent copying, hashing, parsing and zeroing (summed over the steps).
    ticks: [u64; 4],
    report: LoadReport,
    /// INTERRUPTED answers so far, and the longest piece of work between two interrupt
    /// checks (the instantiation included), in counter ticks (STATS page 5).
    interruptions: u64,
    longest_step: u64,
    /// The session account's refused charges when the LOAD began (a refusal after more of
    /// them was for want of quota: [`refusal`]).
    refused_before: u64,
}

/// A parsed module waiting to be instantiated.
struct Parsed {
    module: Option<Box<AotModule>>,
    file: Option<Box<[u64]>>,
    platform: Option<SecurePlatform>,
    config: InstanceConfig,
    min_quota: u64,
    zeroed: bool,
}

impl Drop for Parsed {
    fn drop(&mut self) {
        if let Some(f) = self.file.as_mut() {
            f.fill(0);
        }
    }
}

/// Bytes of prepared module pages LOAD zeroes between two checks.
const LOAD_ZERO_CHUNK: u64 = 1 << 20;

impl Attempt {
    /// Gives back what the job holds (the copy zeroed, the parsed module and its pages set
    /// aside), so that a refused LOAD's minimum is measured with nothing of it charged.
    fn release(&mut self) {
        self.words.fill(0);
        self.words = Vec::new();
        self.parsed = None;
        self.building = None;
    }

    fn copied(&self) -> usize {
        (self.words.len() * 8).min(self.at.len as usize)
    }

    /// The next bounded piece of work before instantiation: a chunk of the copy, then of
    /// the hash, then the parse (with the quota check, setting the module's pages aside),
    /// then chunks of zeroing those pages. `Ok(false)` once all are done.
    fn piece(&mut self) -> Result<bool, LoadError> {
        let len = self.at.len as usize;
        let t0 = crate::arch::counter();
        // The parse moved the copy out of `words`: copying and hashing are over then.
        let measuring = self.parsed.is_none() && self.building.is_none();
        if measuring && self.copied() < len {
            let up_to = (self.words.len() * 8)
                .saturating_add(LOAD_COPY_CHUNK)
                .min(len);
            // SAFETY: [file, file + len) is inside a registration the state machine keeps
            // pinned (mapped) for the call and while the LOAD is interrupted; the capacity
            // for all of it was reserved in begin_load.
            let copied = unsafe {
                crate::shared_memory::copy_in_part(self.at.file, len, &mut self.words, up_to)
            };
            self.ticks[0] += crate::arch::counter() - t0;
            if !copied {
                return Err((
                    Status::Internal,
                    0,
                    text(format_args!("the copy of the module made no progress")),
                ));
            }
            return Ok(true);
        }
        if measuring && self.hashed < len {
            let end = self.hashed.saturating_add(LOAD_HASH_CHUNK).min(len);
            let bytes = crate::shared_memory::bytes_of(&self.words, len);
            self.hasher
                .update(bytes.get(self.hashed..end).unwrap_or_default());
            self.hashed = end;
            self.ticks[1] += crate::arch::counter() - t0;
            return Ok(true);
        }
        if let Some(b) = self.building.as_mut() {
            let platform = &mut b.loaded.instance.platform;
            // The image is written through its window in the instance's own address space,
            // which this CPU may not have installed (an earlier piece ran, then the payload
            // went back to the normal world, or this is another CPU).
            platform.activate();
            if let Some(left) = b.left_at.take() {
                platform.exclude_from_relocation(t0.wrapping_sub(left));
            }
            let done = b
                .loaded
                .instance
                .instantiate_step(INSTANTIATE_BUDGET)
                .map_err(|e| {
                    (
                        instantiate_status(&e),
                        b.min_quota,
                        text(format_args!("{e}")),
                    )
                })?;
            let now = crate::arch::counter();
            b.ticks += now - t0;
            if !done {
                b.left_at = Some(now);
            }
            return Ok(!done);
        }
        match self.parsed.as_mut() {
            None => {
                let digest = core::mem::replace(&mut self.hasher, load_hasher()).finalize();
                self.report.sha256.copy_from_slice(&digest);
                let parsed = parse_step(self)?;
                self.parsed = Some(parsed);
                self.ticks[2] += crate::arch::counter() - t0;
                Ok(true)
            }
            Some(p) if !p.zeroed => {
                p.zeroed = p
                    .platform
                    .as_mut()
                    .is_none_or(|pl| pl.zero_prepared(LOAD_ZERO_CHUNK));
                self.ticks[3] += crate::arch::counter() - t0;
                Ok(true)
            }
            Some(_) => {
                self.building = Some(begin_instance(self)?);
                self.ticks[3] += crate::arch::counter() - t0;
                Ok(true)
            }
        }
    }
}

/// Image units (64 bytes copied or one relocation, `tzwasm_aot_loader::image`) an
/// instantiation does between two checks for a pending normal-world interrupt: well under a
/// millisecond under QEMU TCG.
const INSTANTIATE_BUDGET: u64 = 16 << 10;

/// An instantiation in progress: the instance (built in pieces) already owning the module
/// and the copy as a [`Loaded`] does.
struct Building {
    loaded: Loaded,
    min_quota: u64,
    /// Counter ticks of the pieces so far.
    ticks: u64,
    /// When the last unfinished piece ended (the time until the next is not relocation).
    left_at: Option<u64>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        // What was copied of the module is zeroed before it goes back to the pool.
        self.words.fill(0);
    }
}

/// LOAD's parse step, once the file is copied and measured: parse, the footprint and the
/// quota check, and the module's pages set aside. The copy moves into the result.
fn parse_step(job: &mut Attempt) -> Result<Parsed, LoadError> {
    let (quota, at) = (job.quota, job.at);
    let len = at.len as usize;
    let file: Box<[u64]> = core::mem::take(&mut job.words).into_boxed_slice();
    // A Box whose contents are zeroed when it is dropped on the refusals below.
    struct Zeroing(Option<Box<[u64]>>);
    impl Drop for Zeroing {
        fn drop(&mut self) {
            if let Some(f) = self.0.as_mut() {
                f.fill(0);
            }
        }
    }
    let mut guard = Zeroing(Some(file));
    let bytes = crate::shared_memory::bytes_of(guard.0.as_deref().unwrap_or_default(), len);
    let module = parse(bytes, Arch::Aarch64).map_err(|e| {
        let status = match e {
            tzwasm_aot_loader::LoadError::OutOfMemory => Status::OutOfMemory,
            _ => Status::BadModule,
        };
        (status, 0, text(format_args!("{e}")))
    })?;
    let config = InstanceConfig {
        // A file larger than the quota leaves nothing: refused below with the minimum.
        heap_quota: instance_budget(quota, at.len).unwrap_or(0),
        // LOAD's x6 (NativeStack): whole pages, at most MAX_NATIVE_STACK.
        stack_size: usize::try_from(at.stack).unwrap_or(usize::MAX),
        ..Default::default()
    };
    // Planning the image allocates too: out of memory is not a bad module.
    let parts = footprint(&module, &config, 4096)
        .map_err(|e| (instantiate_status(&e), 0, text(format_args!("{e}"))))?;
    let fp = parts.iter().fold(0u64, |a, (_, b)| a.saturating_add(*b));
    let min_quota = module_min_quota(at.len, fp);
    job.report.min_quota = min_quota;
    if min_quota > quota {
        return Err(quota_too_small(quota, min_quota));
    }
    let oom = || {
        (
            Status::OutOfMemory,
            min_quota,
            text(format_args!("secure pool exhausted")),
        )
    };
    let module = try_boxed(module).map_err(|_| oom())?;
    // The pages instantiation will allocate, set aside now so that zeroing them (first
    // touch of pool pages included) happens in pieces, not inside the last step.
    let mut platform = SecurePlatform::new();
    for (_, bytes) in parts {
        platform.prepare(bytes).map_err(|_| oom())?;
    }
    let file = guard.0.take().ok_or_else(oom)?;
    Ok(Parsed {
        module: Some(module),
        file: Some(file),
        platform: Some(platform),
        config,
        min_quota,
        zeroed: false,
    })
}

/// LOAD's checks that need no work, and the job with the copy's memory reserved.
fn begin_load(quota: u64, at: &LoadPlace) -> Result<Attempt, LoadError> {
    let len = at.len as usize;
    if at.len == 0 || at.len > MAX_MODULE_SIZE {
        return Err((
            Status::BadAddress,
            0,
            text(format_args!(
                "module size {} is not in 1..={MAX_MODULE_SIZE}",
                at.len
            )),
        ));
    }
    // The copy counts against the quota once the module is loaded; a quota that cannot hold
    // it is still answered with the module's real minimum, so the copy and the parse happen
    // first and are freed before the refusal.
    let mut words = Vec::new();
    if words.try_reserve_exact(len.div_ceil(8)).is_err() {
        return Err((
            Status::OutOfMemory,
            0,
            text(format_args!("secure pool exhausted copying the module")),
        ));
    }
    Ok(Attempt::new(*at, quota, words))
}

impl Attempt {
    fn new(at: LoadPlace, quota: u64, words: Vec<u64>) -> Self {
        Attempt {
            at,
            quota,
            words,
            hasher: load_hasher(),
            hashed: 0,
            parsed: None,
            building: None,
            ticks: [0; 4],
            report: LoadReport::new(0),
            interruptions: 0,
            longest_step: 0,
            refused_before: 0,
        }
    }
}

/// LOAD's instantiation begins, once the file is copied, measured, parsed and its pages
/// prepared: [`Instance::begin`] (imports bound, the code image planned, allocated and its
/// symbols resolved). The copy and the module move into the result, which frees them (or
/// they are freed here on a refusal).
fn begin_instance(job: &mut Attempt) -> Result<Building, LoadError> {
    let len = job.at.len as usize;
    let parsed = job.parsed.take().and_then(|mut p| {
        Some((
            p.platform.take()?,
            p.file.take()?,
            p.module.take()?,
            p.config,
            p.min_quota,
        ))
    });
    let Some((mut platform, file_box, module_box, config, min_quota)) = parsed else {
        return Err((
            Status::Internal,
            0,
            text(format_args!("instantiating a module that was not parsed")),
        ));
    };
    let file_ptr = Box::into_raw(file_box);
    let module_ptr = Box::into_raw(module_box);
    // SAFETY: file_ptr holds len.div_ceil(8) initialised u64s, at least len bytes; it is
    // freed only in Loaded::drop or below.
    let file: &'static [u8] = unsafe { core::slice::from_raw_parts(file_ptr.cast::<u8>(), len) };
    // SAFETY: module_ptr is a fresh box, freed only in Loaded::drop or below.
    let module_ref: &'static AotModule = unsafe { &*module_ptr };
    platform.evidence = Some(crate::attestation::ModuleEvidence::new(
        job.report.sha256,
        module_ref,
        job.quota,
    ));
    match Instance::begin(module_ref, file, platform, config) {
        Ok(instance) => Ok(Building {
            loaded: Loaded {
                instance: ManuallyDrop::new(instance),
                run: RunState::NotStarted,
                module: module_ptr,
                file: file_ptr,
                charged: 0,
                measurement: [0; 32],
                load_ticks: [0; 6],
                load_interruptions: 0,
                load_longest_step: 0,
                interruptions: 0,
                receipt: None,
            },
            min_quota,
            ticks: 0,
            left_at: None,
        }),
        Err(e) => {
            // SAFETY: both came from Box::into_raw above, and the failed instance that
            // borrowed them is gone.
            unsafe {
                drop(Box::from_raw(module_ptr));
                let mut f = Box::from_raw(file_ptr);
                f.fill(0);
            }
            Err((instantiate_status(&e), min_quota, text(format_args!("{e}"))))
        }
    }
}

/// The end of LOAD, once every piece is done: the loaded module with what it cost.
fn finish_instance(job: &mut Attempt) -> Result<(Loaded, [u64; 3]), LoadError> {
    let Some(Building {
        mut loaded,
        min_quota,
        ticks,
        ..
    }) = job.building.take()
    else {
        return Err((
            Status::Internal,
            0,
            text(format_args!("finishing a module that was not instantiated")),
        ));
    };
    // Whatever was prepared and not taken goes back to the pool.
    loaded.instance.platform.release_prepared();
    let it = loaded.instance.platform.ticks;
    loaded.load_ticks = [
        job.ticks[0],
        job.ticks[1],
        job.ticks[2],
        job.ticks[3] + ticks,
        it.relocate,
        it.memory + job.ticks[3],
    ];
    let charged = copy_cost(job.at.len) + loaded.instance.quota().used();
    loaded.charged = charged;
    loaded.measurement = job.report.sha256;
    loaded.load_interruptions = job.interruptions;
    job.report.charged = charged;
    job.report.set_message("loaded");
    Ok((loaded, [charged, min_quota, 0]))
}

/// The status of a failed instantiation (or footprint computation).
fn instantiate_status(e: &InstantiateError) -> Status {
    match e {
        InstantiateError::Quota(_) => Status::QuotaTooSmall,
        InstantiateError::Platform(_) | InstantiateError::OutOfMemory => Status::OutOfMemory,
        _ => Status::BadModule,
    }
}

/// Room a minimum quota leaves for RUN's own records on top of what the loaded module holds:
/// the run block's copy, the WASI arguments and environment with their slice tables, the
/// saved registers, the output line buffers (four times the largest run block).
pub const RUN_ALLOWANCE: u64 = 4 * MAX_RUN_BLOCK as u64;

/// The minimum quota a load that just succeeded shows: its peak charge, or what the module
/// holds plus [`RUN_ALLOWANCE`], whichever is more.
fn minimum(account: &Account) -> u64 {
    account
        .peak()
        .max(account.used().saturating_add(RUN_ALLOWANCE))
}

/// True if a load attempt failed for want of quota: the account refused a charge during it,
/// or the footprint check (or the instance's own quota) said the quota is too small.
fn for_want_of_quota(account: &Account, refused_before: u64, e: &LoadError) -> bool {
    account.refused() != refused_before || e.0 == Status::QuotaTooSmall
}

/// What a LOAD refused with `e` does next. Every step of a LOAD runs with its allocations
/// charged to the session (the CPU serves it under a [`tzwasm_firmware::pool::Charging`]
/// guard): the copy, SHA-256, the parser's working memory and the parsed module, the pages
/// set aside, the instance and its pages.
///
/// The minimum quota a LOAD reports is measured, not estimated: it is the account's peak
/// charge from the LOAD's beginning to its end (or what the module then holds plus
/// [`RUN_ALLOWANCE`], if more). Allocations are deterministic for a given file and do not
/// depend on where the LOAD was interrupted (the same pieces run in the same order, and
/// nothing else is charged to the session between its calls), so a session with exactly that
/// quota loads it and can start it. When a LOAD fails for want of quota (`refused_before`:
/// the account's refusals when it began), the load is measured again ([`Measuring`]) with
/// memory lent from the [`QuotaBook`](tzwasm_firmware::quota) (what no session has reserved),
/// growing the loan until the load fits or the book has nothing more to lend; the measuring
/// load is then freed and the call answers QUOTA_TOO_SMALL with the peak (or, if even the
/// whole free pool is too small, with a lower bound no session could be opened with now).
/// The measuring loads run in the same bounded pieces as any LOAD, answering INTERRUPTED
/// between them.
fn refusal(account: &Account, quota_hint_of: &LoadError, refused_before: u64) -> Option<Measuring> {
    if !for_want_of_quota(account, refused_before, quota_hint_of) {
        return None;
    }
    let hint = if quota_hint_of.0 == Status::QuotaTooSmall {
        quota_hint_of.1
    } else {
        0
    };
    Some(Measuring {
        job: None,
        extra: 0,
        refused: 0,
        last: false,
        want: 0,
        hint,
    })
}

/// A LOAD refused for want of quota, measuring the module's minimum (see [`refusal`]): the
/// current measuring load, and the memory lent to the account for it. Held in the LOAD's
/// [`LoadJob`], inside the session's record, so that nothing of it is charged to the session
/// while it measures.
pub struct Measuring {
    /// The measuring load in progress (`None` between two attempts).
    job: Option<Attempt>,
    /// Bytes reserved from the quota book and lent to the account for this attempt.
    extra: u64,
    /// The account's refusals when this attempt began.
    refused: u64,
    /// This attempt was lent everything the book had: if it does not fit, nothing will.
    last: bool,
    /// The limit the next attempt asks for (0: not chosen yet).
    want: u64,
    /// A lower bound of the need (the footprint check's), else 0.
    hint: u64,
}

/// A LOAD in progress, as the session holds it between INTERRUPTED answers (the state
/// machine pins the registration it copies from and reports into meanwhile): its own load,
/// and once that was refused for want of quota, the measurement of the module's minimum.
pub struct LoadJob {
    attempt: Attempt,
    measuring: Option<Measuring>,
}

/// The QUOTA_TOO_SMALL answer for a module that needs `min_quota` in a session of `quota`.
fn quota_too_small(quota: u64, min_quota: u64) -> LoadError {
    (
        Status::QuotaTooSmall,
        min_quota,
        text(format_args!(
            "heap quota {quota} is too small: this module needs at least {min_quota} bytes"
        )),
    )
}

/// The QUOTA_TOO_SMALL answer when even all the book has free is not enough.
fn beyond_free_pool(quota: u64, least: u64) -> LoadError {
    (
        Status::QuotaTooSmall,
        least,
        text(format_args!(
            "heap quota {quota} is too small: this module needs at least {least} bytes, \
             more than the secure pool has free for sessions now"
        )),
    )
}

impl Measuring {
    /// Lends the account what the next attempt wants and begins its load. `Ok(Err(e))`: the
    /// load refused at once (the attempt is over); `Err`: the final answer, nothing lent.
    fn begin_attempt(
        &mut self,
        account: &Account,
        at: &LoadPlace,
    ) -> Result<Result<(), LoadError>, LoadError> {
        let book = &MACHINE.book;
        let quota = account.quota();
        if self.want == 0 {
            self.want = quota
                .saturating_mul(2)
                .max(self.hint.saturating_add(self.hint / 4))
                .max(copy_cost(at.len).saturating_mul(4));
        }
        let free = book.free();
        if self.hint > quota.saturating_add(free) {
            return Err(beyond_free_pool(quota, self.hint));
        }
        let mut extra = self.want.saturating_sub(quota);
        self.last = extra >= free || book.reserve(extra).is_err();
        if self.last {
            // Lend what is left, once: if that is not enough, nothing is.
            extra = free;
            if book.reserve(extra).is_err() {
                extra = 0;
            }
        }
        self.extra = extra;
        account.lend(extra);
        account.reset_peak();
        self.refused = account.refused();
        match begin_load(account.limit(), at) {
            Ok(job) => {
                self.job = Some(job);
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Ends the current attempt: frees its load and gives the loan back.
    fn end_attempt(&mut self, account: &Account) {
        self.job = None;
        account.end_loan();
        MACHINE.book.release(core::mem::take(&mut self.extra));
    }

    /// Pieces of the measurement until a normal-world interrupt is pending (`Ok(None)`) or it
    /// ends: `Ok(Some(minimum))`, or `Err` with the answer (QUOTA_TOO_SMALL with a lower
    /// bound when the free pool is too small; any refusal that is not for want of quota).
    fn step(&mut self, account: &Account, at: &LoadPlace) -> Result<Option<u64>, LoadError> {
        loop {
            let result = match self.job.as_mut() {
                Some(job) => match load_step(job) {
                    Ok(None) => return Ok(None),
                    Ok(Some(loaded)) => Ok(loaded),
                    Err(e) => Err(e),
                },
                None => match self.begin_attempt(account, at)? {
                    Ok(()) => continue,
                    Err(e) => Err(e),
                },
            };
            let peak = minimum(account);
            if let Err(e) = &result {
                if e.0 == Status::QuotaTooSmall {
                    self.hint = self.hint.max(e.1);
                }
            }
            let fits = match result {
                Ok(loaded) => {
                    drop(loaded);
                    Ok(true)
                }
                Err(e) if for_want_of_quota(account, self.refused, &e) => Ok(false),
                Err(e) => Err(e),
            };
            let quota = account.quota();
            let lent = self.extra;
            self.end_attempt(account);
            match fits? {
                true => return Ok(Some(peak)),
                false if self.last => {
                    return Err(beyond_free_pool(
                        quota,
                        self.hint.max(quota.saturating_add(lent).saturating_add(1)),
                    ));
                }
                false => {
                    self.want = self
                        .want
                        .saturating_mul(2)
                        .max(self.hint.saturating_add(self.hint / 4));
                }
            }
            if crate::arch::irq_pending() {
                return Ok(None);
            }
        }
    }

    /// Ends an unfinished measurement (the LOAD was abandoned while interrupted).
    fn abandon(&mut self, account: &Account) {
        if self.job.is_some() {
            self.end_attempt(account);
        }
    }
}

/// One call's worth of LOAD: pieces of the copy, the hash, the parse, the zeroing and the
/// instantiation until a normal-world interrupt is pending (`Ok(None)`: INTERRUPTED), or the
/// module is loaded. Every
/// call does at least one piece, so a LOAD always progresses.
fn load_step(job: &mut Attempt) -> Result<Option<(Loaded, [u64; 3])>, LoadError> {
    loop {
        let t0 = crate::arch::counter();
        let more = job.piece()?;
        if !more {
            break;
        }
        job.longest_step = job.longest_step.max(crate::arch::counter() - t0);
        if crate::arch::irq_pending() {
            return Ok(None);
        }
    }
    finish_instance(job).map(Some)
}

/// The report of a run that ended with `result` (x0..x3 of the final answer).
fn run_report(result: &Regs4, stop: Option<&Stop>) -> RunReport {
    let mut r = RunReport::new(result[0] as i64 as i32);
    match stop {
        Some(Stop::Trap(t)) => {
            r.trap_id = t.id().map_or(tzwasm_smc::session::NO_TRAP_ID, |i| i as u32);
            r.set_message(&text(format_args!("{t}")));
        }
        Some(Stop::Exit(code)) => {
            r.exit_code = *code;
            r.set_message("exited");
        }
        _ if result[0] == Status::Success.to_raw() => r.set_message("exited"),
        _ => r.set_message("ended"),
    }
    r
}

/// Runs the module from `cur` until it stops or pauses, counted as a run (STATS page 4) and
/// timed (page 6).
fn timed_run(inst: &mut Instance<'static, SecurePlatform>, cur: &mut Cursor) -> RunnerStep {
    let started = crate::arch::counter();
    let step = running(|| resume_run(inst, cur));
    let t = &mut inst.platform.run_ticks;
    t.secure = t
        .secure
        .saturating_add(crate::arch::counter().wrapping_sub(started));
    step
}

/// Ends a run with `result`: the report written at `at`, the ring marked finished.
fn end_run(loaded: &mut Loaded, mut result: Regs4, mut report: RunReport, at: u64) -> Step {
    let wasi = &mut loaded.instance.platform.wasi;
    if result[0] == Status::Success.to_raw() || result[0] == Status::Trapped.to_raw() {
        result[2] = wasi.written[0];
        result[3] = wasi.written[1];
    }
    report.written = wasi.written;
    if let Some(r) = loaded.receipt.as_mut() {
        r.end(&report, wasi.digests());
    }
    // SAFETY: RUN checked [at, at + RUN_REPORT_SIZE) lies in the run's registration, which
    // the state machine keeps pinned for the call and while the run is paused.
    unsafe { crate::shared_memory::write_shared(at, &report.to_bytes()) };
    loaded.run = RunState::Done;
    wasi.finish();
    Step::Ended(result)
}

fn step_result(loaded: &mut Loaded, step: RunnerStep, cur: Option<Box<Cursor>>, at: u64) -> Step {
    match (step, cur) {
        (
            step @ (RunnerStep::Paused
            | RunnerStep::Interrupted
            | RunnerStep::InputPending
            | RunnerStep::FileRequest),
            Some(cur),
        ) => {
            loaded.run = RunState::Paused { cur, report: at };
            let status = match step {
                RunnerStep::Paused => Status::OutputPending,
                RunnerStep::InputPending => Status::InputPending,
                RunnerStep::FileRequest => Status::FileRequest,
                _ => {
                    loaded.interruptions += 1;
                    Status::Interrupted
                }
            };
            Step::Paused(st(status))
        }
        (
            RunnerStep::Paused
            | RunnerStep::Interrupted
            | RunnerStep::InputPending
            | RunnerStep::FileRequest,
            None,
        ) => {
            let result = st(Status::Internal);
            let mut report = RunReport::new(Status::Internal.to_raw() as i64 as i32);
            report.set_message("paused without a saved context");
            end_run(loaded, result, report, at)
        }
        (RunnerStep::Finished(r), _) => {
            let result = match &r {
                Ok(()) => [Status::Success.to_raw(), 0, 0, 0],
                Err(Stop::Exit(code)) => [Status::Success.to_raw(), u64::from(*code), 0, 0],
                Err(Stop::Trap(t)) => {
                    log::info!("module trapped: {t}");
                    let id = t.id().map_or(u64::MAX, |i| i as u64);
                    [Status::Trapped.to_raw(), id, 0, 0]
                }
                Err(Stop::Pending | Stop::Interrupted) => [Status::Internal.to_raw(), 0, 0, 0],
            };
            let report = run_report(&result, r.as_ref().err());
            if loaded.instance.platform.wasi.flush_tail() {
                end_run(loaded, result, report, at)
            } else {
                let Ok(report) = try_boxed(report) else {
                    // No room to keep the report: end here, the queued tail is lost.
                    return end_run(loaded, result, report_lost(), at);
                };
                loaded.run = RunState::Flushing { result, at, report };
                Step::Paused(st(Status::OutputPending))
            }
        }
    }
}

fn report_lost() -> RunReport {
    let mut r = RunReport::new(Status::OutOfMemory.to_raw() as i64 as i32);
    r.set_message("secure pool exhausted keeping the run's output");
    r
}

impl Engine for FwEngine {
    type Module = Loaded;
    type Loading = LoadJob;

    fn map_shm(&self, range: ShmRange) -> bool {
        match crate::mmu::map_ns_shared(range.base, range.size) {
            Ok(()) => true,
            Err(e) => {
                log::warn!(
                    "SHM_REGISTER {:#x}+{:#x}: cannot map: {e}",
                    range.base,
                    range.size
                );
                false
            }
        }
    }

    fn unmap_shm(&self, range: ShmRange) -> bool {
        match crate::mmu::unmap_ns_shared(range.base, range.size) {
            Ok(()) => true,
            Err(e) => {
                log::error!("SHM_UNREGISTER {:#x}: cannot unmap: {e}", range.base);
                false
            }
        }
    }

    fn begin_load(&self, account: &Account, at: &LoadPlace) -> Result<LoadJob, Refusal> {
        let _charging = POOL.charge_to(account);
        // The minimum is the peak from here to the LOAD's end, over all its steps.
        account.reset_peak();
        let refused_before = account.refused();
        let e = match begin_load(account.limit(), at) {
            Ok(mut attempt) => {
                attempt.refused_before = refused_before;
                return Ok(LoadJob {
                    attempt,
                    measuring: None,
                });
            }
            Err(e) => e,
        };
        // Refused for want of quota before anything was copied: the job only measures.
        if let Some(m) = refusal(account, &e, refused_before) {
            let mut attempt = Attempt::new(*at, account.limit(), Vec::new());
            attempt.refused_before = refused_before;
            return Ok(LoadJob {
                attempt,
                measuring: Some(m),
            });
        }
        let mut report = LoadReport::new(0);
        report.status = e.0.to_raw() as i64 as i32;
        report.set_message(&e.2);
        write_report(at.report, &report);
        Err(Refusal(e.0, e.1))
    }

    fn step_load(&self, account: &Account, job: &mut LoadJob) -> Result<LoadStep<Loaded>, Refusal> {
        let _charging = POOL.charge_to(account);
        let LoadJob { attempt, measuring } = job;
        let at = attempt.at;
        let out = loop {
            if let Some(m) = measuring.as_mut() {
                let e = match m.step(account, &at) {
                    Ok(None) => {
                        attempt.interruptions += 1;
                        return Ok(LoadStep::Interrupted);
                    }
                    Ok(Some(min_quota)) => quota_too_small(account.quota(), min_quota),
                    Err(e) => e,
                };
                *measuring = None;
                if e.0 == Status::QuotaTooSmall {
                    attempt.report.min_quota = e.1;
                }
                break Err(e);
            }
            match load_step(attempt) {
                Ok(None) => {
                    attempt.interruptions += 1;
                    return Ok(LoadStep::Interrupted);
                }
                Ok(Some((mut loaded, _))) => {
                    // Everything the module holds is charged to the session now.
                    let charged = account.used();
                    let min_quota = minimum(account);
                    loaded.charged = charged;
                    loaded.load_longest_step = attempt.longest_step;
                    attempt.report.charged = charged;
                    attempt.report.min_quota = min_quota;
                    attempt.report.status = Status::Success.to_raw() as i64 as i32;
                    break Ok(LoadStep::Loaded(loaded, [charged, min_quota, 0]));
                }
                Err(e) => {
                    attempt.release();
                    match refusal(account, &e, attempt.refused_before) {
                        Some(m) => {
                            *measuring = Some(m);
                            // On with the measurement, interrupted like the LOAD itself.
                            if crate::arch::irq_pending() {
                                attempt.interruptions += 1;
                                return Ok(LoadStep::Interrupted);
                            }
                        }
                        None => break Err(e),
                    }
                }
            }
        };
        let out = out.map_err(|(status, x1, message)| {
            attempt.report.set_message(&message);
            attempt.report.status = status.to_raw() as i64 as i32;
            Refusal(status, x1)
        });
        write_report(at.report, &attempt.report);
        out
    }

    fn abandon_load(&self, account: &Account, mut job: LoadJob) {
        let _charging = POOL.charge_to(account);
        // Loaded or refused: the report is written and the copy gone already. Unfinished:
        // the report stays as the client left it (the LOAD never answered), and the copy
        // (or the measuring load, whose loan goes back to the book) is zeroed and freed with
        // the job.
        if let Some(m) = job.measuring.as_mut() {
            m.abandon(account);
        }
        drop(job);
    }

    fn run(&self, account: &Account, loaded: &mut Loaded, at: &RunPlace) -> Step {
        let _charging = POOL.charge_to(account);
        if !matches!(loaded.run, RunState::NotStarted) {
            return Step::Refused(Status::BadState.into());
        }
        // SAFETY: inside the registration the state machine holds pinned for the call.
        let Some(words) =
            (unsafe { crate::shared_memory::copy_in(at.block.0, at.block.1 as usize) })
        else {
            return Step::Refused(Status::OutOfMemory.into());
        };
        let block = crate::shared_memory::bytes_of(&words, at.block.1 as usize);
        let Ok(block) = RunBlock::parse(block) else {
            return Step::Refused(Status::InvalidParameter.into());
        };
        let receipt = match RunReceipt::of(&block).map(try_boxed) {
            None => None,
            Some(Ok(r)) => Some(r),
            Some(Err(_)) => return Step::Refused(Status::OutOfMemory.into()),
        };
        // SAFETY: [ring, ring + len) lies inside a registration mapped NS RW for EL1. It stays
        // mapped while the run can touch it: the state machine pins the registration for the
        // call and for as long as the run is paused; the producer is dropped when it ends.
        let region = unsafe { SharedRegion::new(at.ring.0 as *mut u8, at.ring.1 as usize) };
        let producer: Producer<'static> = match region.and_then(Producer::attach) {
            Ok(p) => p,
            Err(e) => {
                log::info!("RUN: output ring refused: {e:?}");
                return Step::Refused(Status::InvalidParameter.into());
            }
        };
        if loaded
            .instance
            .platform
            .wasi
            .configure(block.args(), block.env(), Some(producer))
            .is_err()
        {
            return Step::Refused(Status::OutOfMemory.into());
        }
        if let Some((offset, len)) = block.stdin_ring() {
            let input = match at.locate(offset, len) {
                Ok(addr) => addr,
                Err(r) => return Step::Refused(r),
            };
            // SAFETY: [input, input + len) lies inside the registration (checked by locate),
            // mapped NS RW for EL1 and pinned like the output ring for as long as the run can
            // read it; the consumer is dropped when the run ends.
            let region = unsafe { SharedRegion::new(input as *mut u8, len as usize) };
            match region.and_then(Consumer::attach) {
                Ok(c) => loaded.instance.platform.wasi.set_input(c),
                Err(e) => {
                    log::info!("RUN: input ring refused: {e:?}");
                    return Step::Refused(Status::InvalidParameter.into());
                }
            }
        }
        if let Some((offset, len)) = block.file_channel() {
            // Not over the input ring either (locate checked the RUN call's own ranges).
            let overlaps = block.stdin_ring().is_some_and(|(o, l)| {
                o < offset.saturating_add(len) && offset < o.saturating_add(l)
            });
            if overlaps {
                log::info!("RUN: the file channel overlaps the input ring");
                return Step::Refused(Status::InvalidParameter.into());
            }
            let channel = match at.locate(offset, len) {
                Ok(addr) => addr,
                Err(r) => return Step::Refused(r),
            };
            // SAFETY: [channel, channel + len) lies inside the registration (checked by
            // locate), mapped NS RW for EL1 and pinned like the rings for as long as the run
            // can use it; the channel is dropped when the run ends.
            let region = unsafe { SharedRegion::new(channel as *mut u8, len as usize) };
            let measurement = loaded
                .instance
                .platform
                .evidence
                .as_ref()
                .map(|e| e.measurement);
            // The sealed directory's key: the module's, on this device.
            let key = || {
                let id = tzwasm_firmware::identity::get()?;
                tzwasm_attest::sealed_dir::DirKey::derive(&id.keys, &measurement?).ok()
            };
            let attached = region
                .map_err(|_| FilesError::Channel(ChannelError::Layout))
                .and_then(|r| Channel::attach(r).map_err(FilesError::Channel))
                .and_then(|c| RunFiles::attach(c, key, crate::platform::random));
            match attached {
                Ok(files) => loaded.instance.platform.wasi.set_files(files),
                Err(FilesError::OutOfMemory) => return Step::Refused(Status::OutOfMemory.into()),
                Err(FilesError::NoSealing) => {
                    log::info!("RUN: a sealed directory needs the device secret");
                    return Step::Refused(Status::NotSupported.into());
                }
                Err(FilesError::Channel(e)) => {
                    log::info!("RUN: file channel refused: {e:?}");
                    return Step::Refused(Status::InvalidParameter.into());
                }
            }
        }
        if receipt.is_some() {
            loaded.instance.platform.wasi.hash_output();
        }
        loaded.receipt = receipt;
        let mut args: Vec<&str> = Vec::new();
        if args.try_reserve_exact(block.args().count()).is_err() {
            return Step::Refused(Status::OutOfMemory.into());
        }
        args.extend(
            block
                .args()
                .skip(1)
                .map(|a| core::str::from_utf8(a).unwrap_or("")),
        );
        let export = block.entry().map(|name| (name, args.as_slice()));
        let cur = match start(&mut loaded.instance, export) {
            Ok(cur) => cur,
            Err(stop) => {
                return step_result(loaded, RunnerStep::Finished(Err(stop)), None, at.report)
            }
        };
        let Ok(mut cur) = try_boxed(cur) else {
            let mut report = RunReport::new(Status::OutOfMemory.to_raw() as i64 as i32);
            report.set_message("secure pool exhausted starting the run");
            return end_run(loaded, st(Status::OutOfMemory), report, at.report);
        };
        let step = timed_run(&mut loaded.instance, &mut cur);
        step_result(loaded, step, Some(cur), at.report)
    }

    fn resume(&self, account: &Account, loaded: &mut Loaded) -> Step {
        let _charging = POOL.charge_to(account);
        let (mut cur, at) = match core::mem::replace(&mut loaded.run, RunState::Done) {
            RunState::Paused { cur, report } => (cur, report),
            RunState::Flushing { result, at, report } => {
                if !loaded.instance.platform.wasi.flush_tail() {
                    loaded.run = RunState::Flushing { result, at, report };
                    return Step::Paused(st(Status::OutputPending));
                }
                return end_run(loaded, result, *report, at);
            }
            other => {
                loaded.run = other;
                return Step::Refused(Status::BadState.into());
            }
        };
        let step = timed_run(&mut loaded.instance, &mut cur);
        step_result(loaded, step, Some(cur), at)
    }

    fn cancel(&self, account: &Account, loaded: &mut Loaded) -> Regs4 {
        let _charging = POOL.charge_to(account);
        let at = match loaded.run {
            RunState::Paused { report, .. } => report,
            RunState::Flushing { at, .. } => at,
            _ => return st(Status::BadState),
        };
        let mut report = RunReport::new(Status::Cancelled.to_raw() as i64 as i32);
        report.set_message("cancelled");
        match end_run(loaded, st(Status::Success), report, at) {
            Step::Ended(r) | Step::Paused(r) => r,
            Step::Refused(Refusal(s, x1)) => [s.to_raw(), x1, 0, 0],
        }
    }

    fn unload(&self, account: &Account, loaded: Loaded) {
        let _charging = POOL.charge_to(account);
        drop(loaded);
    }

    /// Puts the payload's own root back in `TTBR0_EL1`: LOAD, RUN and RESUME install the
    /// session's address space, which must be off this CPU before the session is released.
    fn release_cpu(&self) {
        crate::mmu::leave_user_space();
    }

    /// What is charged to the session now: everything its module holds (file copy, parsed
    /// module, instance, pages, tables) and whatever its run holds.
    fn charged(&self, account: &Account, _loaded: &Loaded) -> u64 {
        account.used()
    }

    /// Page 1: the counter frequency, LOAD's copy and SHA-256 ticks; page 2: its parse and
    /// instantiate ticks and the run's interruptions; page 3: instantiate's relocation,
    /// memory and remaining ticks; page 4: CPUs running module code now and at most at once;
    /// page 5: the LOAD's INTERRUPTED answers and its longest piece of work between two
    /// interrupt checks (counter ticks).
    fn attest(&self, account: &Account, loaded: &Loaded, at: &AttestPlace) -> Answer {
        let mut nonce = [0u8; 64];
        let nonce = nonce
            .get_mut(..at.nonce.1 as usize)
            .ok_or(Refusal::from(Status::InvalidParameter))?;
        // SAFETY: the state machine checked both ranges lie in a registration it holds pinned
        // for the call; the nonce is copied once, before use.
        if !unsafe { crate::shared_memory::read_shared(at.nonce.0, nonce) } {
            return Err(Status::BadAddress.into());
        }
        // SAFETY: `module` is live for as long as `loaded` (freed only in Loaded::drop).
        let module = unsafe { &*loaded.module };
        let evidence =
            crate::attestation::ModuleEvidence::new(loaded.measurement, module, account.quota());
        let token = crate::attestation::sign(
            &evidence,
            nonce,
            tzwasm_attest::claims::CLIENT_NORMAL_WORLD,
            None,
            None,
        )?;
        let bytes = token.as_bytes();
        if bytes.len() as u64 > at.token.1 {
            return Err(Status::Internal.into());
        }
        // SAFETY: as above; the token fits the buffer (checked just before).
        unsafe { crate::shared_memory::write_shared(at.token.0, bytes) };
        ok(bytes.len() as u64, 0, 0)
    }

    fn receipt(&self, account: &Account, loaded: &Loaded, at: &ReceiptPlace) -> Answer {
        let receipt = loaded
            .receipt
            .as_ref()
            .filter(|_| matches!(loaded.run, RunState::Done))
            .ok_or(Refusal::from(Status::BadState))?;
        // SAFETY: `module` is live for as long as `loaded` (freed only in Loaded::drop).
        let module = unsafe { &*loaded.module };
        let evidence =
            crate::attestation::ModuleEvidence::new(loaded.measurement, module, account.quota());
        let token = receipt.sign(&evidence)?;
        let bytes = token.as_bytes();
        if bytes.len() as u64 > at.token.1 {
            return Err(Status::Internal.into());
        }
        // SAFETY: the state machine checked the buffer lies in a registration it holds pinned
        // for the call; the receipt fits it (checked just before).
        unsafe { crate::shared_memory::write_shared(at.token.0, bytes) };
        ok(bytes.len() as u64, 0, 0)
    }

    fn stats(&self, loaded: Option<&Loaded>, page: u64) -> Option<[u64; 3]> {
        let t = loaded.map_or([0; 6], |l| l.load_ticks);
        match page {
            1 => Some([crate::arch::counter_freq(), t[0], t[1]]),
            2 => Some([t[2], t[3], loaded.map_or(0, |l| l.interruptions)]),
            3 => Some([t[4], t[5], t[3].saturating_sub(t[4] + t[5])]),
            4 => Some([
                RUNS_NOW.load(Ordering::Acquire),
                RUNS_PEAK.load(Ordering::Acquire),
                0,
            ]),
            5 => Some([
                loaded.map_or(0, |l| l.load_interruptions),
                loaded.map_or(0, |l| l.load_longest_step),
                0,
            ]),
            6 => {
                let r = loaded.map_or_else(Default::default, |l| l.instance.platform.run_ticks);
                Some([r.secure, r.el0, r.svcs])
            }
            _ => None,
        }
    }
}
