//! Every function id tzwasm defines, and decoding of an untrusted [`FunctionId`] into a typed
//! [`Call`] (or the reason it is not one).
//!
//! Numbering of tzwasm's own calls (OEN 50, all SMC64; each function number has exactly one
//! defined call type, the other type with the same number is not supported):
//!
//! | numbers         | use                                                          |
//! |-----------------|--------------------------------------------------------------|
//! | 0x0000..=0x00ff | base calls: GET_INFO, NULL, ECHO                             |
//! | 0x0100..=0x01ff | shared memory, sessions and modules (reserved, not yet served) |
//! | 0xff00..=0xffff | test-only calls, served by firmware test builds only         |
//!
//! The standard Trusted OS queries live in OEN 63 and are SMC32 fast calls, as SMCCC defines.

use core::fmt;

use crate::function_id::{CallConv, CallType, FunctionId, OEN_TRUSTED_OS, OEN_TRUSTED_OS_END};
use crate::status::Status;

const fn tos_query(number: u16) -> FunctionId {
    FunctionId::new(CallType::Fast, CallConv::Smc32, OEN_TRUSTED_OS_END, number)
}
const fn fast64(number: u16) -> FunctionId {
    FunctionId::new(CallType::Fast, CallConv::Smc64, OEN_TRUSTED_OS, number)
}
const fn yield64(number: u16) -> FunctionId {
    FunctionId::new(CallType::Yielding, CallConv::Smc64, OEN_TRUSTED_OS, number)
}

/// The raw function ids, for callers that build registers by hand.
pub mod ids {
    use super::{fast64, tos_query, yield64};
    use crate::function_id::FunctionId;

    /// Trusted OS Call Count query (SMCCC, fast SMC32, OEN 63): `0xBF00FF00`.
    pub const CALL_COUNT: FunctionId = tos_query(0xff00);
    /// Trusted OS Call UID query: `0xBF00FF01`.
    pub const CALL_UID: FunctionId = tos_query(0xff01);
    /// Trusted OS Revision query: `0xBF00FF03`.
    pub const REVISION: FunctionId = tos_query(0xff03);

    /// GET_INFO (fast SMC64): `0xF2000000`. `x1` = [`InfoSelector`](crate::InfoSelector).
    pub const GET_INFO: FunctionId = fast64(0x0000);
    /// NULL (fast SMC64): `0xF2000001`. Returns success at once; for world-switch timing.
    pub const NULL: FunctionId = fast64(0x0001);
    /// ECHO (yielding SMC64): `0x72000002`. Proves the yielding path; see
    /// [`echo_reply`](crate::call::echo_reply).
    pub const ECHO: FunctionId = yield64(0x0002);

    /// SHM_REGISTER (yielding SMC64): `0x72000100`. `x1` = physical base, `x2` = size.
    pub const SHM_REGISTER: FunctionId = yield64(0x0100);
    /// SHM_UNREGISTER (yielding SMC64): `0x72000101`. `x1` = handle.
    pub const SHM_UNREGISTER: FunctionId = yield64(0x0101);
    /// SESSION_OPEN (yielding SMC64): `0x72000102`. `x1` = heap quota.
    pub const SESSION_OPEN: FunctionId = yield64(0x0102);
    /// SESSION_CLOSE (yielding SMC64): `0x72000103`. `x1` = session.
    pub const SESSION_CLOSE: FunctionId = yield64(0x0103);
    /// LOAD (yielding SMC64): `0x72000104`. See [`Call::Load`].
    pub const LOAD: FunctionId = yield64(0x0104);
    /// RUN (yielding SMC64): `0x72000105`. See [`Call::Run`].
    pub const RUN: FunctionId = yield64(0x0105);
    /// RESUME (yielding SMC64): `0x72000106`. `x1` = session.
    pub const RESUME: FunctionId = yield64(0x0106);
    /// CANCEL (yielding SMC64): `0x72000107`. `x1` = session.
    pub const CANCEL: FunctionId = yield64(0x0107);
    /// UNLOAD (yielding SMC64): `0x72000108`. `x1` = session.
    pub const UNLOAD: FunctionId = yield64(0x0108);
    /// STATS (fast SMC64): `0xF2000109`. `x1` = session.
    pub const STATS: FunctionId = fast64(0x0109);
    /// ATTEST (yielding SMC64): `0x7200010A`. See [`Call::Attest`].
    pub const ATTEST: FunctionId = yield64(0x010a);
    /// RECEIPT (yielding SMC64): `0x7200010B`. See [`Call::Receipt`].
    pub const RECEIPT: FunctionId = yield64(0x010b);

