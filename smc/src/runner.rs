//! The normal world's side of a module's life, written once for every client (the bare-metal
//! test client and the Linux tool): open a session, put a `.aot` file into shared memory and
//! LOAD it, RUN it with arguments, drain the output ring at every pause and RESUME, CANCEL
//! when asked, and read the LOAD and RUN reports.
//!
//! It owns nothing but offsets: the caller registers the shared memory (bare metal: SMCs;
//! Linux: the driver) and passes it as a [`SharedArea`]. Inside it the runner places, from
//! offset 0: the file, its [`LoadReport`] (64-aligned), then for a run the [`RunReport`], the
//! run block and the output ring ([`RunPlacement`]). [`area_size`] says how large the area must
//! be for a file and a run.
//!
//! Every value that comes back from the other world (statuses, reports, ring indices) is
//! checked here before it is believed: an unknown status is an [`Error::Client`], a report
//! without its magic is `None`, a producer index out of range stops the run ([`Error::Ring`]).

// An `Error` can carry the 256-byte LOAD report (the secure world's own words on why a module
// was refused); without an allocator in this crate it cannot be boxed. Errors are rare and
// the copy is cheap next to an SMC.
#![allow(clippy::large_enum_variant, clippy::result_large_err)]

use core::fmt;

use crate::args::{
    AttestArgs, LoadArgs, NativeStack, OpenArgs, ReceiptArgs, Refusal, RunArgs, SessionCall,
    SessionHandle, ShmHandle, ShmOffset, ShmSpan, StatsArgs,
};
use crate::client::{Client, ClientError, Conduit};
use crate::files::{self, Channel, Preopen};
use crate::info::FailureMessage;
use crate::ring::{self, Consumer, Producer, RingFault, SharedRegion, Stream};
use crate::session::{
    LoadReport, RunBlock, RunReport, RunSpec, ATTEST_TOKEN_MIN, LOAD_REPORT_SIZE, NO_TRAP_ID,
    RECEIPT_TOKEN_MIN, RUN_REPORT_SIZE,
};
use crate::status::Status;

/// Page size of shared-memory registrations.
pub const PAGE_SIZE: usize = 4096;
/// Bytes [`Session::attest`] keeps for the nonce before the token buffer.
pub const ATTEST_NONCE_ROOM: usize = 64;

/// Shared bytes [`Session::attest`] uses: the nonce's room and the token buffer.
pub const fn attest_area_size() -> usize {
    ATTEST_NONCE_ROOM + ATTEST_TOKEN_MIN as usize
}

/// Default capacity of each output stream's ring (stdout and stderr).
pub const DEFAULT_RING_CAPACITY: u32 = 16 << 10;

/// One shared-memory registration as the normal world sees it: the handle SHM_REGISTER gave
/// and the bytes of the whole range.
#[derive(Clone, Copy, Debug)]
pub struct SharedArea<'a> {
    /// The registration's handle.
    pub handle: ShmHandle,
    /// The registered range, from its first byte.
    pub mem: SharedRegion<'a>,
}

/// What to run: an export (or the WASI command's `_start`), its arguments and environment,
/// and the size of the output ring.
#[derive(Clone, Copy, Debug)]
pub struct RunRequest<'r> {
    /// Export to call; empty for `_start`.
    pub entry: &'r [u8],
    /// Arguments, program name first (for an export: its parameters as text).
    pub args: &'r [&'r [u8]],
    /// `KEY=VALUE` environment entries.
    pub env: &'r [&'r [u8]],
    /// Bytes of each stream's ring: a power of two.
    pub ring_capacity: u32,
    /// Ask for a signed receipt of the run bound to this nonce (32, 48 or 64 bytes); fetch it
    /// with [`Session::receipt`] once the run ended.
    pub receipt_nonce: Option<&'r [u8]>,
    /// Give the module a stdin through an input ring of this many bytes (a power of two),
    /// which [`RunObserver::input`] fills when the module waits for input; `None`: stdin is
    /// at end of file.
    pub stdin_capacity: Option<u32>,
    /// Give the module these preopened directories (handles of the caller's file server)
    /// through a file channel of [`files::MAX_DATA`] bytes of data, whose requests
    /// [`RunObserver::file_request`] answers; `None`: no files.
    pub files: Option<&'r [Preopen<'r>]>,
}

