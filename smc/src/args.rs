//! Typed arguments of the shared-memory and session calls, shared by both worlds.
//!
//! The normal world builds a call's registers with `to_regs` (`x0` = the function id); the
//! secure world decodes the untrusted registers once, at the boundary, with `from_regs` into
//! these types or a [`Refusal`]. Every check that needs no state (alignment, non-zero lengths,
//! no wrap-around, the run report not overlapping the ring, the smallest quota) lives here, in
//! the constructors, so a value of these types is well-formed wherever it goes; what needs
//! state (does the handle name a live object, does the range fit the registration) is the
//! secure world's business after decoding.
//!
//! Handles are newtypes ([`SessionHandle`], [`ShmHandle`]): a session handle cannot be passed
//! where a registration is meant. Offsets inside a registration are [`ShmOffset`]s and ranges
//! [`ShmSpan`]s (offset and length whose end does not wrap).
//!
//! Order of refusals (docs/protocol.md, "Order of checks"): the arguments' shape first, here;
//! then, in the secure world, the session (NO_SUCH_HANDLE, BUSY), the registration, the ranges
//! against it and the session's state.

use core::fmt;

use crate::call::{Call, SHM_MAX_SIZE};
use crate::ring::ALIGN as RING_ALIGN;
use crate::session::{
    ATTEST_NONCE_LENGTHS, ATTEST_TOKEN_MIN, DEFAULT_NATIVE_STACK, LOAD_REPORT_SIZE,
    MAX_NATIVE_STACK, MAX_RUN_BLOCK, MIN_NATIVE_STACK, RECEIPT_TOKEN_MIN, RUN_REPORT_SIZE,
    SESSION_MIN_QUOTA,
};
use crate::status::Status;
use crate::{Regs4, Regs8};

/// Page size of shared-memory registrations (4 KiB).
pub const SHM_PAGE: u64 = 4096;
/// Alignment of the LOAD and RUN report areas.
pub const REPORT_ALIGN: u64 = 8;

/// A refused call: its status and the value in `x1` (a size, a minimum), zero if none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal(pub Status, pub u64);

impl Refusal {
    /// The status of the refusal.
    pub const fn status(self) -> Status {
        self.0
    }

    /// The four result registers the normal world receives: `x0` = status, `x1` = value.
    pub const fn to_regs(self) -> Regs4 {
        [self.0.to_raw(), self.1, 0, 0]
    }
}

impl From<Status> for Refusal {
    fn from(s: Status) -> Self {
        Refusal(s, 0)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            0 => write!(f, "{}", self.0),
            v => write!(f, "{} ({v})", self.0),
        }
    }
}

fn bad_address() -> Refusal {
    Refusal(Status::BadAddress, 0)
}

/// A session handle as SESSION_OPEN gave it (opaque; the secure world's table decides whether
/// it names a live session).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHandle(u64);

impl SessionHandle {
    /// The handle in a register value.
    pub const fn from_raw(raw: u64) -> Self {
        SessionHandle(raw)
    }

