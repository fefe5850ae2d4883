//! Normal-world side of the protocol: the [`Conduit`] trait (one SMC, however it is issued)
//! and the [`Client`] extension trait with a typed wrapper per call. The bare-metal test
//! client implements `Conduit` with the `smc` instruction; the Linux tool will implement it
//! with the driver's ioctl; the host tests implement it with a fake secure world.

use core::fmt;

use crate::args::{ShmCall, ShmHandle, ShmRegisterArgs};
use crate::call::{ids, FaultKind};
use crate::function_id::FunctionId;
use crate::info::{
    failure_chunk_from_regs, CpuInfo, FailureMessage, FeaturesInfo, InfoSelector, Measurement,
    PoolInfo, ProtocolVersion, VersionInfo, FAILURE_CHUNK, FAILURE_MESSAGE_MAX,
};
use crate::status::Status;
use crate::uid::Uuid;

/// One SMC: `args[0]` = function id (`x0`), `args[1..8]` = `x1..x7`; returns `x0..x3`.
pub trait Conduit {
    /// Issues the call and returns the normal world's `x0..x3` afterwards.
    fn call(&mut self, args: [u64; 8]) -> [u64; 4];
}

/// Why a typed call did not give a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The secure world answered with this (non-success) status.
    Status(Status),
    /// `x0` holds a value that is no known status.
    UnknownStatus(u64),
    /// The status was success but the result registers are inconsistent.
    BadReply(&'static str),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Status(status) => write!(f, "{status}"),
            ClientError::UnknownStatus(raw) => write!(f, "unknown status {raw:#x} in x0"),
            ClientError::BadReply(why) => write!(f, "bad reply: {why}"),
        }
    }
}

/// `w0` of an SMC32 query that the secure world does not serve.
const W0_NOT_SUPPORTED: u32 = u32::MAX;

/// Typed wrappers over a [`Conduit`]. Implemented for every conduit: `use
/// tzwasm_smc::Client as _` and call `conduit.get_info(...)`.
pub trait Client: Conduit {
    /// Raw call: `x0` = `id`, `x1..x7` = `args`; returns `x0..x3` unchanged.
    fn invoke(&mut self, id: FunctionId, args: [u64; 7]) -> [u64; 4] {
        let [a1, a2, a3, a4, a5, a6, a7] = args;
        self.call([id.to_x0(), a1, a2, a3, a4, a5, a6, a7])
    }

    /// Call of a tzwasm (SMC64, OEN 50) id whose `x0` is a [`Status`]: `x1..x3` on success.
    fn invoke_checked(&mut self, id: FunctionId, args: [u64; 7]) -> Result<[u64; 3], ClientError> {
        let [x0, x1, x2, x3] = self.invoke(id, args);
        match Status::from_raw(x0) {
            Some(Status::Success) => Ok([x1, x2, x3]),
            Some(status) => Err(ClientError::Status(status)),
            None => Err(ClientError::UnknownStatus(x0)),
        }
    }

    /// Trusted OS Call Count: how many calls the secure world serves.
    fn call_count(&mut self) -> Result<u32, ClientError> {
        let [x0, ..] = self.invoke(ids::CALL_COUNT, [0; 7]);
        match x0 as u32 {
            W0_NOT_SUPPORTED => Err(ClientError::Status(Status::NotSupported)),
            count => Ok(count),
        }
    }

    /// Trusted OS Call UID. Compare with [`TZWASM_UID`](crate::TZWASM_UID).
    fn call_uid(&mut self) -> Result<Uuid, ClientError> {
        let regs = self.invoke(ids::CALL_UID, [0; 7]);
        if regs[0] as u32 == W0_NOT_SUPPORTED {
            return Err(ClientError::Status(Status::NotSupported));
        }
        Ok(Uuid::from_regs(regs))
    }

    /// Trusted OS Revision: the protocol version (`w0` = major, `w1` = minor).
    fn revision(&mut self) -> Result<ProtocolVersion, ClientError> {
        let [x0, x1, ..] = self.invoke(ids::REVISION, [0; 7]);
        if x0 as u32 == W0_NOT_SUPPORTED {
            return Err(ClientError::Status(Status::NotSupported));
        }
        let major = u16::try_from(x0 as u32)
            .map_err(|_| ClientError::BadReply("revision: major above 65535"))?;
        let minor = u16::try_from(x1 as u32)
            .map_err(|_| ClientError::BadReply("revision: minor above 65535"))?;
        Ok(ProtocolVersion { major, minor })
    }

    /// GET_INFO with a raw selector (to test out-of-range selectors): the page's `x1..x3`.
    fn get_info_raw(&mut self, selector: u64) -> Result<[u64; 3], ClientError> {
        self.invoke_checked(ids::GET_INFO, [selector, 0, 0, 0, 0, 0, 0])
    }

    /// GET_INFO with a selector and its argument in `x2` (FAILURE: the byte offset).
    fn get_info_at(&mut self, selector: InfoSelector, arg: u64) -> Result<[u64; 3], ClientError> {
        self.invoke_checked(ids::GET_INFO, [selector.to_raw(), arg, 0, 0, 0, 0, 0])
    }

    /// GET_INFO FAILURE, 24 bytes per call: the message the secure world recorded when it
    /// stopped (every call answering [`Status::Failed`]); empty if it has not failed.
    fn failure_message(&mut self) -> Result<FailureMessage, ClientError> {
        let mut msg = FailureMessage::empty();
        for offset in (0..FAILURE_MESSAGE_MAX).step_by(FAILURE_CHUNK) {
            let regs = self.get_info_at(InfoSelector::Failure, offset as u64)?;
            if !msg.push_chunk(&failure_chunk_from_regs(regs)) {
                break;
            }
        }
        Ok(msg)
    }

