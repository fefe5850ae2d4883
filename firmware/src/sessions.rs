//! The session state machine: shared-memory registrations and sessions in two
//! [`HandleTable`]s, per-session locks, quotas reserved at SESSION_OPEN, and which call is
//! allowed in which state. Everything that touches modules or memory goes through an
//! [`Engine`] (the payload's loader and runner on the target, a fake in the host tests), so
//! the whole machine is tested on the host.
//!
//! Calls arrive decoded ([`SessionCall`], [`ShmRegisterArgs`], [`ShmHandle`]: the registers
//! were checked once, at the boundary, by `tzwasm_smc::args`), so the machine checks only what
//! needs state: live handles, the ranges against the pinned registration, the session's state.
//!
//! Concurrency: there is no global lock around a call. A call pins the objects it names
//! (the table lock is held only for that), then `try_lock`s the session: a second CPU in the
//! same session gets BUSY, other sessions run in parallel, one per CPU. SESSION_CLOSE, UNLOAD
//! and SHM_UNREGISTER of something another CPU uses answer BUSY. A run that pauses (output
//! pending, interrupted) keeps a pin on the registration its ring and report live in until
//! it ends, so that registration cannot be unmapped under it; its context lives in the
//! session, so RESUME works from any CPU.
//!
//! LOAD is done in bounded steps: the engine begins it, then steps it; a step that stops for
//! a pending normal-world interrupt answers INTERRUPTED and leaves the job in the session
//! (holding a pin on the registration it copies from and reports into), RESUME steps it on
//! (from any CPU) until it answers as LOAD would, and CANCEL, UNLOAD or SESSION_CLOSE abandon
//! it, freeing everything.
//!
//! Quotas: SESSION_OPEN reserves the session's quota in a [`QuotaBook`] bounded by the pool
//! minus the payload's own reserve, so the live quotas never add up to more than the pool;
//! a quota that does not fit gets QUOTA_TOO_LARGE with the bytes still free in `x1`. Each
//! session has an [`Account`] the engine charges what it allocates for the session to.

use crate::handles::{Handle, HandleTable, InsertError, Pin};
use crate::ns_memory::NsDram;
use crate::quota::{Account, QuotaBook};
use crate::shm::{accept_range, ShmRange};
use spin::Mutex;
use tzwasm_smc::args::{
    AttestArgs, LoadArgs, OpenArgs, ReceiptArgs, RunArgs, SessionCall, SessionHandle, ShmHandle,
    ShmRegisterArgs, ShmSpan, StatsArgs,
};
use tzwasm_smc::{Regs4, Status};

pub use tzwasm_smc::args::Refusal;

/// A call's answer before it is folded into registers: `Ok` is what the call reports
/// (a status that is not an error, e.g. SUCCESS or OUTPUT_PENDING, and its values), `Err` a
/// refusal (its status and `x1`).
pub type Answer = Result<Regs4, Refusal>;

/// Folds an [`Answer`] into the four result registers (the one place that does it).
pub fn fold(a: Answer) -> Regs4 {
    a.unwrap_or_else(Refusal::to_regs)
}

/// A SUCCESS answer with values.
pub fn ok(x1: u64, x2: u64, x3: u64) -> Answer {
    Ok([Status::Success.to_raw(), x1, x2, x3])
}

/// What LOAD hands the engine: checked addresses inside a pinned registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadPlace {
    /// Start of the file (VA == PA of normal-world memory).
    pub file: u64,
    /// File length (non-zero; the engine refuses more than MAX_MODULE_SIZE).
    pub len: u64,
    /// Where the LOAD report goes (8-aligned, LOAD_REPORT_SIZE bytes).
    pub report: u64,
    /// The module's native stack in bytes (whole pages, within the protocol's limits).
    pub stack: u64,
}

/// What RUN hands the engine: checked addresses inside a pinned registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPlace {
    /// The run block: address and length (1..=MAX_RUN_BLOCK).
    pub block: (u64, u64),
    /// The output ring: address (ring-aligned) and length (non-zero).
    pub ring: (u64, u64),
    /// The run report (8-aligned, RUN_REPORT_SIZE bytes, not overlapping the ring).
    pub report: u64,
    /// The registration, pinned for the call and while the run is paused: the engine checks
    /// ranges the run block names (the input ring) with [`RunPlace::locate`].
    pub registration: ShmRange,
    /// The ranges above as offsets in the registration.
    spans: [ShmSpan; 3],
}