    /// The register value.
    pub const fn raw(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A shared-memory registration handle as SHM_REGISTER gave it (opaque).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShmHandle(u64);

impl ShmHandle {
    /// The handle in a register value.
    pub const fn from_raw(raw: u64) -> Self {
        ShmHandle(raw)
    }

    /// The register value.
    pub const fn raw(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ShmHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A byte offset from the start of a shared-memory registration (not an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShmOffset(u64);

impl ShmOffset {
    /// The offset in a register value.
    pub const fn new(raw: u64) -> Self {
        ShmOffset(raw)
    }

    /// The register value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// True if the offset is a multiple of `align` (a power of two).
    pub const fn is_aligned(self, align: u64) -> bool {
        self.0 & (align.wrapping_sub(1)) == 0
    }
}

/// `len` bytes at an offset inside a registration; `offset + len` does not wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShmSpan {
    offset: ShmOffset,
    len: u64,
}

impl ShmSpan {
    /// The span, or `None` if its end wraps past `u64::MAX`.
    pub const fn new(offset: u64, len: u64) -> Option<Self> {
        match offset.checked_add(len) {
            Some(_) => Some(ShmSpan {
                offset: ShmOffset(offset),
                len,
            }),
            None => None,
        }
    }

    /// Where it starts.
    pub const fn offset(self) -> ShmOffset {
        self.offset
    }

    /// How many bytes.
    pub const fn len(self) -> u64 {
        self.len
    }

    /// True for zero bytes.
    pub const fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The first offset after it (no wrap: checked at construction).
    pub const fn end(self) -> u64 {
        self.offset.0.saturating_add(self.len)
    }

    /// True if it lies inside a registration of `size` bytes.
    pub const fn fits(self, size: u64) -> bool {
        self.end() <= size
    }

    /// True if the two spans share a byte.
    pub const fn overlaps(self, other: ShmSpan) -> bool {
        self.offset.0 < other.end() && other.offset.0 < self.end()
    }
}

/// The span of a report area of `size` bytes at `at`: aligned to [`REPORT_ALIGN`], no wrap.
fn report_span(at: ShmOffset, size: usize) -> Result<ShmSpan, Refusal> {
    if !at.is_aligned(REPORT_ALIGN) {
        return Err(bad_address());
    }
    ShmSpan::new(at.get(), size as u64).ok_or_else(bad_address)
}

fn span(offset: u64, len: u64) -> Result<ShmSpan, Refusal> {
    ShmSpan::new(offset, len).ok_or_else(bad_address)
}

/// Registers of a call: `x0` = its function id, then `args` in `x1..`.
fn regs(call: Call, args: &[u64]) -> Regs8 {
    let mut x = [0u64; 8];
    x[0] = call.id().to_x0();
    for (slot, &a) in x.iter_mut().skip(1).zip(args) {
        *slot = a;
    }
    x
}

/// SHM_REGISTER: `x1` = physical base, `x2` = size. The shape is checked here (page-aligned,
/// non-empty, at most [`SHM_MAX_SIZE`], no wrap); whether the range is normal-world DRAM and
/// free is the secure world's check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmRegisterArgs {
    base: u64,
    size: u64,
}

impl ShmRegisterArgs {
    /// The arguments, or BAD_ADDRESS for a range of the wrong shape.
    pub const fn new(base: u64, size: u64) -> Result<Self, Refusal> {
        if size == 0
            || !base.is_multiple_of(SHM_PAGE)
            || !size.is_multiple_of(SHM_PAGE)
            || size > SHM_MAX_SIZE
            || base.checked_add(size).is_none()
        {
            return Err(Refusal(Status::BadAddress, 0));
        }
        Ok(ShmRegisterArgs { base, size })
    }

    /// Physical base.
    pub const fn base(self) -> u64 {
        self.base
    }

    /// Size in bytes.
    pub const fn size(self) -> u64 {
        self.size
    }

    /// The call's registers.
    pub fn to_regs(self) -> Regs8 {
        ShmCall::Register(self).to_regs()
    }

    /// Decodes `x1`, `x2`.
    pub const fn from_regs(x: &Regs8) -> Result<Self, Refusal> {
        Self::new(x[1], x[2])
    }
}

/// SESSION_OPEN: `x1` = heap quota, at least [`SESSION_MIN_QUOTA`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenArgs {
    quota: u64,
}

impl OpenArgs {
    /// The arguments, or QUOTA_TOO_SMALL with the minimum in `x1`.
    pub const fn new(quota: u64) -> Result<Self, Refusal> {
        if quota < SESSION_MIN_QUOTA {
            return Err(Refusal(Status::QuotaTooSmall, SESSION_MIN_QUOTA));
        }
        Ok(OpenArgs { quota })
    }

    /// The heap quota in bytes.
    pub const fn quota(self) -> u64 {
        self.quota
    }

    /// The call's registers.
    pub fn to_regs(self) -> Regs8 {
        SessionCall::Open(self).to_regs()
    }

    /// Decodes `x1`.
    pub const fn from_regs(x: &Regs8) -> Result<Self, Refusal> {
        Self::new(x[1])
    }
}

/// The native stack LOAD gives a module: a whole number of pages from [`MIN_NATIVE_STACK`]
/// to [`MAX_NATIVE_STACK`]. `x6` = 0 means [`DEFAULT_NATIVE_STACK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeStack(u64);

impl NativeStack {
    /// The stack a LOAD with `x6` = 0 gets.
    pub const DEFAULT: NativeStack = NativeStack(DEFAULT_NATIVE_STACK);

    /// `bytes` rounded up to whole pages, or INVALID_PARAMETER (with the limit passed in
    /// `x1`) below [`MIN_NATIVE_STACK`] or above [`MAX_NATIVE_STACK`].
    pub const fn new(bytes: u64) -> Result<Self, Refusal> {
        if bytes < MIN_NATIVE_STACK {
            return Err(Refusal(Status::InvalidParameter, MIN_NATIVE_STACK));
        }
        if bytes > MAX_NATIVE_STACK {
            return Err(Refusal(Status::InvalidParameter, MAX_NATIVE_STACK));
        }
        // Cannot overflow: bytes <= MAX_NATIVE_STACK, a multiple of the page.
        Ok(NativeStack(bytes.div_ceil(SHM_PAGE) * SHM_PAGE))
    }

    /// Decodes LOAD's `x6`: 0 is the default.
    pub const fn from_reg(x6: u64) -> Result<Self, Refusal> {
        if x6 == 0 {
            Ok(Self::DEFAULT)
        } else {
            Self::new(x6)
        }
    }

    /// Bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl Default for NativeStack {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// LOAD: `x1` = session, `x2` = registration, `x3`/`x4` = the file's offset and length in it,
/// `x5` = offset of the 256-byte [`LoadReport`](crate::session::LoadReport) area, `x6` = the
/// module's native stack in bytes ([`NativeStack`]; 0: the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadArgs {
    session: SessionHandle,
    shm: ShmHandle,
    file: ShmSpan,
    report: ShmSpan,
    stack: NativeStack,
}

impl LoadArgs {
    /// The arguments, or BAD_ADDRESS for an empty file or a report area that is unaligned or
    /// wraps.
    pub fn new(
        session: SessionHandle,
        shm: ShmHandle,
        file: ShmSpan,
        report: ShmOffset,
    ) -> Result<Self, Refusal> {
        if file.is_empty() {
            return Err(bad_address());
        }
        let report = report_span(report, LOAD_REPORT_SIZE)?;
        Ok(LoadArgs {
            session,
            shm,
            file,
            report,
            stack: NativeStack::DEFAULT,
        })
    }

    /// The same LOAD with native stack `stack`.
    pub const fn with_stack(self, stack: NativeStack) -> Self {
        LoadArgs { stack, ..self }
    }

    /// The module's native stack.
    pub const fn stack(&self) -> NativeStack {
        self.stack
    }

    /// The session.
    pub const fn session(&self) -> SessionHandle {
        self.session
    }

    /// The registration holding the file and the report.
    pub const fn shm(&self) -> ShmHandle {
        self.shm
    }

    /// The file (non-empty).
    pub const fn file(&self) -> ShmSpan {
        self.file
    }

    /// The report area (8-aligned, [`LOAD_REPORT_SIZE`] bytes).
    pub const fn report(&self) -> ShmSpan {
        self.report
    }

    /// The call's registers.
    pub fn to_regs(&self) -> Regs8 {
        SessionCall::Load(*self).to_regs()
    }

    /// Decodes `x1..x6`.
    pub fn from_regs(x: &Regs8) -> Result<Self, Refusal> {
        let args = Self::new(
            SessionHandle(x[1]),
            ShmHandle(x[2]),
            span(x[3], x[4])?,
            ShmOffset(x[5]),
        )?;
        Ok(args.with_stack(NativeStack::from_reg(x[6])?))
    }
}

/// RUN: `x1` = session, `x2` = registration, `x3`/`x4` = run block, `x5`/`x6` = output ring
/// block, `x7` = offset of the 256-byte [`RunReport`](crate::session::RunReport) area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunArgs {
    session: SessionHandle,
    shm: ShmHandle,
    block: ShmSpan,
    ring: ShmSpan,
    report: ShmSpan,
}

impl RunArgs {
    /// The arguments, or a refusal: BAD_ADDRESS for a run block that is empty or larger than
    /// [`MAX_RUN_BLOCK`], a ring block that is empty or not 64-aligned, a report area that is
    /// unaligned or wraps; INVALID_PARAMETER for a report overlapping the ring (in that order).
    pub fn new(
        session: SessionHandle,
        shm: ShmHandle,
        block: ShmSpan,
        ring: ShmSpan,
        report: ShmOffset,
    ) -> Result<Self, Refusal> {
        if block.is_empty() || block.len() > MAX_RUN_BLOCK as u64 {
            return Err(bad_address());
        }
        if ring.is_empty() || !ring.offset().is_aligned(RING_ALIGN as u64) {
            return Err(bad_address());
        }
        let report = report_span(report, RUN_REPORT_SIZE)?;
        if report.overlaps(ring) {
            return Err(Status::InvalidParameter.into());
        }
        Ok(RunArgs {
            session,
            shm,
            block,
            ring,
            report,
        })
    }