    /// TEST_FAULT (fast SMC64, test builds only): `0xF200FF00`. `x1` =
    /// [`FaultKind`](crate::FaultKind).
    pub const TEST_FAULT: FunctionId = fast64(0xff00);
    /// TEST_FP (fast SMC64, test builds only): `0xF200FF01`. `x1`, `x2` = f64 bit patterns.
    pub const TEST_FP: FunctionId = fast64(0xff01);
    /// TEST_EL0 (fast SMC64, test builds only): `0xF200FF02`. `x1` =
    /// [`El0Program`](crate::call::El0Program), `x2`, `x3` = its arguments.
    pub const TEST_EL0: FunctionId = fast64(0xff02);
    /// TEST_SHM (fast SMC64, test builds only): `0xF200FF03`. `x1` = handle, `x2` = offset,
    /// `x3` = length: the secure world hashes those bytes and inverts them in place.
    pub const TEST_SHM: FunctionId = fast64(0xff03);
    /// TEST_RUN (yielding SMC64, test builds only): `0x7200FF04`. `x1` = handle, `x2` =
    /// offset, `x3` = length of an aarch64 AOT file in shared memory: runs its `_start` at
    /// S-EL0 with output to the secure log.
    pub const TEST_RUN: FunctionId = yield64(0xff04);
    /// TEST_MEASURE (fast SMC64, test builds only): `0xF200FF05`. `x1` =
    /// [`MeasureSelector`](crate::call::MeasureSelector): the payload's integrity hash, or
    /// the addresses hostile-module tests aim at.
    pub const TEST_MEASURE: FunctionId = fast64(0xff05);
    /// TEST_ALLOC_FAIL (fast SMC64, test builds only): `0xF200FF06`. `x1` = N: the N-th
    /// secure-pool allocation from now fails, once (0 disarms). `x1` back = how many
    /// allocations the previous arming still had to go (0: it fired, or none was armed),
    /// `x2` = allocations failed by injection since boot.
    pub const TEST_ALLOC_FAIL: FunctionId = fast64(0xff06);
}

/// First function number of the range reserved for shared memory, sessions and modules.
pub const RESERVED_RANGE_START: u16 = 0x0100;
/// Last function number of that reserved range.
pub const RESERVED_RANGE_END: u16 = 0x01ff;
/// First function number of the test-only range.
pub const TEST_RANGE_START: u16 = 0xff00;