impl RunPlace {
    /// The address of a block the run block names (the input ring: `offset`, `len` as the
    /// normal world wrote them): inside the registration, 64-aligned, not overlapping the
    /// run block, the output ring or the report. BAD_ADDRESS outside the registration,
    /// INVALID_PARAMETER otherwise.
    pub fn locate(&self, offset: u64, len: u64) -> Result<u64, Refusal> {
        let span = ShmSpan::new(offset, len).ok_or(Refusal::from(Status::BadAddress))?;
        let at = locate(&self.registration, span)?;
        if !offset.is_multiple_of(64) || self.spans.iter().any(|s| s.overlaps(span)) {
            return Err(Status::InvalidParameter.into());
        }
        Ok(at)
    }
}

/// What ATTEST hands the engine: checked addresses inside a pinned registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestPlace {
    /// The nonce: address and length (32, 48 or 64).
    pub nonce: (u64, u64),
    /// The token buffer: address and length (at least ATTEST_TOKEN_MIN, not overlapping the
    /// nonce).
    pub token: (u64, u64),
}

/// What RECEIPT hands the engine: a checked buffer inside a pinned registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptPlace {
    /// The buffer: address and length (at least RECEIPT_TOKEN_MIN).
    pub token: (u64, u64),
}

/// How a RUN or RESUME left the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing happened (a bad run block or ring): the module has not started.
    Refused(Refusal),
    /// The run is paused (OUTPUT_PENDING, INTERRUPTED): RESUME or CANCEL continue it.
    Paused(Regs4),
    /// The run is over (exited, trapped, failed); its report is written.
    Ended(Regs4),
}

/// How a LOAD step left the load.
pub enum LoadStep<M> {
    /// Loaded: the module and the answer's x1..x3.
    Loaded(M, [u64; 3]),
    /// Stopped between two bounded pieces of work for a pending normal-world interrupt: the
    /// job keeps its progress, the call answers INTERRUPTED.
    Interrupted,
}

/// What the machine needs done: mapping shared memory, loading, running, tearing down.
///
/// Every method runs on the CPU serving the call, with the session locked; `account` is the
/// session's, to charge what is allocated for it.
pub trait Engine: Sync {
    /// A loaded module with whatever its run needs (saved registers, ring, report place).
    type Module: Send;
    /// A LOAD in progress (the copy made so far, the hash state, ...).
    type Loading: Send;
    /// Maps an accepted registration for the payload; false if it cannot.
    fn map_shm(&self, range: ShmRange) -> bool;
    /// Unmaps a registration (TLBs invalidated); false if it cannot.
    fn unmap_shm(&self, range: ShmRange) -> bool;
    /// LOAD begins: checks what needs no work and sets up the job (the report is written on a
    /// refusal).
    fn begin_load(&self, account: &Account, at: &LoadPlace) -> Result<Self::Loading, Refusal>;
    /// One bounded piece of LOAD after another (copy, measure, parse, instantiate inside the
    /// account's quota) until it is loaded or a normal-world interrupt is pending. The report
    /// is written when it ends: loaded or refused (then the job is spent: the machine drops
    /// it with [`Engine::abandon_load`]).
    fn step_load(
        &self,
        account: &Account,
        job: &mut Self::Loading,
    ) -> Result<LoadStep<Self::Module>, Refusal>;
    /// Frees an unfinished (or refused) LOAD's job and everything it holds.
    fn abandon_load(&self, account: &Account, job: Self::Loading);
    /// RUN: start the loaded module.
    fn run(&self, account: &Account, module: &mut Self::Module, at: &RunPlace) -> Step;
    /// RESUME a paused run.
    fn resume(&self, account: &Account, module: &mut Self::Module) -> Step;
    /// CANCEL a paused run: write its report, finish the ring. The answer.
    fn cancel(&self, account: &Account, module: &mut Self::Module) -> Regs4;
    /// UNLOAD: unmap, zero and free everything the module has (also for a paused run).
    fn unload(&self, account: &Account, module: Self::Module);
    /// Bytes of the quota the module uses (STATS page 0, x2).
    fn charged(&self, account: &Account, module: &Self::Module) -> u64;
    /// ATTEST: sign a token for the loaded module and write it to the buffer; the answer
    /// (SUCCESS with the token's length in `x1`).
    fn attest(&self, account: &Account, module: &Self::Module, at: &AttestPlace) -> Answer;
    /// RECEIPT: sign the receipt of the module's ended run (its RUN block asked for one) and
    /// write it to the buffer; the answer (SUCCESS with its length in `x1`, BAD_STATE when
    /// there is no ended run with a receipt).
    fn receipt(&self, account: &Account, module: &Self::Module, at: &ReceiptPlace) -> Answer;
    /// STATS pages 1 and up (x1..x3), `None` for a page that does not exist.
    fn stats(&self, module: Option<&Self::Module>, page: u64) -> Option<[u64; 3]>;
    /// Called on the serving CPU at the end of every call inside a session, while the
    /// session is still locked and pinned: undo whatever of the session the CPU still holds
    /// (the firmware: its address space in `TTBR0_EL1`). Once the session is released another
    /// CPU may CLOSE or UNLOAD it and free those tables; a CPU still walking them would
    /// fetch through freed memory.
    fn release_cpu(&self);
}