    /// The session.
    pub const fn session(&self) -> SessionHandle {
        self.session
    }

    /// The registration holding the block, the ring and the report.
    pub const fn shm(&self) -> ShmHandle {
        self.shm
    }

    /// The run block (1..=[`MAX_RUN_BLOCK`] bytes).
    pub const fn block(&self) -> ShmSpan {
        self.block
    }

    /// The output ring block (non-empty, 64-aligned).
    pub const fn ring(&self) -> ShmSpan {
        self.ring
    }

    /// The report area (8-aligned, [`RUN_REPORT_SIZE`] bytes, not overlapping the ring).
    pub const fn report(&self) -> ShmSpan {
        self.report
    }

    /// The call's registers.
    pub fn to_regs(&self) -> Regs8 {
        SessionCall::Run(*self).to_regs()
    }

    /// Decodes `x1..x7`.
    pub fn from_regs(x: &Regs8) -> Result<Self, Refusal> {
        Self::new(
            SessionHandle(x[1]),
            ShmHandle(x[2]),
            span(x[3], x[4])?,
            span(x[5], x[6])?,
            ShmOffset(x[7]),
        )
    }
}

/// ATTEST: `x1` = session, `x2` = registration, `x3`/`x4` = the verifier's nonce, `x5`/`x6` =
/// the buffer the token is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestArgs {
    session: SessionHandle,
    shm: ShmHandle,
    nonce: ShmSpan,
    token: ShmSpan,
}

