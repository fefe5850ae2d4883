//! The SMC dispatcher: decodes the untrusted function id and arguments of one call and
//! produces the four result registers. Everything the platform provides (pool figures, CPUs,
//! the test hooks) comes through [`Services`], so the whole decision logic is host-tested.
//!
//! Unknown ids, ids in the right range with the wrong type or convention, and calls reserved
//! for later protocol versions all answer SMCCC NOT_SUPPORTED; bad arguments answer
//! INVALID_PARAMETER. Nothing here panics on any input, and the payload serves the next call.
//!
//! Fail-stop: once the [`FailRecord`] says the secure world failed, every call answers FAILED
//! before anything else runs (no lock, no shared memory, no platform service), except the
//! calls that identify the world and read the failure: CALL_COUNT, CALL_UID, REVISION and
//! GET_INFO VERSIONS, FEATURES, FAILURE, MEASUREMENT ([`answered_when_failed`]).

use crate::failstop::FailRecord;
use crate::pool::PoolStats;
use crate::sessions::{fold, Answer, Refusal};
use tzwasm_smc::args::{SessionCall, ShmCall, ShmHandle, ShmRegisterArgs};
use tzwasm_smc::call::{echo_reply, El0Program, FaultKind, MeasureSelector};
use tzwasm_smc::info::ALL_SELECTORS;
use tzwasm_smc::{
    Call, CpuInfo, Features, FirmwareVersion, FunctionId, InfoSelector, PoolInfo, Regs4, Regs8,
    Status, VersionInfo, PROTOCOL_VERSION, TZWASM_UID,
};

/// The firmware version reported by GET_INFO, from the crate version.
pub const FIRMWARE_VERSION: FirmwareVersion = FirmwareVersion {
    major: parse_u16(env!("CARGO_PKG_VERSION_MAJOR")),
    minor: parse_u16(env!("CARGO_PKG_VERSION_MINOR")),
    patch: parse_u16(env!("CARGO_PKG_VERSION_PATCH")),
};

const fn parse_u16(s: &str) -> u16 {
    let b = s.as_bytes();
    let mut v: u16 = 0;
    let mut i = 0;
    // A const fn over the crate's own version string (build input, not normal-world input).
    #[allow(clippy::indexing_slicing)] // `i < b.len()` on the line above
    while i < b.len() {
        v = v * 10 + (b[i] - b'0') as u16;
        i += 1;
    }
    v
}

/// What the dispatcher needs from the platform.
pub trait Services {
    /// The fail-stop record, checked before every call.
    fn fail_record(&self) -> &FailRecord;
    /// True in test-hooks builds: the TEST_* calls are served.
    fn test_hooks(&self) -> bool;
    /// Current pool figures.
    fn pool_stats(&self) -> PoolStats;
    /// Bit n set for every CPU that has entered the payload.
    fn cpus_seen(&self) -> u64;
    /// Most CPUs this build serves.
    fn max_cpus(&self) -> u64;
    /// SHM_REGISTER: check against normal-world DRAM, record and map the range (its shape
    /// is checked already); the handle.
    fn shm_register(&mut self, args: ShmRegisterArgs) -> Result<ShmHandle, Status>;
    /// SHM_UNREGISTER: unmap and forget the registration `handle`.
    fn shm_unregister(&mut self, handle: ShmHandle) -> Result<(), Status>;
    /// SESSION_OPEN, SESSION_CLOSE, LOAD, UNLOAD, STATS, RUN, RESUME, CANCEL: the session
    /// calls, with their arguments decoded (shape checked) from the registers.
    fn session_call(&mut self, call: SessionCall) -> Answer;
    /// TEST_FAULT: injects the fault. On the target it does not return; a fake may.
    fn test_fault(&mut self, kind: FaultKind);
    /// TEST_FP: `[a*b, a+b, a/b]` computed with the FP/SIMD unit.
    fn test_fp(&mut self, a: u64, b: u64) -> [u64; 3];
    /// TEST_SHM: hash `len` bytes at `offset` of registration `handle`, then invert them.
    fn test_shm(&mut self, handle: ShmHandle, offset: u64, len: u64) -> Result<u64, Status>;
    /// TEST_RUN: load and run the AOT file at `offset`/`len` of registration `handle`.
    fn test_run(&mut self, handle: ShmHandle, offset: u64, len: u64) -> Regs4;
    /// TEST_EL0: runs `program` at S-EL0; the reply registers.
    fn test_el0(&mut self, program: El0Program, a: u64, b: u64) -> Regs4;
    /// TEST_MEASURE: the payload's integrity hash or its addresses (`x1..x3`).
    fn test_measure(&mut self, selector: MeasureSelector) -> [u64; 3];
    /// TEST_ALLOC_FAIL: arm (N > 0) or disarm (0) the pool's allocation failure; `x1..x3`.
    fn test_alloc_fail(&mut self, n: u64) -> [u64; 3];
    /// GET_INFO MEASUREMENT: the firmware measurement boot recorded (zeros before).
    fn measurement(&self) -> [u8; 32] {
        crate::identity::measurement()
    }
    /// Whether a device identity is installed (feature ATTESTATION).
    fn attestation(&self) -> bool {
        crate::identity::get().is_some()
    }
}