impl RunRequest<'_> {
    fn spec(
        &self,
        stdin_ring: Option<(u64, u64)>,
        file_channel: Option<(u64, u64)>,
    ) -> RunSpec<'_> {
        RunSpec {
            entry: self.entry,
            args: self.args,
            env: self.env,
            receipt_nonce: self.receipt_nonce,
            stdin_ring,
            file_channel,
        }
    }
}

const fn align_up(n: usize, a: usize) -> Option<usize> {
    match n.checked_add(a - 1) {
        Some(v) => Some(v & !(a - 1)),
        None => None,
    }
}

/// Copies the `len`-byte token (ATTEST's or RECEIPT's answer, `x1`) at offset `at` of `area`
/// into `token`: the length must be non-zero and inside the `max`-byte buffer it was given.
fn copy_token(
    area: &SharedArea<'_>,
    at: usize,
    len: u64,
    max: u64,
    token: &mut [u8],
) -> Result<usize, Error> {
    let out = match token.get_mut(..len as usize) {
        Some(out) if len != 0 && len <= max => out,
        _ => {
            return Err(Error::Client(ClientError::BadReply(
                "token length outside its buffer",
            )))
        }
    };
    if !area.mem.read_bytes(at, out) {
        return Err(Error::Client(ClientError::BadReply("token unreadable")));
    }
    Ok(out.len())
}

/// Offset of the LOAD report after a file of `file_len` bytes at offset 0.
pub const fn load_report_offset(file_len: usize) -> Option<usize> {
    align_up(file_len, ring::ALIGN)
}

/// Where a run's pieces go when they follow a file of `file_len` bytes and its LOAD report.
pub const fn run_offset(file_len: usize) -> Option<usize> {
    match load_report_offset(file_len) {
        Some(r) => r.checked_add(LOAD_REPORT_SIZE),
        None => None,
    }
}

/// Where RUN's report, run block and ring lie inside the area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPlacement {
    /// Offset of the 256-byte [`RunReport`] (64-aligned).
    pub report: usize,
    /// Offset and length of the run block.
    pub block: usize,
    /// Length of the run block.
    pub block_len: usize,
    /// Offset (64-aligned) of the ring block.
    pub ring: usize,
    /// Length of the ring block.
    pub ring_len: usize,
    /// Offset (64-aligned) and length of the input ring block, if the run has a stdin.
    pub input: Option<(usize, usize)>,
    /// Offset (64-aligned) and length of the file channel block, if the run has files.
    pub files: Option<(usize, usize)>,
    /// First byte after the ring blocks.
    pub end: usize,
}

impl RunPlacement {
    /// Places a run at or after offset `at`; `None` if the request cannot be encoded (a NUL
    /// inside a string, no program name, too many or too long strings, a ring capacity that
    /// is not a power of two).
    pub fn new(at: usize, req: &RunRequest<'_>) -> Option<Self> {
        let placeholder = req.stdin_capacity.map(|_| (0, 0));
        let files_placeholder = req.files.map(|_| (0, 0));
        let block_len = RunBlock::encoded_len(&req.spec(placeholder, files_placeholder))?;
        let ring_len = ring::block_size(req.ring_capacity, req.ring_capacity)?;
        let report = align_up(at, ring::ALIGN)?;
        let block = report.checked_add(RUN_REPORT_SIZE)?;
        let ring = align_up(block.checked_add(block_len)?, ring::ALIGN)?;
        let mut end = ring.checked_add(ring_len)?;
        let mut input = None;
        if let Some(cap) = req.stdin_capacity {
            // Stream 0 carries stdin; stream 1 is unused (the smallest capacity).
            let len = ring::block_size(cap, 1)?;
            let at = align_up(end, ring::ALIGN)?;
            input = Some((at, len));
            end = at.checked_add(len)?;
        }
        let mut files = None;
        if req.files.is_some() {
            let len = files::block_size(files::MAX_DATA);
            let at = align_up(end, ring::ALIGN)?;
            files = Some((at, len));
            end = at.checked_add(len)?;
        }
        Some(RunPlacement {
            report,
            block,
            block_len,
            ring,
            ring_len,
            input,
            files,
            end,
        })
    }
}