/// A registration: its range, checked once.
pub type ShmEntry = ShmRange;

enum Run {
    NotStarted,
    /// Paused: holds the registration of its ring and report (released when dropped).
    Paused {
        _registration: Pin<'static, ShmEntry>,
    },
    Done,
}

struct Loaded<M> {
    module: M,
    run: Run,
}

/// What a session holds.
enum Slot<M, J> {
    /// No module.
    Empty,
    /// An interrupted LOAD: RESUME continues it; it holds the registration of its file and
    /// report (released when dropped).
    Loading {
        job: J,
        _registration: Pin<'static, ShmEntry>,
    },
    /// A loaded module.
    Ready(Loaded<M>),
}

impl<M, J> Slot<M, J> {
    fn loaded(&mut self) -> Option<&mut Loaded<M>> {
        match self {
            Slot::Ready(l) => Some(l),
            _ => None,
        }
    }
}

/// One session: its account (outside the lock: the allocator charges it) and its state.
pub struct SessionEntry<M, J> {
    account: Account,
    state: Mutex<Slot<M, J>>,
}

/// Registrations, sessions and the quota book, with the engine that does the work.
pub struct Machine<E: Engine> {
    /// The engine.
    pub engine: E,
    shm: HandleTable<ShmEntry>,
    sessions: HandleTable<SessionEntry<E::Module, E::Loading>>,
    /// Session quotas reserved out of the pool.
    pub book: QuotaBook,
}

fn busy() -> Refusal {
    Refusal(Status::Busy, 0)
}

impl<E: Engine> Machine<E> {
    /// A machine with no registrations, no sessions and nothing to reserve yet (see
    /// [`QuotaBook::set_limit`]); at most `max_shm` registrations.
    pub const fn new(engine: E, max_shm: usize) -> Self {
        Self {
            engine,
            shm: HandleTable::new(max_shm),
            sessions: HandleTable::new(usize::MAX),
            book: QuotaBook::new(),
        }
    }

    /// Makes room for `shm` registrations and `sessions` sessions in the handle tables now.
    pub fn reserve(&self, shm: usize, sessions: usize) -> bool {
        self.shm.reserve(shm) && self.sessions.reserve(sessions)
    }

    /// Open sessions (live or closing).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Live registrations (or being unregistered).
    pub fn shm_count(&self) -> usize {
        self.shm.len()
    }

    /// Pins held on registrations and sessions (zero when no call is in progress and no run
    /// is paused).
    pub fn pins(&self) -> (u64, u64) {
        (self.shm.pins(), self.sessions.pins())
    }

    /// SHM_REGISTER: check against normal-world DRAM, record (not yet usable), map, publish.
    pub fn shm_register(
        &'static self,
        args: ShmRegisterArgs,
        dram: &NsDram,
    ) -> Result<ShmHandle, Status> {
        let range = accept_range(args, dram)?;
        let handle = self
            .shm
            .insert_checked(range, false, |r: &ShmEntry| {
                if r.overlaps(range) {
                    Err(Status::Overlap)
                } else {
                    Ok(())
                }
            })
            .map_err(|(e, _)| match e {
                InsertError::Refused(s) => s,
                InsertError::OutOfMemory | InsertError::Full => Status::NoResources,
            })?;
        if !self.engine.map_shm(range) {
            let _ = self.shm.remove_unpublished(handle);
            return Err(Status::NoResources);
        }
        self.shm.publish(handle);
        Ok(ShmHandle::from_raw(handle.0))
    }