/// A call the secure world serves (in at least some builds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// Trusted OS Call Count: `w0` = number of calls this build serves.
    CallCount,
    /// Trusted OS Call UID: `w0..w3` = [`TZWASM_UID`](crate::TZWASM_UID) words.
    CallUid,
    /// Trusted OS Revision: `w0` = protocol major, `w1` = protocol minor.
    Revision,
    /// GET_INFO: `x1` = selector; `x0` = status, `x1..x3` = the selected page.
    GetInfo,
    /// NULL: `x0` = 0, `x1..x3` = 0.
    Null,
    /// ECHO: yielding; `x0` = 0, `x1..x3` = [`echo_reply`] of `x1..x7`.
    Echo,
    /// SHM_REGISTER: yielding; `x1` = physical base, `x2` = size; `x1` = handle.
    ShmRegister,
    /// SHM_UNREGISTER: yielding; `x1` = handle.
    ShmUnregister,
    /// SESSION_OPEN: yielding; `x1` = heap quota; `x1` = session handle.
    SessionOpen,
    /// SESSION_CLOSE: yielding; `x1` = session.
    SessionClose,
    /// LOAD: yielding; `x1` = session, `x2` = shm handle, `x3` = offset, `x4` = length,
    /// `x5` = offset of the [`LoadReport`](crate::session::LoadReport) in that registration.
    Load,
    /// UNLOAD: yielding; `x1` = session.
    Unload,
    /// STATS: fast; `x1` = session.
    Stats,
    /// RUN: yielding; `x1` = session, `x2` = shm handle, `x3`/`x4` = run block offset and
    /// length, `x5`/`x6` = output ring block offset and length.
    Run,
    /// RESUME: yielding; `x1` = session.
    Resume,
    /// CANCEL: yielding; `x1` = session.
    Cancel,
    /// ATTEST: yielding; `x1` = session, `x2` = shm handle, `x3`/`x4` = the nonce's offset
    /// and length, `x5`/`x6` = the token buffer's offset and length; `x1` = token length.
    Attest,
    /// RECEIPT: yielding; `x1` = session, `x2` = shm handle, `x3`/`x4` = the buffer's offset
    /// and length; the signed receipt of the session's ended run (its RUN block asked for one)
    /// is written there, `x1` = its length.
    Receipt,
    /// TEST_FAULT (test builds only): `x1` = [`FaultKind`]; on success the secure world fails
    /// stop and the call answers [`Status::Failed`].
    TestFault,
    /// TEST_FP (test builds only): `x1`, `x2` = f64 bits; returns [`test_fp_reply`].
    TestFp,
    /// TEST_EL0 (test builds only): runs [`El0Program`] `x1` at S-EL0 with `x2`, `x3`.
    TestEl0,
    /// TEST_SHM (test builds only): [`shm_test_hash`] of shared bytes, which it inverts.
    TestShm,
    /// TEST_RUN (test builds only): load and run an AOT file from shared memory.
    TestRun,
    /// TEST_MEASURE (test builds only): `x1` = [`MeasureSelector`]; the payload's integrity
    /// hash or its addresses.
    TestMeasure,
    /// TEST_ALLOC_FAIL (test builds only): `x1` = N, fail the N-th pool allocation from now
    /// (0 disarms); `x1` = what the previous arming had left, `x2` = failures injected.
    TestAllocFail,
}

/// Every call, in function-id order within each OEN.
pub const ALL_CALLS: [Call; 25] = [
    Call::CallCount,
    Call::CallUid,
    Call::Revision,
    Call::GetInfo,
    Call::Null,
    Call::Echo,
    Call::ShmRegister,
    Call::ShmUnregister,
    Call::SessionOpen,
    Call::SessionClose,
    Call::Load,
    Call::Unload,
    Call::Stats,
    Call::Run,
    Call::Resume,
    Call::Cancel,
    Call::Attest,
    Call::Receipt,
    Call::TestFault,
    Call::TestFp,
    Call::TestEl0,
    Call::TestShm,
    Call::TestRun,
    Call::TestMeasure,
    Call::TestAllocFail,
];

impl Call {
    /// The function id of this call.
    pub const fn id(self) -> FunctionId {
        match self {
            Call::CallCount => ids::CALL_COUNT,
            Call::CallUid => ids::CALL_UID,
            Call::Revision => ids::REVISION,
            Call::GetInfo => ids::GET_INFO,
            Call::Null => ids::NULL,
            Call::Echo => ids::ECHO,
            Call::ShmRegister => ids::SHM_REGISTER,
            Call::ShmUnregister => ids::SHM_UNREGISTER,
            Call::SessionOpen => ids::SESSION_OPEN,
            Call::SessionClose => ids::SESSION_CLOSE,
            Call::Load => ids::LOAD,
            Call::Unload => ids::UNLOAD,
            Call::Stats => ids::STATS,
            Call::Run => ids::RUN,
            Call::Resume => ids::RESUME,
            Call::Cancel => ids::CANCEL,
            Call::Attest => ids::ATTEST,
            Call::Receipt => ids::RECEIPT,
            Call::TestFault => ids::TEST_FAULT,
            Call::TestFp => ids::TEST_FP,
            Call::TestEl0 => ids::TEST_EL0,
            Call::TestShm => ids::TEST_SHM,
            Call::TestRun => ids::TEST_RUN,
            Call::TestMeasure => ids::TEST_MEASURE,
            Call::TestAllocFail => ids::TEST_ALLOC_FAIL,
        }
    }