/// Bytes of shared memory (whole pages) a client needs to LOAD a file of `file_len` bytes and
/// RUN it with `req`, with [`Session::load`] and [`Session::run`] at [`run_offset`].
pub fn area_size(file_len: usize, req: &RunRequest<'_>) -> Option<usize> {
    align_up(
        RunPlacement::new(run_offset(file_len)?, req)?.end,
        PAGE_SIZE,
    )
}

/// A module LOAD accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// SHA-256 of exactly the bytes loaded: the measurement, equal to `sha256sum` of the file.
    pub sha256: [u8; 32],
    /// Bytes of the session's quota the module uses.
    pub charged: u64,
    /// The smallest quota that loads this module.
    pub min_quota: u64,
    /// How often the LOAD answered INTERRUPTED (a normal-world interrupt was pending between
    /// two of its bounded steps) and was RESUMEd.
    pub interruptions: u32,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// `_start` or the export returned (code 0) or the module called `proc_exit(code)`.
    Exited(u32),
    /// The module trapped, with WAMR's exception id when there is one.
    Trapped(Option<u32>),
    /// The run was cancelled (by this client, or by the driver on a signal).
    Cancelled,
}

/// A run that ended, and what the secure world reported about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// How it ended.
    pub end: RunEnd,
    /// Bytes received on stdout, stderr.
    pub received: [u64; 2],
    /// OUTPUT_PENDING pauses (the ring was full).
    pub pauses: u32,
    /// INTERRUPTED returns (a normal-world interrupt preempted the module).
    pub interruptions: u32,
    /// The secure world's report, if it wrote one with the magic.
    pub report: Option<RunReport>,
}

impl RunOutcome {
    /// The trap's message as WAMR prints it (`out of bounds memory access`), or a generic
    /// text when the report is missing.
    pub fn trap_message(&self) -> &str {
        match &self.report {
            Some(r) if !r.message().is_empty() => r.message(),
            _ => "trap (no report from the secure world)",
        }
    }

    /// The process exit status a command-line tool should use: the module's exit code, 128 +
    /// SIGINT (130) when cancelled, 1 after a trap... capped to 8 bits like a process's.
    pub fn exit_status(&self) -> u8 {
        match self.end {
            RunEnd::Exited(code) => code as u8,
            RunEnd::Trapped(_) => 1,
            RunEnd::Cancelled => 130,
        }
    }
}