impl AttestArgs {
    /// The arguments, or INVALID_PARAMETER for a nonce that is not 32, 48 or 64 bytes, a token
    /// buffer below [`ATTEST_TOKEN_MIN`] bytes, or the two overlapping (in that order).
    pub fn new(
        session: SessionHandle,
        shm: ShmHandle,
        nonce: ShmSpan,
        token: ShmSpan,
    ) -> Result<Self, Refusal> {
        if !ATTEST_NONCE_LENGTHS.contains(&nonce.len())
            || token.len() < ATTEST_TOKEN_MIN
            || nonce.overlaps(token)
        {
            return Err(Status::InvalidParameter.into());
        }
        Ok(AttestArgs {
            session,
            shm,
            nonce,
            token,
        })
    }

    /// The session.
    pub const fn session(&self) -> SessionHandle {
        self.session
    }

    /// The registration holding the nonce and the token buffer.
    pub const fn shm(&self) -> ShmHandle {
        self.shm
    }

    /// The nonce (32, 48 or 64 bytes).
    pub const fn nonce(&self) -> ShmSpan {
        self.nonce
    }

    /// The token buffer (at least [`ATTEST_TOKEN_MIN`] bytes, not overlapping the nonce).
    pub const fn token(&self) -> ShmSpan {
        self.token
    }

    /// The call's registers.
    pub fn to_regs(&self) -> Regs8 {
        SessionCall::Attest(*self).to_regs()
    }