    /// The call's name as written in docs/protocol.md.
    pub const fn name(self) -> &'static str {
        match self {
            Call::CallCount => "CALL_COUNT",
            Call::CallUid => "CALL_UID",
            Call::Revision => "REVISION",
            Call::GetInfo => "GET_INFO",
            Call::Null => "NULL",
            Call::Echo => "ECHO",
            Call::ShmRegister => "SHM_REGISTER",
            Call::ShmUnregister => "SHM_UNREGISTER",
            Call::SessionOpen => "SESSION_OPEN",
            Call::SessionClose => "SESSION_CLOSE",
            Call::Load => "LOAD",
            Call::Unload => "UNLOAD",
            Call::Stats => "STATS",
            Call::Run => "RUN",
            Call::Resume => "RESUME",
            Call::Cancel => "CANCEL",
            Call::Attest => "ATTEST",
            Call::Receipt => "RECEIPT",
            Call::TestFault => "TEST_FAULT",
            Call::TestFp => "TEST_FP",
            Call::TestEl0 => "TEST_EL0",
            Call::TestShm => "TEST_SHM",
            Call::TestRun => "TEST_RUN",
            Call::TestMeasure => "TEST_MEASURE",
            Call::TestAllocFail => "TEST_ALLOC_FAIL",
        }
    }

    /// True for calls only firmware test builds serve (a release build answers NOT_SUPPORTED).
    pub const fn is_test_only(self) -> bool {
        matches!(
            self,
            Call::TestFault
                | Call::TestFp
                | Call::TestEl0
                | Call::TestShm
                | Call::TestRun
                | Call::TestMeasure
                | Call::TestAllocFail
        )
    }

    /// True if this build serves the call: test-only calls need `test_build`.
    pub const fn is_served(self, test_build: bool) -> bool {
        test_build || !self.is_test_only()
    }

    /// The value of the Call Count query: how many calls a build serves.
    pub const fn served_count(test_build: bool) -> u32 {
        let mut n = 0;
        let mut rest: &[Call] = &ALL_CALLS;
        while let [call, tail @ ..] = rest {
            if call.is_served(test_build) {
                n += 1;
            }
            rest = tail;
        }
        n
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A call whose function id is assigned but not yet served. Every id of the module protocol
/// is served now; the type stays so that future ids can be announced before they are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReservedCall {}

/// Every reserved call (none at present).
pub const ALL_RESERVED: [ReservedCall; 0] = [];

impl ReservedCall {
    /// The function id assigned to this call.
    pub const fn id(self) -> FunctionId {
        match self {}
    }

    /// The call's name as written in docs/protocol.md.
    pub const fn name(self) -> &'static str {
        match self {}
    }
}

/// Why a function id is not a [`Call`]. Every reason is answered with
/// [`Status::NotSupported`] (SMCCC: an unknown function id returns -1), see
/// [`DecodeError::status`]; the variants exist for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// OEN outside the Trusted OS range 50..=63 (opteed never forwards these).
    NotTrustedOs {
        /// The OEN found.
        oen: u8,
    },
    /// OEN in the Trusted OS range but neither 50 (tzwasm) nor 63 (standard queries).
    UnusedOen {
        /// The OEN found.
        oen: u8,
    },
    /// Bits 23:17 set, or the SVE hint (bit 16) on a yielding call.
    ReservedBitsSet,
    /// The function number is known, but with the other call type (fast vs yielding).
    WrongCallType {
        /// The call type the function number is defined with.
        expected: CallType,
    },
    /// The function number is known, but with the other calling convention.
    WrongConvention {
        /// The convention the function number is defined with.
        expected: CallConv,
    },
    /// The function number is assigned to a call that is not served yet.
    NotYetServed(ReservedCall),
    /// No call has this function number.
    Unknown,
}

impl DecodeError {
    /// The status the secure world answers with: always [`Status::NotSupported`].
    pub const fn status(self) -> Status {
        Status::NotSupported
    }