fn refuse(s: Status) -> Answer {
    Err(Refusal::from(s))
}

fn success([x1, x2, x3]: [u64; 3]) -> Answer {
    Ok([Status::Success.to_raw(), x1, x2, x3])
}

/// Features this build has.
pub fn features(test_hooks: bool, attestation: bool) -> Features {
    let mut base =
        Features::FP_SIMD | Features::SHARED_MEMORY | Features::MODULES | Features::OUTPUT_RING;
    if attestation {
        base = base | Features::ATTESTATION;
    }
    if test_hooks {
        base | Features::TEST_CALLS
    } else {
        base
    }
}

fn get_info(svc: &impl Services, selector: u64, offset: u64) -> Answer {
    let Some(selector) = InfoSelector::from_raw(selector) else {
        return refuse(Status::InvalidParameter);
    };
    let regs = match selector {
        InfoSelector::Versions => VersionInfo {
            protocol: PROTOCOL_VERSION,
            firmware: FIRMWARE_VERSION,
            selector_count: ALL_SELECTORS.len() as u64,
        }
        .to_regs(),
        InfoSelector::Pool => {
            let p = svc.pool_stats();
            PoolInfo {
                size: p.size as u64,
                used: p.used as u64,
                high_water: p.high_water as u64,
            }
            .to_regs()
        }
        InfoSelector::Cpus => {
            let mask = svc.cpus_seen();
            CpuInfo {
                seen_count: u64::from(mask.count_ones()),
                seen_mask: mask,
                max_cpus: svc.max_cpus(),
            }
            .to_regs()
        }
        InfoSelector::Features => [features(svc.test_hooks(), svc.attestation()).bits(), 0, 0],
        InfoSelector::Measurement => {
            match tzwasm_smc::info::measurement_chunk(&svc.measurement(), offset) {
                Some(chunk) => tzwasm_smc::info::failure_chunk_to_regs(&chunk),
                None => return refuse(Status::InvalidParameter),
            }
        }
        InfoSelector::Failure => match svc.fail_record().chunk(offset) {
            Some(chunk) => tzwasm_smc::info::failure_chunk_to_regs(&chunk),
            None => return refuse(Status::InvalidParameter),
        },
    };
    success(regs)
}

/// True for the calls still answered normally after a failure: the standard queries and the
/// GET_INFO pages that only read constants or the failure record (`x1` = the selector).
pub fn answered_when_failed(call: Call, x1: u64) -> bool {
    match call {
        Call::CallCount | Call::CallUid | Call::Revision => true,
        Call::GetInfo => matches!(
            InfoSelector::from_raw(x1),
            Some(
                InfoSelector::Versions
                    | InfoSelector::Features
                    | InfoSelector::Failure
                    | InfoSelector::Measurement
            )
        ),
        _ => false,
    }
}

/// Handles one call: `x[0]` is the function id, `x[1..8]` the arguments. Returns what the
/// normal world receives in x0..x3: the [`Answer`] of [`serve`], folded once.
pub fn dispatch(svc: &mut impl Services, x: &Regs8) -> Regs4 {
    fold(serve(svc, x))
}