/// Why a runner operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The secure world refused `call` with `status`; `value` is its `x1` (e.g. the minimum
    /// or maximum quota).
    Refused {
        /// The call's name.
        call: &'static str,
        /// The status in `x0`.
        status: Status,
        /// `x1` of the answer.
        value: u64,
    },
    /// LOAD refused the module; the report says why when it was written.
    Load {
        /// The status in `x0`.
        status: Status,
        /// `x1` of the answer (the minimum quota for QUOTA_TOO_SMALL).
        value: u64,
        /// The LOAD report, if the secure world wrote one.
        report: Option<LoadReport>,
    },
    /// The answer was not a known status.
    Client(ClientError),
    /// The request does not fit the shared area (what, and the bytes needed).
    Area {
        /// What did not fit.
        what: &'static str,
        /// Bytes of shared memory needed.
        needed: usize,
        /// Bytes the area has.
        have: usize,
    },
    /// A RUN request that cannot be encoded (a NUL inside a string, no program name, more
    /// than 1024 strings or 64 KiB, a ring capacity that is not a power of two).
    BadRequest,
    /// The output ring broke (the producer index left its range); the run was cancelled.
    Ring(RingFault),
    /// The secure world has stopped after an internal error (FAILED: every call answers this
    /// until reboot), with the message it recorded (GET_INFO FAILURE).
    Failed(FailureMessage),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Refused {
                call: "SESSION_OPEN",
                status: Status::QuotaTooLarge,
                value,
            } => write!(
                f,
                "heap quota does not fit: the secure world's pool has {value} bytes free for \
                 sessions now: ask for less"
            ),
            Error::Refused {
                call: "SESSION_OPEN",
                status: Status::QuotaTooSmall,
                value,
            } => write!(
                f,
                "heap quota too small: the least a session takes is {value} bytes"
            ),
            Error::Refused {
                call,
                status: Status::Busy,
                ..
            } => write!(
                f,
                "{call}: busy: another program is using the secure world; try again"
            ),
            Error::Refused {
                call,
                status: Status::NoResources,
                ..
            } => write!(
                f,
                "{call}: the secure world's tables are full ({})",
                Status::NoResources
            ),
            Error::Refused { call, status, .. } => write!(f, "{call} refused: {status}"),
            Error::Load {
                status: Status::QuotaTooSmall,
                value,
                ..
            } => write!(
                f,
                "heap quota too small: this module needs at least {value} bytes"
            ),
            Error::Load { status, report, .. } => match &report {
                Some(r) if !r.message().is_empty() => {
                    write!(f, "the module did not load: {}", r.message())
                }
                _ => write!(f, "the module did not load: {status}"),
            },
            Error::Client(e) => write!(f, "unexpected answer from the secure world: {e}"),
            Error::Area { what, needed, have } => write!(
                f,
                "{what} needs {needed} bytes of shared memory but only {have} are available"
            ),
            Error::BadRequest => f.write_str(
                "arguments cannot be passed: a NUL inside one, no program name, more than 1024 \
                 strings or 64 KiB, or a ring size that is not a power of two",
            ),
            Error::Ring(fault) => write!(f, "output ring broken, run cancelled: {fault}"),
            Error::Failed(message) => write!(f, "secure world failed: {message}"),
        }
    }
}

/// What a run tells its caller, and what the caller may do at a pause.
pub trait RunObserver {
    /// Bytes of `stream`, in order, as they are drained from the ring.
    fn output(&mut self, stream: Stream, bytes: &[u8]);

    /// Called after each drain of the ring (at every pause, interruption and at the end),
    /// once all the bytes then available went through [`RunObserver::output`]: the moment to
    /// flush buffered output with one write instead of one per chunk.
    fn drained(&mut self) {}

    /// Polled at every pause and interruption: `true` cancels the run.
    fn cancel_requested(&mut self) -> bool {
        false
    }

    /// Called when the run returned INTERRUPTED for the `n`-th time (from 1), before the
    /// ring is drained and [`RunObserver::cancel_requested`] is polled.
    fn interrupted(&mut self, _n: u32) {}

    /// For a run with a stdin: put what input there is into `ring` ([`Producer::write`] on
    /// [`Stream::Stdout`], the input ring's one stream), or [`Producer::finish`] it at end of
    /// file. With `wait` (the module waits for stdin: INPUT_PENDING, after the output was
    /// drained) it may block until input comes; without (before RUN, and after every other
    /// pause and interruption, so that `poll_oneoff` sees input that is there) it must not.
    /// `false` cancels the run. Default: end of file.
    fn input(&mut self, ring: &mut Producer<'_>, wait: bool) -> bool {
        let _ = wait;
        ring.finish();
        true
    }

    /// At FILE_REQUEST (the output drained first): read the request from `channel`
    /// ([`Channel::read_request`]), perform it, and write the reply
    /// ([`Channel::write_reply`]). `false` cancels the run. Default: cancel (a run given no
    /// files never asks).
    fn file_request(&mut self, channel: &Channel<'_>) -> bool {
        let _ = channel;
        false
    }

    /// Called at OUTPUT_PENDING pause number `pause` (from 1) before the ring is drained,
    /// with the ring block; `false` skips this drain. Tests use it to corrupt the ring.
    fn paused(&mut self, _pause: u32, _ring: SharedRegion<'_>) -> bool {
        true
    }
}

/// An open session, through a conduit.
pub struct Session<'c, C: Conduit + ?Sized> {
    conduit: &'c mut C,
    handle: SessionHandle,
    /// Closed on drop (opened here, not attached).
    owned: bool,
}

impl<C: Conduit + ?Sized> fmt::Debug for Session<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Session({})", self.handle)
    }
}