    /// Decodes `x1..x6`.
    pub fn from_regs(x: &Regs8) -> Result<Self, Refusal> {
        Self::new(
            SessionHandle(x[1]),
            ShmHandle(x[2]),
            span(x[3], x[4])?,
            span(x[5], x[6])?,
        )
    }
}

/// RECEIPT: `x1` = session, `x2` = registration, `x3`/`x4` = the buffer the receipt is
/// written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptArgs {
    session: SessionHandle,
    shm: ShmHandle,
    token: ShmSpan,
}

impl ReceiptArgs {
    /// The arguments, or INVALID_PARAMETER for a buffer below [`RECEIPT_TOKEN_MIN`] bytes.
    pub fn new(session: SessionHandle, shm: ShmHandle, token: ShmSpan) -> Result<Self, Refusal> {
        if token.len() < RECEIPT_TOKEN_MIN {
            return Err(Status::InvalidParameter.into());
        }
        Ok(ReceiptArgs {
            session,
            shm,
            token,
        })
    }

    /// The session.
    pub const fn session(&self) -> SessionHandle {
        self.session
    }

    /// The registration holding the buffer.
    pub const fn shm(&self) -> ShmHandle {
        self.shm
    }

    /// The buffer (at least [`RECEIPT_TOKEN_MIN`] bytes).
    pub const fn token(&self) -> ShmSpan {
        self.token
    }

    /// The call's registers.
    pub fn to_regs(&self) -> Regs8 {
        SessionCall::Receipt(*self).to_regs()
    }

    /// Decodes `x1..x4`.
    pub fn from_regs(x: &Regs8) -> Result<Self, Refusal> {
        Self::new(SessionHandle(x[1]), ShmHandle(x[2]), span(x[3], x[4])?)
    }
}

/// STATS: `x1` = session, `x2` = page (whether the page exists is the secure world's answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsArgs {
    /// The session.
    pub session: SessionHandle,
    /// The page.
    pub page: u64,
}

impl StatsArgs {
    /// The call's registers.
    pub fn to_regs(self) -> Regs8 {
        SessionCall::Stats(self).to_regs()
    }

    /// Decodes `x1`, `x2` (never refused).
    pub const fn from_regs(x: &Regs8) -> Self {
        StatsArgs {
            session: SessionHandle(x[1]),
            page: x[2],
        }
    }
}

/// The shared-memory calls with their decoded arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShmCall {
    /// SHM_REGISTER.
    Register(ShmRegisterArgs),
    /// SHM_UNREGISTER: `x1` = handle.
    Unregister(ShmHandle),
}

impl ShmCall {
    /// The call.
    pub const fn call(&self) -> Call {
        match self {
            ShmCall::Register(_) => Call::ShmRegister,
            ShmCall::Unregister(_) => Call::ShmUnregister,
        }
    }

    /// The call's registers (`x0` = function id; unused registers are zero).
    pub fn to_regs(&self) -> Regs8 {
        match *self {
            ShmCall::Register(a) => regs(self.call(), &[a.base, a.size]),
            ShmCall::Unregister(h) => regs(self.call(), &[h.0]),
        }
    }

    /// Decodes the registers of `call` (already decoded from `x0`); NOT_SUPPORTED for a call
    /// that is not a shared-memory call.
    pub fn from_regs(call: Call, x: &Regs8) -> Result<Self, Refusal> {
        match call {
            Call::ShmRegister => ShmRegisterArgs::from_regs(x).map(ShmCall::Register),
            Call::ShmUnregister => Ok(ShmCall::Unregister(ShmHandle(x[1]))),
            _ => Err(Status::NotSupported.into()),
        }
    }
}

/// The session calls with their decoded arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionCall {
    /// SESSION_OPEN.
    Open(OpenArgs),
    /// SESSION_CLOSE: `x1` = session.
    Close(SessionHandle),
    /// LOAD.
    Load(LoadArgs),
    /// UNLOAD: `x1` = session.
    Unload(SessionHandle),
    /// STATS.
    Stats(StatsArgs),
    /// RUN.
    Run(RunArgs),
    /// RESUME: `x1` = session.
    Resume(SessionHandle),
    /// CANCEL: `x1` = session.
    Cancel(SessionHandle),
    /// ATTEST.
    Attest(AttestArgs),
    /// RECEIPT.
    Receipt(ReceiptArgs),
}

