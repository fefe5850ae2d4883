//! Status codes returned in `x0` by tzwasm's own calls (OEN 50).
//!
//! `x0` holds a signed 64-bit value. 0 is success; the SMCCC generic errors are -1, -2 and -3;
//! tzwasm's own errors start at -256 so that future SMCCC codes cannot collide; positive values
//! are non-error outcomes of long-running calls (reserved for RUN/RESUME, not yet used).
//! The standard Trusted OS queries (OEN 63) return data in `x0` instead, except
//! [`Status::NotSupported`] for an id this build does not serve.

use core::fmt;

/// A status as returned in `x0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum Status {
    /// The call succeeded; `x1..x3` hold its results.
    Success = 0,
    /// The run stopped because the output ring is full; drain it and RESUME. (Reserved, issue 4.)
    OutputPending = 1,
    /// A run, a long helper call of its module or a LOAD stopped for a pending normal-world
    /// interrupt; RESUME continues it where it stopped (CANCEL abandons it).
    Interrupted = 2,
    /// The run's module waits for stdin and the input ring is empty: fill it (or mark it
    /// finished at end of file) and RESUME.
    InputPending = 3,
    /// The run's module made a file call: the request is in the file channel; perform it,
    /// write the reply and RESUME.
    FileRequest = 4,
    /// SMCCC NOT_SUPPORTED: unknown or unserved function id.
    NotSupported = -1,
    /// SMCCC NOT_REQUIRED: the call is valid but has nothing to do on this implementation.
    NotRequired = -2,
    /// SMCCC INVALID_PARAMETER: an argument register is out of range.
    InvalidParameter = -3,
    /// The secure world is busy with another call that must finish first.
    Busy = -256,
    /// The secure pool heap cannot satisfy the allocation.
    OutOfMemory = -257,
    /// The call is not valid in the current state (e.g. RUN before LOAD).
    BadState = -258,
    /// A memory range is not wholly inside normal-world DRAM, or is unaligned, empty or wraps.
    BadAddress = -259,
    /// A memory range overlaps one already registered.
    Overlap = -260,
    /// The handle in the arguments names no live object (session, shared memory, module).
    NoSuchHandle = -261,
    /// A fixed-size table (sessions, registrations) is full.
    NoResources = -262,
    /// The requested quota is smaller than this module needs (`x1` = minimum).
    QuotaTooSmall = -263,
    /// The requested quota is larger than the pool (`x1` = pool capacity).
    QuotaTooLarge = -264,
    /// The module file is malformed, truncated or for another architecture/version.
    BadModule = -265,
    /// The module trapped (`x1` = trap kind).
    Trapped = -266,
    /// The run was cancelled.
    Cancelled = -267,
    /// An internal invariant failed in the secure world; the call had no effect.
    Internal = -268,
    /// The secure world stopped after an internal error (a panic or an unexpected exception
    /// in S-EL1); every call answers this until reboot. GET_INFO FAILURE reads its message.
    Failed = -269,
}

/// Every status, in numeric order of groups (success, outcomes, SMCCC, tzwasm).
pub const ALL_STATUSES: [Status; 22] = [
    Status::Success,
    Status::OutputPending,
    Status::Interrupted,
    Status::InputPending,
    Status::FileRequest,
    Status::NotSupported,
    Status::NotRequired,
    Status::InvalidParameter,
    Status::Busy,
    Status::OutOfMemory,
    Status::BadState,
    Status::BadAddress,
    Status::Overlap,
    Status::NoSuchHandle,
    Status::NoResources,
    Status::QuotaTooSmall,
    Status::QuotaTooLarge,
    Status::BadModule,
    Status::Trapped,
    Status::Cancelled,
    Status::Internal,
    Status::Failed,
];

impl Status {
    /// The signed value.
    pub const fn code(self) -> i64 {
        self as i64
    }

    /// The `x0` register value (two's complement: NOT_SUPPORTED is `0xFFFF_FFFF_FFFF_FFFF`).
    pub const fn to_raw(self) -> u64 {
        self.code() as u64
    }