    /// SHM_UNREGISTER: BUSY while a call or a paused run uses the registration.
    pub fn shm_unregister(&'static self, handle: ShmHandle) -> Result<(), Status> {
        let r = self.shm.begin_remove(Handle(handle.raw()), |_| false)?;
        if !self.engine.unmap_shm(*r) {
            self.shm.abort_remove(r);
            return Err(Status::Internal);
        }
        self.shm.finish_remove(r);
        Ok(())
    }

    /// Runs `f` with registration `handle` pinned (it cannot be unregistered meanwhile).
    pub fn with_shm<R>(
        &'static self,
        handle: ShmHandle,
        f: impl FnOnce(ShmRange) -> R,
    ) -> Option<R> {
        let pin = self.shm.pin(Handle(handle.raw()))?;
        Some(f(*pin))
    }

    /// A decoded session call: the one entry the dispatcher uses.
    pub fn serve(&'static self, call: SessionCall) -> Answer {
        match call {
            SessionCall::Open(a) => self.open(a),
            SessionCall::Close(s) => self.close(s),
            SessionCall::Load(a) => self.load(&a),
            SessionCall::Unload(s) => self.unload(s),
            SessionCall::Stats(a) => self.stats(a),
            SessionCall::Run(a) => self.run(&a),
            SessionCall::Resume(s) => self.resume(s),
            SessionCall::Cancel(s) => self.cancel(s),
            SessionCall::Attest(a) => self.attest(&a),
            SessionCall::Receipt(a) => self.receipt(&a),
        }
    }

    /// SESSION_OPEN: reserve the quota (at least the minimum: checked by [`OpenArgs`]) and
    /// make the session.
    pub fn open(&'static self, args: OpenArgs) -> Answer {
        let quota = args.quota();
        self.book
            .reserve(quota)
            .map_err(|free| Refusal(Status::QuotaTooLarge, free))?;
        let Some(account) = Account::try_new(quota) else {
            self.book.release(quota);
            return Err(Status::OutOfMemory.into());
        };
        let entry = SessionEntry {
            account,
            state: Mutex::new(Slot::Empty),
        };
        match self.sessions.insert(entry) {
            Ok(h) => ok(h.0, 0, 0),
            Err((e, _)) => {
                self.book.release(quota);
                Err(match e {
                    InsertError::OutOfMemory | InsertError::Full => Status::OutOfMemory.into(),
                    InsertError::Refused(()) => Status::Internal.into(),
                })
            }
        }
    }

    /// SESSION_CLOSE: BUSY while another CPU is in the session; else unload and forget it.
    pub fn close(&'static self, handle: SessionHandle) -> Answer {
        let mut r = self
            .sessions
            .begin_remove(Handle(handle.raw()), |_| false)?;
        let entry: &mut SessionEntry<E::Module, E::Loading> = &mut r;
        let slot = core::mem::replace(entry.state.get_mut(), Slot::Empty);
        self.clear(&entry.account, slot);
        // Whatever freeing the module or the job left of the session on this CPU goes before
        // the session does.
        self.engine.release_cpu();
        let entry = self.sessions.finish_remove(r);
        self.book.release(entry.account.quota());
        ok(0, 0, 0)
    }

    /// Frees what a session held: a module (a paused run with it, then its registration
    /// pin) or an unfinished LOAD (then its pin).
    fn clear(&self, account: &Account, slot: Slot<E::Module, E::Loading>) {
        match slot {
            Slot::Empty => {}
            Slot::Loading { job, _registration } => {
                self.engine.abandon_load(account, job);
                drop(_registration);
            }
            Slot::Ready(Loaded { module, run }) => {
                // The module first (nothing touches its ring after), then the pin.
                self.engine.unload(account, module);
                drop(run);
            }
        }
    }

    /// Steps an unfinished LOAD held in `state`, keeping the pin while it is interrupted.
    fn step_load(
        &self,
        account: &Account,
        state: &mut Slot<E::Module, E::Loading>,
        mut job: E::Loading,
        reg: Pin<'static, ShmEntry>,
    ) -> Answer {
        match self.engine.step_load(account, &mut job) {
            Ok(LoadStep::Loaded(module, r)) => {
                self.engine.abandon_load(account, job);
                drop(reg);
                *state = Slot::Ready(Loaded {
                    module,
                    run: Run::NotStarted,
                });
                ok(r[0], r[1], r[2])
            }
            Ok(LoadStep::Interrupted) => {
                *state = Slot::Loading {
                    job,
                    _registration: reg,
                };
                Ok([Status::Interrupted.to_raw(), 0, 0, 0])
            }
            Err(refusal) => {
                self.engine.abandon_load(account, job);
                drop(reg);
                Err(refusal)
            }
        }
    }