    /// GET_INFO MEASUREMENT, two calls (offsets 0 and 24): the SHA-256 of the BL32 image the
    /// secure world booted, as it measured itself.
    fn firmware_measurement(&mut self) -> Result<Measurement, ClientError> {
        let first = self.get_info_at(InfoSelector::Measurement, 0)?;
        let second = self.get_info_at(InfoSelector::Measurement, FAILURE_CHUNK as u64)?;
        Ok(Measurement::from_chunks(first, second))
    }

    /// GET_INFO: the page's `x1..x3`.
    fn get_info(&mut self, selector: InfoSelector) -> Result<[u64; 3], ClientError> {
        self.get_info_raw(selector.to_raw())
    }

    /// GET_INFO VERSIONS.
    fn versions(&mut self) -> Result<VersionInfo, ClientError> {
        VersionInfo::from_regs(self.get_info(InfoSelector::Versions)?)
            .map_err(ClientError::BadReply)
    }

    /// GET_INFO POOL.
    fn pool_info(&mut self) -> Result<PoolInfo, ClientError> {
        PoolInfo::from_regs(self.get_info(InfoSelector::Pool)?).map_err(ClientError::BadReply)
    }

    /// GET_INFO CPUS.
    fn cpu_info(&mut self) -> Result<CpuInfo, ClientError> {
        CpuInfo::from_regs(self.get_info(InfoSelector::Cpus)?).map_err(ClientError::BadReply)
    }

    /// GET_INFO FEATURES.
    fn features(&mut self) -> Result<FeaturesInfo, ClientError> {
        FeaturesInfo::from_regs(self.get_info(InfoSelector::Features)?)
            .map_err(ClientError::BadReply)
    }

    /// NULL: a fast call that returns at once (world-switch timing).
    fn null_call(&mut self) -> Result<(), ClientError> {
        self.invoke_checked(ids::NULL, [0; 7]).map(|_| ())
    }

    /// ECHO (yielding): `args` are `x1..x7`; returns `x1..x3`, which a correct secure world
    /// makes equal to [`echo_reply`](crate::call::echo_reply)`(args)`.
    fn echo(&mut self, args: [u64; 7]) -> Result<[u64; 3], ClientError> {
        self.invoke_checked(ids::ECHO, args)
    }

    /// TEST_FP (test builds): `a`, `b` are f64 bit patterns; returns `x1..x3`, which a
    /// correct secure world makes equal to [`test_fp_reply`](crate::call::test_fp_reply).
    fn test_fp(&mut self, a: u64, b: u64) -> Result<[u64; 3], ClientError> {
        self.invoke_checked(ids::TEST_FP, [a, b, 0, 0, 0, 0, 0])
    }

    /// TEST_FAULT (test builds) with a raw kind (see [`FaultKind::to_raw`]). A served fault
    /// stops the secure world: the call answers [`Status::Failed`] (fail-stop). A refused one
    /// answers `NOT_SUPPORTED` (release builds) or `INVALID_PARAMETER` (unknown kind).
    fn test_fault_raw(&mut self, kind: u64) -> ClientError {
        match self.invoke_checked(ids::TEST_FAULT, [kind, 0, 0, 0, 0, 0, 0]) {
            Ok(_) => ClientError::BadReply("TEST_FAULT returned success"),
            Err(err) => err,
        }
    }

    /// A call built with `to_regs` ([`crate::args`]) whose `x0` is a [`Status`]: `x1..x3`
    /// on success.
    fn call_checked(&mut self, regs: crate::Regs8) -> Result<[u64; 3], ClientError> {
        let [x0, x1, x2, x3] = self.call(regs);
        match Status::from_raw(x0) {
            Some(Status::Success) => Ok([x1, x2, x3]),
            Some(status) => Err(ClientError::Status(status)),
            None => Err(ClientError::UnknownStatus(x0)),
        }
    }

    /// SHM_REGISTER: shares `[base, base + size)` of normal-world physical memory with the
    /// secure world; returns the registration's handle. A range of the wrong shape (see
    /// [`ShmRegisterArgs`]) is refused here with the status the secure world would give.
    fn shm_register(&mut self, base: u64, size: u64) -> Result<ShmHandle, ClientError> {
        let args = ShmRegisterArgs::new(base, size).map_err(|r| ClientError::Status(r.0))?;
        self.call_checked(ShmCall::Register(args).to_regs())
            .map(|[h, ..]| ShmHandle::from_raw(h))
    }

    /// SHM_UNREGISTER: ends a registration; the secure world unmaps the range.
    fn shm_unregister(&mut self, handle: ShmHandle) -> Result<(), ClientError> {
        self.call_checked(ShmCall::Unregister(handle).to_regs())
            .map(|_| ())
    }

    /// TEST_EL0 (test builds): runs `program` at S-EL0 with `a`, `b`; returns `x0..x3` as they
    /// came (SUCCESS with the result, or TRAPPED with the exception class and FAR).
    fn test_el0(&mut self, program: crate::call::El0Program, a: u64, b: u64) -> crate::Regs4 {
        self.invoke(ids::TEST_EL0, [program.to_raw(), a, b, 0, 0, 0, 0])
    }

    /// TEST_FAULT with a typed kind; see [`Client::test_fault_raw`].
    fn test_fault(&mut self, kind: FaultKind) -> ClientError {
        self.test_fault_raw(kind.to_raw())
    }
}

impl<C: Conduit + ?Sized> Client for C {}