/// The error for a FAILED answer: the secure world's message, read through GET_INFO FAILURE
/// (registers only; an unreadable message is shown as empty).
pub fn failed<C: Conduit + ?Sized>(conduit: &mut C) -> Error {
    Error::Failed(conduit.failure_message().unwrap_or_default())
}

/// The error for a call this side refused before making it (the same shape checks as the
/// secure world's, so the same answer).
fn refused(call: &'static str, r: Refusal) -> Error {
    Error::Refused {
        call,
        status: r.status(),
        value: r.1,
    }
}

fn status_of<C: Conduit + ?Sized>(
    conduit: &mut C,
    call: &'static str,
    regs: [u64; 4],
) -> Result<[u64; 4], Error> {
    match Status::from_raw(regs[0]) {
        Some(Status::Success) => Ok(regs),
        Some(Status::Failed) => Err(failed(conduit)),
        Some(status) => Err(Error::Refused {
            call,
            status,
            value: regs[1],
        }),
        None => Err(Error::Client(ClientError::UnknownStatus(regs[0]))),
    }
}

impl<'c, C: Conduit + ?Sized> Session<'c, C> {
    /// SESSION_OPEN with a heap quota; the session is closed when this value is dropped.
    pub fn open(conduit: &'c mut C, quota: u64) -> Result<Self, Error> {
        let args = OpenArgs::new(quota).map_err(|r| refused("SESSION_OPEN", r))?;
        let regs = conduit.call(args.to_regs());
        let [_, handle, ..] = status_of(conduit, "SESSION_OPEN", regs)?;
        Ok(Session {
            conduit,
            handle: SessionHandle::from_raw(handle),
            owned: true,
        })
    }

    /// A session opened by someone else (the Linux driver opens one per file and puts its
    /// handle into every call); it is not closed on drop.
    pub fn attach(conduit: &'c mut C, handle: SessionHandle) -> Self {
        Session {
            conduit,
            handle,
            owned: false,
        }
    }

    /// The session's handle.
    pub fn handle(&self) -> SessionHandle {
        self.handle
    }

    /// The conduit, for calls outside the session.
    pub fn conduit(&mut self) -> &mut C {
        self.conduit
    }

    fn call(&mut self, call: SessionCall) -> [u64; 4] {
        self.conduit.call(call.to_regs())
    }

    /// Copies `file` to offset 0 of `area` and LOADs it (report at [`load_report_offset`])
    /// with the default native stack.
    pub fn load(&mut self, area: &SharedArea<'_>, file: &[u8]) -> Result<Loaded, Error> {
        self.load_with_stack(area, file, NativeStack::DEFAULT)
    }

    /// [`Session::load`] with native stack `stack`.
    pub fn load_with_stack(
        &mut self,
        area: &SharedArea<'_>,
        file: &[u8],
        stack: NativeStack,
    ) -> Result<Loaded, Error> {
        let report = load_report_offset(file.len()).ok_or(Error::BadRequest)?;
        let needed = report.saturating_add(LOAD_REPORT_SIZE);
        if needed > area.mem.len() || !area.mem.write_bytes(0, file) {
            return Err(Error::Area {
                what: "the module",
                needed,
                have: area.mem.len(),
            });
        }
        self.load_at_with_stack(area, 0, file.len(), report, stack)
    }

    /// LOADs the `len` bytes at `offset` of `area` (already there), with the report at
    /// `report_offset` (8-aligned), with the default native stack.
    pub fn load_at(
        &mut self,
        area: &SharedArea<'_>,
        offset: usize,
        len: usize,
        report_offset: usize,
    ) -> Result<Loaded, Error> {
        self.load_at_with_stack(area, offset, len, report_offset, NativeStack::DEFAULT)
    }