    /// A human-readable reason, for logs.
    pub const fn description(self) -> &'static str {
        match self {
            DecodeError::NotTrustedOs { .. } => "OEN outside the Trusted OS range 50..=63",
            DecodeError::UnusedOen { .. } => "OEN in the Trusted OS range not used by tzwasm",
            DecodeError::ReservedBitsSet => "reserved function-id bits 23:16 set",
            DecodeError::WrongCallType { .. } => "known function number with the wrong call type",
            DecodeError::WrongConvention { .. } => {
                "known function number with the wrong SMC32/SMC64 convention"
            }
            DecodeError::NotYetServed(_) => "reserved function id, not yet served",
            DecodeError::Unknown => "unknown function number",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        match self {
            DecodeError::NotTrustedOs { oen } | DecodeError::UnusedOen { oen } => {
                write!(f, " (OEN {oen})")
            }
            DecodeError::NotYetServed(call) => write!(f, " ({})", call.name()),
            _ => Ok(()),
        }
    }
}

/// What a function id's OEN and number map to, before type/convention checks.
enum Known {
    Call(Call),
    Reserved(ReservedCall),
}

fn lookup(oen: u8, number: u16) -> Option<(Known, FunctionId)> {
    for call in ALL_CALLS {
        let id = call.id();
        if id.oen() == oen && id.number() == number {
            return Some((Known::Call(call), id));
        }
    }
    for call in ALL_RESERVED {
        let id = call.id();
        if id.oen() == oen && id.number() == number {
            return Some((Known::Reserved(call), id));
        }
    }
    None
}

impl FunctionId {
    /// Decodes an untrusted function id into the call it names.
    ///
    /// Checks, in order: OEN (50 or 63), reserved bits (23:17 always, bit 16 on yielding
    /// calls; the SVE hint on fast calls is ignored), the function number, then the call type
    /// and calling convention the number is defined with.
    pub fn decode(self) -> Result<Call, DecodeError> {
        let oen = self.oen();
        if !self.is_trusted_os() {
            return Err(DecodeError::NotTrustedOs { oen });
        }
        if oen != OEN_TRUSTED_OS && oen != OEN_TRUSTED_OS_END {
            return Err(DecodeError::UnusedOen { oen });
        }
        if self.reserved_bits() != 0 || (self.sve_hint() && self.call_type() == CallType::Yielding)
        {
            return Err(DecodeError::ReservedBitsSet);
        }
        let (known, id) = lookup(oen, self.number()).ok_or(DecodeError::Unknown)?;
        if self.call_type() != id.call_type() {
            return Err(DecodeError::WrongCallType {
                expected: id.call_type(),
            });
        }
        if self.conv() != id.conv() {
            return Err(DecodeError::WrongConvention {
                expected: id.conv(),
            });
        }
        match known {
            Known::Call(call) => Ok(call),
            Known::Reserved(call) => Err(DecodeError::NotYetServed(call)),
        }
    }
}

impl TryFrom<FunctionId> for Call {
    type Error = DecodeError;

    /// Same as [`FunctionId::decode`].
    fn try_from(id: FunctionId) -> Result<Self, DecodeError> {
        id.decode()
    }
}

/// The ECHO reply `x1..x3` for arguments `x1..x7` (`args[0]` is `x1`):
/// `x1` and `x2` unchanged, `x3` = `x3 ^ rotl(x4, 8) ^ rotl(x5, 16) ^ rotl(x6, 24) ^
/// rotl(x7, 32)`, so every argument register is seen to arrive.
pub const fn echo_reply(args: [u64; 7]) -> [u64; 3] {
    let folded = args[2]
        ^ args[3].rotate_left(8)
        ^ args[4].rotate_left(16)
        ^ args[5].rotate_left(24)
        ^ args[6].rotate_left(32);
    [args[0], args[1], folded]
}

/// The TEST_FP reply `x1..x3` for `x1` = `a`, `x2` = `b` (IEEE 754 binary64 bit patterns):
/// `x1` = bits of `a * b`, `x2` = bits of `a + b`, `x3` = bits of `a / b`, each computed in
/// round-to-nearest-even. Use finite, non-NaN inputs: NaN payloads may differ between the
/// hardware and a soft-float implementation.
pub fn test_fp_reply(a: u64, b: u64) -> [u64; 3] {
    let (a, b) = (f64::from_bits(a), f64::from_bits(b));
    [(a * b).to_bits(), (a + b).to_bits(), (a / b).to_bits()]
}