    /// Parses a signed status value.
    pub const fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Status::Success,
            1 => Status::OutputPending,
            2 => Status::Interrupted,
            3 => Status::InputPending,
            4 => Status::FileRequest,
            -1 => Status::NotSupported,
            -2 => Status::NotRequired,
            -3 => Status::InvalidParameter,
            -256 => Status::Busy,
            -257 => Status::OutOfMemory,
            -258 => Status::BadState,
            -259 => Status::BadAddress,
            -260 => Status::Overlap,
            -261 => Status::NoSuchHandle,
            -262 => Status::NoResources,
            -263 => Status::QuotaTooSmall,
            -264 => Status::QuotaTooLarge,
            -265 => Status::BadModule,
            -266 => Status::Trapped,
            -267 => Status::Cancelled,
            -268 => Status::Internal,
            -269 => Status::Failed,
            _ => return None,
        })
    }

    /// Parses an `x0` register value of an SMC64 call.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        Self::from_code(raw as i64)
    }

    /// Parses the `w0` value of an SMC32 call (sign-extended from 32 bits; SMCCC leaves the
    /// upper half of `x0` undefined for SMC32 calls).
    pub const fn from_w0(w0: u32) -> Option<Self> {
        Self::from_code(w0 as i32 as i64)
    }

    /// True for negative statuses.
    pub const fn is_error(self) -> bool {
        self.code() < 0
    }

    /// The name used in docs/protocol.md.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::OutputPending => "OUTPUT_PENDING",
            Status::Interrupted => "INTERRUPTED",
            Status::InputPending => "INPUT_PENDING",
            Status::FileRequest => "FILE_REQUEST",
            Status::NotSupported => "NOT_SUPPORTED",
            Status::NotRequired => "NOT_REQUIRED",
            Status::InvalidParameter => "INVALID_PARAMETER",
            Status::Busy => "BUSY",
            Status::OutOfMemory => "OUT_OF_MEMORY",
            Status::BadState => "BAD_STATE",
            Status::BadAddress => "BAD_ADDRESS",
            Status::Overlap => "OVERLAP",
            Status::NoSuchHandle => "NO_SUCH_HANDLE",
            Status::NoResources => "NO_RESOURCES",
            Status::QuotaTooSmall => "QUOTA_TOO_SMALL",
            Status::QuotaTooLarge => "QUOTA_TOO_LARGE",
            Status::BadModule => "BAD_MODULE",
            Status::Trapped => "TRAPPED",
            Status::Cancelled => "CANCELLED",
            Status::Internal => "INTERNAL",
            Status::Failed => "FAILED",
        }
    }

    /// A human-readable explanation.
    pub const fn description(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::OutputPending => "output ring full: drain it and resume the run",
            Status::Interrupted => "run or LOAD interrupted by a normal-world interrupt: resume it",
            Status::InputPending => "the module waits for stdin: fill the input ring and resume",
            Status::FileRequest => {
                "the module made a file call: answer it in the file channel and resume"
            }
            Status::NotSupported => "function id not supported by this secure world",
            Status::NotRequired => "call not required on this implementation",
            Status::InvalidParameter => "invalid parameter in the argument registers",
            Status::Busy => "secure world busy with another call",
            Status::OutOfMemory => "secure pool heap exhausted",
            Status::BadState => "call not valid in the current state",
            Status::BadAddress => {
                "memory range not wholly inside normal-world DRAM, or unaligned, empty or wrapping"
            }
            Status::Overlap => "memory range overlaps an existing registration",
            Status::NoSuchHandle => "no such session, shared-memory registration or module",
            Status::NoResources => "secure-world table full",
            Status::QuotaTooSmall => "heap quota smaller than the module needs",
            Status::QuotaTooLarge => "heap quota larger than the secure pool has free",
            Status::BadModule => "malformed or incompatible module",
            Status::Trapped => "module trapped",
            Status::Cancelled => "run cancelled",
            Status::Internal => "internal error in the secure world",
            Status::Failed => {
                "the secure world stopped after an internal error; every call answers this until \
                 reboot"
            }
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name(),
            self.code(),
            self.description()
        )
    }
}