    /// [`Session::load_at`] with native stack `stack`. A LOAD that answers INTERRUPTED (it
    /// stopped between two bounded steps for a normal-world interrupt, which the caller's CPU
    /// has taken by now) is RESUMEd until it answers as LOAD does.
    pub fn load_at_with_stack(
        &mut self,
        area: &SharedArea<'_>,
        offset: usize,
        len: usize,
        report_offset: usize,
        stack: NativeStack,
    ) -> Result<Loaded, Error> {
        if !area.mem.write_bytes(report_offset, &[0; LOAD_REPORT_SIZE]) {
            return Err(Error::Area {
                what: "the LOAD report",
                needed: report_offset.saturating_add(LOAD_REPORT_SIZE),
                have: area.mem.len(),
            });
        }
        // The same shape checks as the secure world's, before the call: a refusal here is the
        // answer LOAD would have given.
        let args = ShmSpan::new(offset as u64, len as u64)
            .ok_or(Refusal::from(Status::BadAddress))
            .and_then(|file| {
                let report = ShmOffset::new(report_offset as u64);
                LoadArgs::new(self.handle, area.handle, file, report).map(|a| a.with_stack(stack))
            });
        let mut regs = match args {
            Ok(args) => self.call(SessionCall::Load(args)),
            Err(r) => r.to_regs(),
        };
        let mut interruptions = 0u32;
        while Status::from_raw(regs[0]) == Some(Status::Interrupted) {
            interruptions = interruptions.saturating_add(1);
            regs = self.call(SessionCall::Resume(self.handle));
        }
        let mut bytes = [0u8; LOAD_REPORT_SIZE];
        let report = area
            .mem
            .read_bytes(report_offset, &mut bytes)
            .then(|| LoadReport::from_bytes(&bytes))
            .flatten();
        match status_of(self.conduit, "LOAD", regs) {
            Ok([_, charged, min_quota, _]) => Ok(Loaded {
                sha256: report.map_or([0; 32], |r| r.sha256),
                charged,
                min_quota,
                interruptions,
            }),
            Err(Error::Refused { status, value, .. }) => Err(Error::Load {
                status,
                value,
                report,
            }),
            Err(e) => Err(e),
        }
    }

    /// ATTEST: writes `nonce` at offset `at` of `area` (64-aligned), lets the secure world
    /// sign a token for the loaded module into the [`ATTEST_TOKEN_MIN`] bytes after it, and
    /// copies the token into `token` (at least [`ATTEST_TOKEN_MIN`] bytes); returns its
    /// length. The area needs [`attest_area_size`] bytes from `at`.
    pub fn attest(
        &mut self,
        area: &SharedArea<'_>,
        at: usize,
        nonce: &[u8],
        token: &mut [u8],
    ) -> Result<usize, Error> {
        let token_at = at.saturating_add(ATTEST_NONCE_ROOM);
        let needed = at.saturating_add(attest_area_size());
        if needed > area.mem.len() || !area.mem.write_bytes(at, nonce) {
            return Err(Error::Area {
                what: "the attestation nonce and token",
                needed,
                have: area.mem.len(),
            });
        }
        let args = match (
            ShmSpan::new(at as u64, nonce.len() as u64),
            ShmSpan::new(token_at as u64, ATTEST_TOKEN_MIN),
        ) {
            (Some(n), Some(t)) => AttestArgs::new(self.handle, area.handle, n, t),
            _ => Err(Refusal::from(Status::BadAddress)),
        };
        let regs = match args {
            Ok(args) => self.call(SessionCall::Attest(args)),
            Err(r) => r.to_regs(),
        };
        let [_, len, ..] = status_of(self.conduit, "ATTEST", regs)?;
        copy_token(area, token_at, len, ATTEST_TOKEN_MIN, token)
    }

    /// RECEIPT: lets the secure world write the signed receipt of the session's ended run
    /// (its [`RunRequest::receipt_nonce`] asked for one) at offset `at` of `area`, and copies
    /// it into `token` (at least [`RECEIPT_TOKEN_MIN`] bytes); returns its length. The area
    /// needs [`RECEIPT_TOKEN_MIN`] bytes from `at`.
    pub fn receipt(
        &mut self,
        area: &SharedArea<'_>,
        at: usize,
        token: &mut [u8],
    ) -> Result<usize, Error> {
        let needed = at.saturating_add(RECEIPT_TOKEN_MIN as usize);
        if needed > area.mem.len() {
            return Err(Error::Area {
                what: "the run receipt",
                needed,
                have: area.mem.len(),
            });
        }
        let args = match ShmSpan::new(at as u64, RECEIPT_TOKEN_MIN) {
            Some(t) => ReceiptArgs::new(self.handle, area.handle, t),
            None => Err(Refusal::from(Status::BadAddress)),
        };
        let regs = match args {
            Ok(args) => self.call(SessionCall::Receipt(args)),
            Err(r) => r.to_regs(),
        };
        let [_, len, ..] = status_of(self.conduit, "RECEIPT", regs)?;
        copy_token(area, at, len, RECEIPT_TOKEN_MIN, token)
    }