/// Decodes one call (function id, then its arguments, once, into typed values or a refusal)
/// and serves it.
pub fn serve(svc: &mut impl Services, x: &Regs8) -> Answer {
    // Decoding reads only `x0`; the failure check comes before anything that can block.
    let decoded = FunctionId::from_x0(x[0]).decode();
    if svc.fail_record().has_failed() && !decoded.is_ok_and(|c| answered_when_failed(c, x[1])) {
        return refuse(Status::Failed);
    }
    let call = match decoded {
        Ok(call) => call,
        Err(e) => return refuse(e.status()),
    };
    if !call.is_served(svc.test_hooks()) {
        return refuse(Status::NotSupported);
    }
    match call {
        Call::CallCount => Ok([u64::from(Call::served_count(svc.test_hooks())), 0, 0, 0]),
        Call::CallUid => Ok(TZWASM_UID.to_regs()),
        Call::Revision => Ok([
            u64::from(PROTOCOL_VERSION.major),
            u64::from(PROTOCOL_VERSION.minor),
            0,
            0,
        ]),
        Call::GetInfo => get_info(svc, x[1], x[2]),
        Call::Null => success([0; 3]),
        Call::Echo => success(echo_reply([x[1], x[2], x[3], x[4], x[5], x[6], x[7]])),
        Call::ShmRegister | Call::ShmUnregister => match ShmCall::from_regs(call, x)? {
            ShmCall::Register(args) => success([svc.shm_register(args)?.raw(), 0, 0]),
            ShmCall::Unregister(handle) => {
                svc.shm_unregister(handle)?;
                success([0; 3])
            }
        },
        Call::SessionOpen
        | Call::SessionClose
        | Call::Load
        | Call::Unload
        | Call::Stats
        | Call::Run
        | Call::Resume
        | Call::Cancel
        | Call::Attest
        | Call::Receipt => svc.session_call(SessionCall::from_regs(call, x)?),
        Call::TestFault => match FaultKind::from_raw(x[1]) {
            Some(kind) => {
                svc.test_fault(kind);
                // Only a fake returns; on the target the fault fails the secure world and the
                // crash path answers this call FAILED itself (boot.rs).
                refuse(Status::Internal)
            }
            None => refuse(Status::InvalidParameter),
        },
        Call::TestFp => success(svc.test_fp(x[1], x[2])),
        Call::TestShm => success([svc.test_shm(ShmHandle::from_raw(x[1]), x[2], x[3])?, 0, 0]),
        Call::TestRun => Ok(svc.test_run(ShmHandle::from_raw(x[1]), x[2], x[3])),
        Call::TestEl0 => match El0Program::from_raw(x[1]) {
            Some(program) => Ok(svc.test_el0(program, x[2], x[3])),
            None => refuse(Status::InvalidParameter),
        },
        Call::TestMeasure => match MeasureSelector::from_raw(x[1]) {
            Some(selector) => success(svc.test_measure(selector)),
            None => refuse(Status::InvalidParameter),
        },
        Call::TestAllocFail => success(svc.test_alloc_fail(x[1])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tzwasm_smc::call::{ids, test_fp_reply};

    struct Fake {
        failure: FailRecord,
        hooks: bool,
        faults: Vec<FaultKind>,
        el0: Vec<El0Program>,
        shm: Vec<(ShmHandle, crate::shm::ShmRange)>,
        next_handle: u64,
        sessions: Vec<SessionCall>,
    }

    impl Services for Fake {
        fn fail_record(&self) -> &FailRecord {
            &self.failure
        }
        fn test_hooks(&self) -> bool {
            self.hooks
        }
        fn pool_stats(&self) -> PoolStats {
            PoolStats {
                size: 1 << 20,
                used: 100,
                high_water: 200,
            }
        }
        fn cpus_seen(&self) -> u64 {
            0b11
        }
        fn max_cpus(&self) -> u64 {
            8
        }
        fn test_fault(&mut self, kind: FaultKind) {
            self.faults.push(kind);
        }
        fn shm_register(&mut self, args: ShmRegisterArgs) -> Result<ShmHandle, Status> {
            let dram = crate::ns_memory::NsDram::from_banks(
                [(0x4000_0000, 0x4000_0000)],
                0x0e00_0000..0x0f00_0000,
                |_| {},
            );
            let r = crate::shm::accept_range(args, &dram)?;
            if self.shm.iter().any(|(_, o)| o.overlaps(r)) {
                return Err(Status::Overlap);
            }
            self.next_handle += 1;
            let h = ShmHandle::from_raw(self.next_handle);
            self.shm.push((h, r));
            Ok(h)
        }
        fn shm_unregister(&mut self, handle: ShmHandle) -> Result<(), Status> {
            let i = self
                .shm
                .iter()
                .position(|(h, _)| *h == handle)
                .ok_or(Status::NoSuchHandle)?;
            self.shm.remove(i);
            Ok(())
        }
        fn session_call(&mut self, call: SessionCall) -> Answer {
            self.sessions.push(call);
            success([0; 3])
        }
        fn test_fp(&mut self, a: u64, b: u64) -> [u64; 3] {
            test_fp_reply(a, b)
        }
        fn test_shm(&mut self, handle: ShmHandle, offset: u64, len: u64) -> Result<u64, Status> {
            let r = self
                .shm
                .iter()
                .find(|(h, _)| *h == handle)
                .map(|(_, r)| *r)
                .ok_or(Status::NoSuchHandle)?;
            match offset.checked_add(len) {
                Some(end) if end <= r.size => Ok(len),
                _ => Err(Status::BadAddress),
            }
        }
        fn test_run(&mut self, _handle: ShmHandle, _offset: u64, _len: u64) -> Regs4 {
            fold(refuse(Status::BadModule))
        }
        fn test_el0(&mut self, program: El0Program, a: u64, b: u64) -> Regs4 {
            self.el0.push(program);
            fold(success([a.wrapping_add(b), 0, 0]))
        }
        fn test_measure(&mut self, selector: MeasureSelector) -> [u64; 3] {
            [selector.to_raw(), 0, 0]
        }
        fn test_alloc_fail(&mut self, n: u64) -> [u64; 3] {
            [n, 0, 0]
        }

        fn measurement(&self) -> [u8; 32] {
            core::array::from_fn(|i| i as u8 + 1)
        }
    }

    fn fake(hooks: bool) -> Fake {
        Fake {
            failure: FailRecord::new(),
            hooks,
            faults: Vec::new(),
            el0: Vec::new(),
            shm: Vec::new(),
            next_handle: 1,
            sessions: Vec::new(),
        }
    }

    fn call(svc: &mut Fake, id: FunctionId, args: &[u64]) -> Regs4 {
        let mut x = [0u64; 8];
        x[0] = id.to_x0();
        x[1..=args.len()].copy_from_slice(args);
        dispatch(svc, &x)
    }

    const NOT_SUPPORTED: u64 = u64::MAX;

    #[test]
    fn standard_trusted_os_queries() {
        let mut svc = fake(false);
        let r = call(&mut svc, ids::CALL_UID, &[]);
        assert_eq!(r, TZWASM_UID.to_regs());
        let r = call(&mut svc, ids::REVISION, &[]);
        assert_eq!(r[0], u64::from(PROTOCOL_VERSION.major));
        assert_eq!(r[1], u64::from(PROTOCOL_VERSION.minor));
        let plain = call(&mut svc, ids::CALL_COUNT, &[])[0];
        let mut test = fake(true);
        let with_hooks = call(&mut test, ids::CALL_COUNT, &[])[0];
        assert_eq!(with_hooks, plain + 7, "the seven TEST_* calls are counted");
    }

    #[test]
    fn get_info_pages() {
        let mut svc = fake(true);
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::Versions.to_raw()]);
        assert_eq!(r[0], 0);
        let v = VersionInfo::from_regs([r[1], r[2], r[3]]).unwrap();
        assert_eq!(v.protocol, PROTOCOL_VERSION);
        assert_eq!(v.firmware, FIRMWARE_VERSION);
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::Pool.to_raw()]);
        assert_eq!(&r[1..], &[1 << 20, 100, 200]);
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::Cpus.to_raw()]);
        assert_eq!(&r[1..], &[2, 0b11, 8]);
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::Features.to_raw()]);
        assert!(Features(r[1]).contains(Features::TEST_CALLS));
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::COUNT]);
        assert_eq!(r[0], Status::InvalidParameter.to_raw());
        let r = call(&mut svc, ids::GET_INFO, &[u64::MAX]);
        assert_eq!(r[0], Status::InvalidParameter.to_raw());
    }

    #[test]
    fn test_calls_only_in_test_builds() {
        let mut prod = fake(false);
        assert_eq!(call(&mut prod, ids::TEST_FAULT, &[0])[0], NOT_SUPPORTED);
        assert_eq!(call(&mut prod, ids::TEST_FP, &[1, 2])[0], NOT_SUPPORTED);
        assert!(prod.faults.is_empty());
        let r = call(&mut prod, ids::GET_INFO, &[InfoSelector::Features.to_raw()]);
        assert!(!Features(r[1]).contains(Features::TEST_CALLS));

        assert_eq!(call(&mut prod, ids::TEST_EL0, &[0, 1, 2])[0], NOT_SUPPORTED);
        assert!(prod.el0.is_empty());
        assert_eq!(call(&mut prod, ids::TEST_MEASURE, &[0])[0], NOT_SUPPORTED);

        let mut test = fake(true);
        assert_eq!(call(&mut test, ids::TEST_EL0, &[0, 1, 2]), [0, 3, 0, 0]);
        assert_eq!(test.el0, vec![El0Program::Add]);
        assert_eq!(call(&mut test, ids::TEST_MEASURE, &[1]), [0, 1, 0, 0]);
        let r = call(&mut test, ids::TEST_MEASURE, &[3]);
        assert_eq!(r[0], Status::InvalidParameter.to_raw());
        let r = call(&mut test, ids::TEST_EL0, &[9, 1, 2]);
        assert_eq!(r[0], Status::InvalidParameter.to_raw());
        call(&mut test, ids::TEST_FAULT, &[2]);
        assert_eq!(test.faults, vec![FaultKind::StackGuardOverflow]);
        let r = call(&mut test, ids::TEST_FAULT, &[99]);
        assert_eq!(r[0], Status::InvalidParameter.to_raw());
        let (a, b) = (1.5f64.to_bits(), 0.25f64.to_bits());
        let r = call(&mut test, ids::TEST_FP, &[a, b]);
        assert_eq!(
            &r[1..],
            &[0.375f64.to_bits(), 1.75f64.to_bits(), 6.0f64.to_bits()]
        );
    }

    #[test]
    fn null_and_echo() {
        let mut svc = fake(false);
        assert_eq!(call(&mut svc, ids::NULL, &[1, 2, 3]), [0; 4]);
        let args = [1, 2, 3, 4, 5, 6, 7];
        let r = call(&mut svc, ids::ECHO, &args);
        assert_eq!(r[0], 0);
        assert_eq!(&r[1..], &echo_reply(args));
    }

    #[test]
    fn unknown_and_malformed_ids_are_not_supported() {
        let mut svc = fake(true);
        for raw in [
            0xb200_7777u64, // fast SMC64, OEN 50, unknown number
            0x3200_7777,    // yielding, OEN 50, unknown number
            0xb300_0000,    // OEN 51: unused
            0x8400_0000,    // PSCI_VERSION: not ours
            0xb2ff_0000,    // reserved bits set
        ] {
            let r = dispatch(&mut svc, &[raw, 0, 0, 0, 0, 0, 0, 0]);
            assert_eq!(r[0], NOT_SUPPORTED, "id {raw:#x}");
        }
        // Reserved (issue 4) calls are not served yet.
        assert_eq!(
            call(&mut svc, FunctionId(0x7200_01ff), &[])[0],
            NOT_SUPPORTED
        );
        // Wrong call type for a known number.
        let yielding_null = FunctionId(ids::NULL.raw() & !(1 << 31));
        assert_eq!(call(&mut svc, yielding_null, &[])[0], NOT_SUPPORTED);
    }

    #[test]
    fn shared_memory_register_and_unregister() {
        let mut svc = fake(false);
        let r = call(&mut svc, ids::SHM_REGISTER, &[0x5000_0000, 0x2000]);
        assert_eq!(r[0], 0);
        let handle = r[1];
        assert_ne!(handle, 0);
        let r = call(&mut svc, ids::SHM_REGISTER, &[0x5000_1000, 0x1000]);
        assert_eq!(r[0], Status::Overlap.to_raw());
        let r = call(&mut svc, ids::SHM_REGISTER, &[0x0e10_0000, 0x1000]);
        assert_eq!(r[0], Status::BadAddress.to_raw());
        assert_eq!(call(&mut svc, ids::SHM_UNREGISTER, &[handle]), [0; 4]);
        let r = call(&mut svc, ids::SHM_UNREGISTER, &[handle]);
        assert_eq!(r[0], Status::NoSuchHandle.to_raw());
    }

    #[test]
    fn session_calls_reach_the_platform_decoded() {
        use tzwasm_smc::args::{
            LoadArgs, OpenArgs, RunArgs, SessionHandle, ShmOffset, ShmSpan, StatsArgs,
        };
        let mut svc = fake(false);
        let s = SessionHandle::from_raw(7);
        let h = ShmHandle::from_raw(9);
        let span = |o, n| ShmSpan::new(o, n).unwrap();
        let calls = [
            SessionCall::Open(OpenArgs::new(1 << 20).unwrap()),
            SessionCall::Close(s),
            SessionCall::Load(LoadArgs::new(s, h, span(0, 10), ShmOffset::new(64)).unwrap()),
            SessionCall::Unload(s),
            SessionCall::Stats(StatsArgs {
                session: s,
                page: 2,
            }),
            SessionCall::Run(
                RunArgs::new(s, h, span(0, 16), span(0x1000, 0x100), ShmOffset::new(64)).unwrap(),
            ),
            SessionCall::Resume(s),
            SessionCall::Cancel(s),
        ];
        for c in calls {
            assert_eq!(dispatch(&mut svc, &c.to_regs())[0], 0);
            assert_eq!(svc.sessions.last(), Some(&c));
        }
    }

    #[test]
    fn malformed_session_arguments_never_reach_the_platform() {
        let mut svc = fake(false);
        let ring_off = 0x1000;
        for (id, args, want) in [
            (
                ids::SESSION_OPEN,
                [7, 0, 0, 0, 0, 0, 0],
                Status::QuotaTooSmall,
            ),
            (ids::LOAD, [7, 9, 0, 0, 64, 0, 0], Status::BadAddress),
            (ids::LOAD, [7, 9, 0, 10, 65, 0, 0], Status::BadAddress),
            (ids::LOAD, [7, 9, u64::MAX, 2, 64, 0, 0], Status::BadAddress),
            (ids::RUN, [7, 9, 0, 0, ring_off, 64, 0], Status::BadAddress),
            (
                ids::RUN,
                [7, 9, 0, 16, ring_off + 1, 64, 0],
                Status::BadAddress,
            ),
            (
                ids::RUN,
                [7, 9, 0, 16, ring_off, 64, ring_off],
                Status::InvalidParameter,
            ),
            (
                ids::SHM_REGISTER,
                [0x5000_0001, 0x1000, 0, 0, 0, 0, 0],
                Status::BadAddress,
            ),
        ] {
            let r = call(&mut svc, id, &args);
            let expected_x1 = if want == Status::QuotaTooSmall {
                tzwasm_smc::session::SESSION_MIN_QUOTA
            } else {
                0
            };
            assert_eq!(r, [want.to_raw(), expected_x1, 0, 0], "{id:?} {args:x?}");
        }
        assert!(svc.sessions.is_empty() && svc.shm.is_empty());
    }

    #[test]
    fn firmware_version_matches_the_crate() {
        let v = FIRMWARE_VERSION;
        assert_eq!(
            format!("{}.{}.{}", v.major, v.minor, v.patch),
            env!("CARGO_PKG_VERSION")
        );
    }

    /// Every call id the protocol defines, plus reserved, unknown and malformed ones.
    fn every_id() -> Vec<u64> {
        let mut v: Vec<u64> = tzwasm_smc::call::ALL_CALLS
            .iter()
            .map(|c| c.id().to_x0())
            .collect();
        v.extend(
            tzwasm_smc::call::ALL_RESERVED
                .iter()
                .map(|c| c.id().to_x0()),
        );
        v.extend([
            0xb200_7777,
            0x3200_7777,
            0xb300_0000,
            0x8400_0000,
            0xb2ff_0000,
            0,
        ]);
        v
    }

    fn fail(svc: &mut Fake, text: &str) {
        use core::fmt::Write;
        let mut w = svc.failure.claim().unwrap();
        w.write_str(text).unwrap();
    }

    const FAILED: u64 = Status::Failed.to_raw();

    #[test]
    fn measurement_pages_before_and_after_a_failure() {
        let mut svc = fake(false);
        for failed in [false, true] {
            if failed {
                fail(&mut svc, "boom");
            }
            let sel = InfoSelector::Measurement.to_raw();
            let a = call(&mut svc, ids::GET_INFO, &[sel, 0]);
            let b = call(&mut svc, ids::GET_INFO, &[sel, 24]);
            assert_eq!(a[0], Status::Success.to_raw());
            assert_eq!(b[0], Status::Success.to_raw());
            let m = tzwasm_smc::Measurement::from_chunks([a[1], a[2], a[3]], [b[1], b[2], b[3]]);
            assert_eq!(m.0, core::array::from_fn(|i| i as u8 + 1));
            assert_eq!(b[2], 0);
            for off in [32, 48, u64::MAX] {
                let r = call(&mut svc, ids::GET_INFO, &[sel, off]);
                assert_eq!(r[0], Status::InvalidParameter.to_raw());
            }
        }
        // Without an installed identity the feature bit is clear.
        let r = call(
            &mut fake(false),
            ids::GET_INFO,
            &[InfoSelector::Features.to_raw()],
        );
        assert!(!Features(r[1]).contains(Features::ATTESTATION));
        assert!(features(false, true).contains(Features::ATTESTATION));
    }

    #[test]
    fn once_failed_every_call_answers_failed() {
        let mut svc = fake(true);
        fail(&mut svc, "panic on CPU 1 at x.rs:1: boom");
        for id in every_id() {
            for x1 in [0, 1, 7, u64::MAX] {
                let x = [id, x1, 0x5000_0000, 0x1000, 4, 5, 6, 7];
                let r = dispatch(&mut svc, &x);
                let expected = match FunctionId::from_x0(id).decode() {
                    Ok(c) => answered_when_failed(c, x1),
                    Err(_) => false,
                };
                if expected {
                    assert_ne!(r[0], FAILED, "{id:#x} x1 {x1} identifies the world");
                } else {
                    assert_eq!(r, [FAILED, 0, 0, 0], "id {id:#x}, x1 {x1}");
                }
            }
        }
        // Nothing reached the platform.
        assert!(svc.faults.is_empty() && svc.el0.is_empty() && svc.sessions.is_empty());
        assert!(svc.shm.get(1).is_none());
    }

    #[test]
    fn a_failed_world_still_identifies_itself_and_gives_its_message() {
        let mut svc = fake(false);
        let text = "CPU 1: synchronous exception in S-EL1: EC 0x00 (unknown reason / undefined \
                    instruction), ELR 0xe102000";
        fail(&mut svc, text);
        assert_eq!(call(&mut svc, ids::CALL_UID, &[]), TZWASM_UID.to_regs());
        assert_eq!(
            call(&mut svc, ids::REVISION, &[])[0],
            u64::from(PROTOCOL_VERSION.major)
        );
        let r = call(&mut svc, ids::CALL_COUNT, &[]);
        assert_eq!(r[0], u64::from(Call::served_count(false)));
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::Versions.to_raw()]);
        assert_eq!(r[0], 0);
        let r = call(&mut svc, ids::GET_INFO, &[InfoSelector::Features.to_raw()]);
        assert_eq!(r[0], 0);
        for sel in [InfoSelector::Pool, InfoSelector::Cpus] {
            assert_eq!(call(&mut svc, ids::GET_INFO, &[sel.to_raw()])[0], FAILED);
        }
        // The message through the selector, as Client::failure_message reads it.
        let mut msg = tzwasm_smc::FailureMessage::empty();
        for off in (0..tzwasm_smc::info::FAILURE_MESSAGE_MAX).step_by(24) {
            let r = call(
                &mut svc,
                ids::GET_INFO,
                &[InfoSelector::Failure.to_raw(), off as u64],
            );
            assert_eq!(r[0], 0);
            let chunk = tzwasm_smc::info::failure_chunk_from_regs([r[1], r[2], r[3]]);
            if !msg.push_chunk(&chunk) {
                break;
            }
        }
        assert_eq!(msg.as_bytes(), text.as_bytes());
        let r = call(
            &mut svc,
            ids::GET_INFO,
            &[InfoSelector::Failure.to_raw(), 192],
        );
        assert_eq!(r[0], Status::InvalidParameter.to_raw());
    }

    #[test]
    fn failure_page_is_empty_before_a_failure() {
        let mut svc = fake(false);
        let r = call(
            &mut svc,
            ids::GET_INFO,
            &[InfoSelector::Failure.to_raw(), 0],
        );
        assert_eq!(r, [0; 4]);
        assert_eq!(call(&mut svc, ids::NULL, &[])[0], 0);
    }
}