/// The fault TEST_FAULT injects (`x1`). On success the secure world prints a crash report
/// and fails stop: the call, and every later one until reboot, answers [`Status::Failed`]. An
/// unknown kind gets [`Status::InvalidParameter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum FaultKind {
    /// Load from an unmapped address (data abort, translation fault).
    DataAbortUnmapped = 0,
    /// Execute an undefined instruction (`udf`).
    UndefinedInstruction = 1,
    /// Recurse until the stack pointer hits the unmapped guard page below this CPU's stack.
    StackGuardOverflow = 2,
    /// Store to read-only data (data abort, permission fault).
    WriteToReadOnly = 3,
    /// Branch to a non-executable (XN) page (instruction abort).
    ExecuteNonExecutable = 4,
    /// A Rust panic in the payload.
    Panic = 5,
}

/// Every fault kind.
pub const ALL_FAULT_KINDS: [FaultKind; 6] = [
    FaultKind::DataAbortUnmapped,
    FaultKind::UndefinedInstruction,
    FaultKind::StackGuardOverflow,
    FaultKind::WriteToReadOnly,
    FaultKind::ExecuteNonExecutable,
    FaultKind::Panic,
];

impl FaultKind {
    /// Parses the untrusted `x1` value.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        Some(match raw {
            0 => FaultKind::DataAbortUnmapped,
            1 => FaultKind::UndefinedInstruction,
            2 => FaultKind::StackGuardOverflow,
            3 => FaultKind::WriteToReadOnly,
            4 => FaultKind::ExecuteNonExecutable,
            5 => FaultKind::Panic,
            _ => return None,
        })
    }

    /// The `x1` value.
    pub const fn to_raw(self) -> u64 {
        self as u64
    }

    /// The name used in docs and logs.
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::DataAbortUnmapped => "data abort (unmapped)",
            FaultKind::UndefinedInstruction => "undefined instruction",
            FaultKind::StackGuardOverflow => "stack guard overflow",
            FaultKind::WriteToReadOnly => "write to read-only data",
            FaultKind::ExecuteNonExecutable => "execute non-executable page",
            FaultKind::Panic => "panic",
        }
    }
}

/// The S-EL0 program TEST_EL0 runs (`x1`): tiny hand-written AArch64 code the secure world maps
/// EL0-executable in its own address space, to prove that code at S-EL0 can compute and call
/// back with SVC but cannot touch the payload. `x2`, `x3` are its arguments.
///
/// Reply: `x0` = SUCCESS, `x1` = the program's `x0` at its `svc #0`, when it finished; or
/// `x0` = TRAPPED, `x1` = the exception class (ESR_EL1.EC) of its fault, `x2` = FAR_EL1; in
/// both cases the pool is back to its previous usage afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum El0Program {
    /// `x0 = x2 + x3`, then SVC. Expect SUCCESS with the sum.
    Add = 0,
    /// `x0 = bits(f64(x2) * f64(x3) + 1.0)` with FP/SIMD, clobbering V0-V7, then SVC.
    FpMulAdd = 1,
    /// Pushes and pops on its stack; `x0 = x2 ^ x3`, then SVC.
    StackUse = 2,
    /// `msr vbar_el1, xzr`: an EL1 register from EL0. Expect TRAPPED, EC 0x00.
    PrivilegedMsr = 3,
    /// Loads from payload data (the secure world supplies the address). Expect TRAPPED,
    /// EC 0x24 (data abort from a lower EL).
    ReadPayload = 4,
    /// Stores to payload data. Expect TRAPPED, EC 0x24, and the payload value unchanged.
    WritePayload = 5,
    /// `smc #0` at EL0. Expect TRAPPED, EC 0x00 (SMC is undefined at EL0).
    Smc = 6,
    /// Branches into payload text. Expect TRAPPED, EC 0x20 (instruction abort, lower EL).
    JumpToPayload = 7,
    /// `eret` at EL0. Expect TRAPPED, EC 0x00.
    Eret = 8,
}

/// Every EL0 program.
pub const ALL_EL0_PROGRAMS: [El0Program; 9] = [
    El0Program::Add,
    El0Program::FpMulAdd,
    El0Program::StackUse,
    El0Program::PrivilegedMsr,
    El0Program::ReadPayload,
    El0Program::WritePayload,
    El0Program::Smc,
    El0Program::JumpToPayload,
    El0Program::Eret,
];