    /// UNLOAD: the module's memory is zeroed and back in the pool.
    pub fn unload(&mut self) -> Result<(), Error> {
        let regs = self.call(SessionCall::Unload(self.handle));
        status_of(self.conduit, "UNLOAD", regs).map(|_| ())
    }

    /// STATS page `page`: its `x1..x3`.
    pub fn stats(&mut self, page: u64) -> Result<[u64; 3], Error> {
        let session = self.handle;
        let regs = self.call(SessionCall::Stats(StatsArgs { session, page }));
        let [_, a, b, c] = status_of(self.conduit, "STATS", regs)?;
        Ok([a, b, c])
    }

    /// SESSION_CLOSE (also done on drop for a session this value opened).
    pub fn close(mut self) -> Result<(), Error> {
        let owned = core::mem::replace(&mut self.owned, false);
        if !owned {
            return Ok(());
        }
        let regs = self.call(SessionCall::Close(self.handle));
        status_of(self.conduit, "SESSION_CLOSE", regs).map(|_| ())
    }

    /// RUNs the loaded module as `req` asks, with its report, run block and ring placed in
    /// `area` at or after offset `at` ([`run_offset`] after a [`Session::load`]). Drains the
    /// ring into `observer` at every pause and at the end, RESUMEs after OUTPUT_PENDING and
    /// INTERRUPTED, and CANCELs when the observer asks or the ring breaks.
    pub fn run(
        &mut self,
        area: &SharedArea<'_>,
        at: usize,
        req: &RunRequest<'_>,
        observer: &mut dyn RunObserver,
    ) -> Result<RunOutcome, Error> {
        let p = RunPlacement::new(at, req).ok_or(Error::BadRequest)?;
        let too_small = Error::Area {
            what: "the run (report, arguments and output ring)",
            needed: p.end,
            have: area.mem.len(),
        };
        if p.end > area.mem.len() || !area.mem.write_bytes(p.report, &[0; RUN_REPORT_SIZE]) {
            return Err(too_small);
        }
        let mem = area.mem;
        let stdin_ring = p.input.map(|(at, len)| (at as u64, len as u64));
        let file_channel = p.files.map(|(at, len)| (at as u64, len as u64));
        RunBlock::encode_with(&req.spec(stdin_ring, file_channel), |off, bytes| {
            let at = p.block.checked_add(off)?;
            mem.write_bytes(at, bytes).then_some(())
        })
        .ok_or(too_small)?;
        let ring_mem = mem.sub(p.ring, p.ring_len).ok_or(too_small)?;
        let mut consumer = Consumer::format(ring_mem, req.ring_capacity, req.ring_capacity)
            .map_err(|_| Error::BadRequest)?;
        // The input ring: formatted here, and this side is its producer.
        let mut input = match (p.input, req.stdin_capacity) {
            (Some((at, len)), Some(cap)) => {
                let input_mem = mem.sub(at, len).ok_or(too_small)?;
                Consumer::format(input_mem, cap, 1).map_err(|_| Error::BadRequest)?;
                Some(Producer::attach(input_mem).map_err(|_| Error::BadRequest)?)
            }
            _ => None,
        };
        // The file channel: formatted here with the preopen table; this side answers it.
        let channel = match (p.files, req.files) {
            (Some((at, len)), Some(preopens)) => {
                let channel_mem = mem.sub(at, len).ok_or(too_small)?;
                Some(Channel::format(channel_mem, preopens).map_err(|_| Error::BadRequest)?)
            }
            _ => None,
        };

        let mut received = [0u64; 2];
        let mut drain = |c: &mut Consumer<'_>, obs: &mut dyn RunObserver| {
            let r = c.drain(|stream, bytes| {
                obs.output(stream, bytes);
                if let Some(r) = received.get_mut(stream.index()) {
                    *r = r.saturating_add(bytes.len() as u64);
                }
                bytes.len()
            });
            obs.drained();
            r.map(|_| ())
        };