    /// Pins session `handle` and locks it; BUSY if another CPU is in it.
    fn enter(
        &'static self,
        handle: SessionHandle,
        f: impl FnOnce(&Account, &mut Slot<E::Module, E::Loading>) -> Answer,
    ) -> Answer {
        let pin = self
            .sessions
            .pin(Handle(handle.raw()))
            .ok_or(Refusal::from(Status::NoSuchHandle))?;
        let mut state = pin.state.try_lock().ok_or_else(busy)?;
        let answer = f(&pin.account, &mut state);
        // Before the lock and then the pin go: nothing of the session stays on this CPU.
        self.engine.release_cpu();
        answer
    }

    /// LOAD: checks the file and report against registration `shm` (pinned for the call,
    /// and for as long as the LOAD is interrupted).
    pub fn load(&'static self, args: &LoadArgs) -> Answer {
        self.enter(args.session(), |account, state| {
            let reg = self
                .shm
                .pin(Handle(args.shm().raw()))
                .ok_or(Refusal::from(Status::NoSuchHandle))?;
            let at = load_place(&reg, args)?;
            if !matches!(state, Slot::Empty) {
                return Err(Status::BadState.into());
            }
            let job = self.engine.begin_load(account, &at)?;
            self.step_load(account, state, job, reg)
        })
    }

    /// UNLOAD: frees the module (a paused run with it, releasing its registration), or
    /// abandons an interrupted LOAD.
    pub fn unload(&'static self, session: SessionHandle) -> Answer {
        self.enter(session, |account, state| {
            if matches!(state, Slot::Empty) {
                return Err(Status::BadState.into());
            }
            let slot = core::mem::replace(state, Slot::Empty);
            self.clear(account, slot);
            ok(0, 0, 0)
        })
    }

    /// Runs `f` on the session's loaded module (in any run state) with registration `shm`
    /// pinned for the call: ATTEST's and RECEIPT's common part.
    fn with_module_and_shm(
        &'static self,
        session: SessionHandle,
        shm: ShmHandle,
        f: impl FnOnce(&Account, &E::Module, &ShmRange) -> Answer,
    ) -> Answer {
        self.enter(session, |account, state| {
            let loaded = state.loaded().ok_or(Refusal::from(Status::BadState))?;
            let reg = self
                .shm
                .pin(Handle(shm.raw()))
                .ok_or(Refusal::from(Status::NoSuchHandle))?;
            f(account, &loaded.module, &reg)
        })
    }

    /// ATTEST: a token for the loaded module (in any run state), nonce and buffer checked
    /// against registration `shm` (pinned for the call).
    pub fn attest(&'static self, args: &AttestArgs) -> Answer {
        self.with_module_and_shm(args.session(), args.shm(), |account, module, reg| {
            let at = AttestPlace {
                nonce: (locate(reg, args.nonce())?, args.nonce().len()),
                token: (locate(reg, args.token())?, args.token().len()),
            };
            self.engine.attest(account, module, &at)
        })
    }

    /// RECEIPT: the signed receipt of the loaded module's ended run, buffer checked against
    /// registration `shm` (pinned for the call).
    pub fn receipt(&'static self, args: &ReceiptArgs) -> Answer {
        self.with_module_and_shm(args.session(), args.shm(), |account, module, reg| {
            let at = ReceiptPlace {
                token: (locate(reg, args.token())?, args.token().len()),
            };
            self.engine.receipt(account, module, &at)
        })
    }

    /// STATS: page 0 is [quota, charged, loaded]; later pages come from the engine.
    pub fn stats(&'static self, StatsArgs { session, page }: StatsArgs) -> Answer {
        self.enter(session, |account, state| {
            let m = state.loaded().map(|l| &l.module);
            if page == 0 {
                let charged = m.map_or(0, |m| self.engine.charged(account, m));
                return ok(account.quota(), charged, u64::from(m.is_some()));
            }
            match self.engine.stats(m, page) {
                Some(r) => ok(r[0], r[1], r[2]),
                None => Err(Status::InvalidParameter.into()),
            }
        })
    }