impl El0Program {
    /// Parses the untrusted `x1` value.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        let mut rest: &[El0Program] = &ALL_EL0_PROGRAMS;
        while let [program, tail @ ..] = rest {
            if program.to_raw() == raw {
                return Some(*program);
            }
            rest = tail;
        }
        None
    }

    /// The `x1` value.
    pub const fn to_raw(self) -> u64 {
        self as u64
    }

    /// The name used in docs and logs.
    pub const fn name(self) -> &'static str {
        match self {
            El0Program::Add => "add",
            El0Program::FpMulAdd => "fp multiply-add",
            El0Program::StackUse => "stack use",
            El0Program::PrivilegedMsr => "privileged msr",
            El0Program::ReadPayload => "read payload memory",
            El0Program::WritePayload => "write payload memory",
            El0Program::Smc => "smc at EL0",
            El0Program::JumpToPayload => "jump into payload text",
            El0Program::Eret => "eret at EL0",
        }
    }

    /// What a correct secure world answers for arguments `a`, `b`: `Ok(x1)` for SUCCESS, or
    /// `Err(ec)` for TRAPPED with that exception class.
    pub fn expected(self, a: u64, b: u64) -> Result<u64, u8> {
        match self {
            El0Program::Add => Ok(a.wrapping_add(b)),
            El0Program::FpMulAdd => Ok((f64::from_bits(a) * f64::from_bits(b) + 1.0).to_bits()),
            El0Program::StackUse => Ok(a ^ b),
            El0Program::PrivilegedMsr | El0Program::Smc | El0Program::Eret => Err(0x00),
            El0Program::ReadPayload | El0Program::WritePayload => Err(0x24),
            El0Program::JumpToPayload => Err(0x20),
        }
    }
}

/// What TEST_MEASURE (`x1`) returns in `x1..x3`.
///
/// The hash covers what a module must never change: the payload's text and rodata as loaded,
/// a canary page in `.bss` filled from the DRBG at cold boot (never shown to the normal
/// world), the EL1 system registers that confine EL0 (VBAR, SCTLR, TCR, TTBR0, MAIR,
/// CNTKCTL), and the stage 1 permissions (`AT S1E1W`, `AT S1E0R`, `AT S1E0W`) of every page
/// from the start of text to the end of `.bss`. Mutable statics (sessions, the pool's free
/// list, shared-memory registrations, the VA windows) change legitimately and are left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum MeasureSelector {
    /// `x1..x3` = the first 24 bytes of that SHA-256, as three little-endian words.
    Hash = 0,
    /// `x1` = the start of the payload's text, `x2` = the canary page, `x3` = the start of
    /// its rodata.
    Addresses = 1,
    /// `x1` = the start of `.data`, `x2` = the start of the per-CPU stacks, `x3` = the start
    /// of the pool.
    MoreAddresses = 2,
}

impl MeasureSelector {
    /// Parses the untrusted `x1` value.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        match raw {
            0 => Some(MeasureSelector::Hash),
            1 => Some(MeasureSelector::Addresses),
            2 => Some(MeasureSelector::MoreAddresses),
            _ => None,
        }
    }

    /// The `x1` value.
    pub const fn to_raw(self) -> u64 {
        self as u64
    }
}

/// Most bytes one SHM_REGISTER may cover (64 MiB).
pub const SHM_MAX_SIZE: u64 = 64 << 20;
/// Most shared-memory registrations alive at once (a guard on the pool and the mapping tables,
/// well above one per session at [`crate::session::GUARANTEED_SESSIONS`]).
pub const SHM_MAX_REGISTRATIONS: usize = 256;

/// Test builds only: the WASI clock id whose `clock_time_get` answers the most CPUs the secure
/// world has seen executing module code at the same moment since boot (how the `-smp 4`
/// check sees its modules run in parallel). Release builds answer EINVAL for it.
pub const TEST_CLOCK_PEAK_RUNS: u32 = 0x7a57_0001;

/// The TEST_SHM hash (FNV-1a, 64-bit) of the bytes as they were before the secure world
/// inverted them.
pub fn shm_test_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