impl SessionCall {
    /// The call.
    pub const fn call(&self) -> Call {
        match self {
            SessionCall::Open(_) => Call::SessionOpen,
            SessionCall::Close(_) => Call::SessionClose,
            SessionCall::Load(_) => Call::Load,
            SessionCall::Unload(_) => Call::Unload,
            SessionCall::Stats(_) => Call::Stats,
            SessionCall::Run(_) => Call::Run,
            SessionCall::Resume(_) => Call::Resume,
            SessionCall::Cancel(_) => Call::Cancel,
            SessionCall::Attest(_) => Call::Attest,
            SessionCall::Receipt(_) => Call::Receipt,
        }
    }

    /// The session the call names (none for SESSION_OPEN).
    pub const fn session(&self) -> Option<SessionHandle> {
        match self {
            SessionCall::Open(_) => None,
            SessionCall::Close(s)
            | SessionCall::Unload(s)
            | SessionCall::Resume(s)
            | SessionCall::Cancel(s) => Some(*s),
            SessionCall::Load(a) => Some(a.session),
            SessionCall::Stats(a) => Some(a.session),
            SessionCall::Run(a) => Some(a.session),
            SessionCall::Attest(a) => Some(a.session),
            SessionCall::Receipt(a) => Some(a.session),
        }
    }

    /// The call's registers (`x0` = function id; unused registers are zero).
    pub fn to_regs(&self) -> Regs8 {
        let call = self.call();
        match *self {
            SessionCall::Open(a) => regs(call, &[a.quota]),
            SessionCall::Close(s)
            | SessionCall::Unload(s)
            | SessionCall::Resume(s)
            | SessionCall::Cancel(s) => regs(call, &[s.0]),
            SessionCall::Load(a) => regs(
                call,
                &[
                    a.session.0,
                    a.shm.0,
                    a.file.offset.0,
                    a.file.len,
                    a.report.offset.0,
                    if a.stack.0 == DEFAULT_NATIVE_STACK {
                        0
                    } else {
                        a.stack.0
                    },
                ],
            ),
            SessionCall::Stats(a) => regs(call, &[a.session.0, a.page]),
            SessionCall::Run(a) => regs(
                call,
                &[
                    a.session.0,
                    a.shm.0,
                    a.block.offset.0,
                    a.block.len,
                    a.ring.offset.0,
                    a.ring.len,
                    a.report.offset.0,
                ],
            ),
            SessionCall::Attest(a) => regs(
                call,
                &[
                    a.session.0,
                    a.shm.0,
                    a.nonce.offset.0,
                    a.nonce.len,
                    a.token.offset.0,
                    a.token.len,
                ],
            ),
            SessionCall::Receipt(a) => {
                regs(call, &[a.session.0, a.shm.0, a.token.offset.0, a.token.len])
            }
        }
    }

    /// Decodes the registers of `call` (already decoded from `x0`, which is not read again);
    /// NOT_SUPPORTED for a call that is not a session call.
    pub fn from_regs(call: Call, x: &Regs8) -> Result<Self, Refusal> {
        let session = SessionHandle(x[1]);
        Ok(match call {
            Call::SessionOpen => SessionCall::Open(OpenArgs::from_regs(x)?),
            Call::SessionClose => SessionCall::Close(session),
            Call::Load => SessionCall::Load(LoadArgs::from_regs(x)?),
            Call::Unload => SessionCall::Unload(session),
            Call::Stats => SessionCall::Stats(StatsArgs::from_regs(x)),
            Call::Run => SessionCall::Run(RunArgs::from_regs(x)?),
            Call::Resume => SessionCall::Resume(session),
            Call::Cancel => SessionCall::Cancel(session),
            Call::Attest => SessionCall::Attest(AttestArgs::from_regs(x)?),
            Call::Receipt => SessionCall::Receipt(ReceiptArgs::from_regs(x)?),
            _ => return Err(Status::NotSupported.into()),
        })
    }
}

#[cfg(test)]
mod tests;