        let span = |at: usize, len: usize| ShmSpan::new(at as u64, len as u64);
        let args = match (span(p.block, p.block_len), span(p.ring, p.ring_len)) {
            (Some(block), Some(ring)) => {
                let report = ShmOffset::new(p.report as u64);
                RunArgs::new(self.handle, area.handle, block, ring, report)
                    .map_err(|r| refused("RUN", r))?
            }
            _ => return Err(too_small),
        };
        if let Some(ring) = input.as_mut() {
            if !observer.input(ring, false) {
                return Err(Error::BadRequest);
            }
        }
        let mut regs = self.call(SessionCall::Run(args));
        let mut call = "RUN";
        let (mut pauses, mut interruptions) = (0u32, 0u32);
        let mut cancelled_here = false;
        let mut fault = None;
        let end = loop {
            match Status::from_raw(regs[0]) {
                Some(
                    status @ (Status::OutputPending
                    | Status::Interrupted
                    | Status::InputPending
                    | Status::FileRequest),
                ) => {
                    let drain_now = match status {
                        Status::OutputPending => {
                            pauses = pauses.saturating_add(1);
                            observer.paused(pauses, ring_mem)
                        }
                        Status::Interrupted => {
                            interruptions = interruptions.saturating_add(1);
                            observer.interrupted(interruptions);
                            true
                        }
                        _ => true,
                    };
                    if drain_now && fault.is_none() {
                        fault = drain(&mut consumer, observer).err();
                    }
                    // At INPUT_PENDING the observer may block for input; without an input
                    // ring the secure world has no business waiting, and the run is cancelled.
                    let waiting = status == Status::InputPending;
                    let mut supplied = match input.as_mut() {
                        Some(ring) => observer.input(ring, waiting),
                        None => !waiting,
                    };
                    // Likewise a file request without a channel; with one the observer
                    // answers it.
                    if status == Status::FileRequest {
                        supplied &= match channel.as_ref() {
                            Some(ch) => observer.file_request(ch),
                            None => false,
                        };
                    }
                    if fault.is_some() || !supplied || observer.cancel_requested() {
                        cancelled_here = true;
                        call = "CANCEL";
                        regs = self.call(SessionCall::Cancel(self.handle));
                    } else {
                        call = "RESUME";
                        regs = self.call(SessionCall::Resume(self.handle));
                    }
                }
                Some(Status::Success) if cancelled_here => break RunEnd::Cancelled,
                Some(Status::Success) => break RunEnd::Exited(regs[1] as u32),
                Some(Status::Trapped) => {
                    break RunEnd::Trapped(u32::try_from(regs[1]).ok().filter(|&i| i != NO_TRAP_ID))
                }
                Some(Status::Cancelled) => break RunEnd::Cancelled,
                Some(Status::Failed) => return Err(failed(self.conduit)),
                Some(status) => {
                    return Err(Error::Refused {
                        call,
                        status,
                        value: regs[1],
                    })
                }
                None => return Err(Error::Client(ClientError::UnknownStatus(regs[0]))),
            }
        };
        if fault.is_none() {
            fault = drain(&mut consumer, observer).err();
        }
        if let Some(fault) = fault {
            return Err(Error::Ring(fault));
        }
        let mut bytes = [0u8; RUN_REPORT_SIZE];
        let report = mem
            .read_bytes(p.report, &mut bytes)
            .then(|| RunReport::from_bytes(&bytes))
            .flatten();
        Ok(RunOutcome {
            end,
            received,
            pauses,
            interruptions,
            report,
        })
    }
}

impl<C: Conduit + ?Sized> Drop for Session<'_, C> {
    fn drop(&mut self) {
        if self.owned {
            let _ = self.call(SessionCall::Close(self.handle));
        }
    }
}

#[cfg(test)]
mod tests;