    /// RUN: checks the block, ring and report against registration `shm`, then starts the
    /// module; a pause keeps the registration pinned.
    pub fn run(&'static self, args: &RunArgs) -> Answer {
        self.enter(args.session(), |account, state| {
            let loaded = state.loaded().ok_or(Refusal::from(Status::BadState))?;
            if !matches!(loaded.run, Run::NotStarted) {
                return Err(Status::BadState.into());
            }
            let reg = self
                .shm
                .pin(Handle(args.shm().raw()))
                .ok_or(Refusal::from(Status::NoSuchHandle))?;
            let at = run_place(&reg, args)?;
            match self.engine.run(account, &mut loaded.module, &at) {
                Step::Refused(r) => Err(r),
                Step::Paused(regs) => {
                    loaded.run = Run::Paused { _registration: reg };
                    Ok(regs)
                }
                Step::Ended(regs) => {
                    loaded.run = Run::Done;
                    Ok(regs)
                }
            }
        })
    }

    /// RESUME a paused run or an interrupted LOAD (on any CPU).
    pub fn resume(&'static self, session: SessionHandle) -> Answer {
        self.enter(session, |account, state| {
            if matches!(state, Slot::Loading { .. }) {
                let Slot::Loading { job, _registration } = core::mem::replace(state, Slot::Empty)
                else {
                    return Err(Status::Internal.into());
                };
                return self.step_load(account, state, job, _registration);
            }
            let loaded = state.loaded().ok_or(Refusal::from(Status::BadState))?;
            if !matches!(loaded.run, Run::Paused { .. }) {
                return Err(Status::BadState.into());
            }
            match self.engine.resume(account, &mut loaded.module) {
                Step::Paused(regs) => Ok(regs),
                Step::Ended(regs) => {
                    loaded.run = Run::Done;
                    Ok(regs)
                }
                Step::Refused(r) => Err(r),
            }
        })
    }

    /// CANCEL a paused run (its registration is released), or abandon an interrupted LOAD
    /// (everything it held is freed; the session is empty again).
    pub fn cancel(&'static self, session: SessionHandle) -> Answer {
        self.enter(session, |account, state| {
            if matches!(state, Slot::Loading { .. }) {
                let slot = core::mem::replace(state, Slot::Empty);
                self.clear(account, slot);
                return ok(0, 0, 0);
            }
            let loaded = state.loaded().ok_or(Refusal::from(Status::BadState))?;
            if !matches!(loaded.run, Run::Paused { .. }) {
                return Err(Status::BadState.into());
            }
            let regs = self.engine.cancel(account, &mut loaded.module);
            loaded.run = Run::Done;
            Ok(regs)
        })
    }
}

/// The secure address of `span` inside the registration, or BAD_ADDRESS if it does not fit.
fn locate(range: &ShmRange, span: ShmSpan) -> Result<u64, Refusal> {
    if !span.fits(range.size) {
        return Err(Status::BadAddress.into());
    }
    // Inside the registration, which does not wrap (checked at SHM_REGISTER).
    range
        .base
        .checked_add(span.offset().get())
        .ok_or(Refusal::from(Status::BadAddress))
}

/// LOAD's ranges checked against the registration (their shape was checked by [`LoadArgs`]).
pub fn load_place(range: &ShmRange, args: &LoadArgs) -> Result<LoadPlace, Refusal> {
    Ok(LoadPlace {
        file: locate(range, args.file())?,
        len: args.file().len(),
        report: locate(range, args.report())?,
        stack: args.stack().bytes(),
    })
}

/// RUN's ranges checked against the registration (their shape, and that the report does not
/// overlap the ring, were checked by [`RunArgs`]).
pub fn run_place(range: &ShmRange, args: &RunArgs) -> Result<RunPlace, Refusal> {
    Ok(RunPlace {
        block: (locate(range, args.block())?, args.block().len()),
        ring: (locate(range, args.ring())?, args.ring().len()),
        report: locate(range, args.report())?,
        registration: *range,
        spans: [args.block(), args.ring(), args.report()],
    })
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

/// What LOAD's copy of a `len`-byte file costs: whole u64 words, at least one.
pub fn copy_cost(len: u64) -> u64 {
    len.div_ceil(8).saturating_mul(8).max(8)
}

/// The quota left for a module's instance once its file is copied: `None` when the copy
/// alone does not fit (then LOAD answers QUOTA_TOO_SMALL with the module's real minimum;
/// subtracting unchecked wrapped around to an enormous instance quota).
pub fn instance_budget(quota: u64, len: u64) -> Option<u64> {
    quota.checked_sub(copy_cost(len))
}

/// The least quota a module needs: its copy plus its instance's footprint.
pub fn min_quota(len: u64, footprint: u64) -> u64 {
    copy_cost(len).saturating_add(footprint)
}
