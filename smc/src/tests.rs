//! Host unit tests: function-id encoding and decoding, status conversions, GET_INFO pages,
//! the UID words, and the client wrappers against a fake secure world.

use crate::call::{
    echo_reply, ids, test_fp_reply, ALL_CALLS, ALL_FAULT_KINDS, ALL_RESERVED, RESERVED_RANGE_END,
    RESERVED_RANGE_START, TEST_RANGE_START,
};
use crate::function_id::{OEN_TRUSTED_OS, OEN_TRUSTED_OS_END, SVE_HINT_BIT};
use crate::info::{
    failure_chunk_from_regs, failure_chunk_to_regs, ALL_SELECTORS, FAILURE_CHUNK,
    FAILURE_MESSAGE_MAX,
};
use crate::status::ALL_STATUSES;
use crate::*;

// ---------------------------------------------------------------------------------------------
// Function ids

#[test]
fn standard_query_ids_match_smccc() {
    assert_eq!(ids::CALL_COUNT.raw(), 0xBF00_FF00);
    assert_eq!(ids::CALL_UID.raw(), 0xBF00_FF01);
    assert_eq!(ids::REVISION.raw(), 0xBF00_FF03);
    for id in [ids::CALL_COUNT, ids::CALL_UID, ids::REVISION] {
        assert_eq!(id.call_type(), CallType::Fast);
        assert_eq!(id.conv(), CallConv::Smc32);
        assert_eq!(id.oen(), 63);
    }
}

#[test]
fn tzwasm_ids_have_documented_values() {
    let expected = [
        (ids::GET_INFO, 0xF200_0000),
        (ids::NULL, 0xF200_0001),
        (ids::ECHO, 0x7200_0002),
        (ids::SHM_REGISTER, 0x7200_0100),
        (ids::SHM_UNREGISTER, 0x7200_0101),
        (ids::SESSION_OPEN, 0x7200_0102),
        (ids::SESSION_CLOSE, 0x7200_0103),
        (ids::LOAD, 0x7200_0104),
        (ids::RUN, 0x7200_0105),
        (ids::RESUME, 0x7200_0106),
        (ids::CANCEL, 0x7200_0107),
        (ids::UNLOAD, 0x7200_0108),
        (ids::STATS, 0xF200_0109),
        (ids::TEST_FAULT, 0xF200_FF00),
        (ids::TEST_EL0, 0xF200_FF02),
        (ids::TEST_SHM, 0xF200_FF03),
        (ids::TEST_RUN, 0x7200_FF04),
        (ids::TEST_MEASURE, 0xF200_FF05),
        (ids::TEST_ALLOC_FAIL, 0xF200_FF06),
        (ids::TEST_FP, 0xF200_FF01),
    ];
    for (id, raw) in expected {
        assert_eq!(id.raw(), raw, "{id:?}");
        assert_eq!(id.oen(), OEN_TRUSTED_OS);
        assert_eq!(id.conv(), CallConv::Smc64, "{id:?}");
    }
}

#[test]
fn fields_round_trip_through_new() {
    for call_type in [CallType::Fast, CallType::Yielding] {
        for conv in [CallConv::Smc32, CallConv::Smc64] {
            for oen in 0..64u8 {
                for number in [0u16, 1, 0x00ff, 0x0100, 0x7fff, 0xff00, 0xffff] {
                    let id = FunctionId::new(call_type, conv, oen, number);
                    assert_eq!(id.call_type(), call_type);
                    assert_eq!(id.conv(), conv);
                    assert_eq!(id.oen(), oen);
                    assert_eq!(id.number(), number);
                    assert_eq!(id.reserved_bits(), 0);
                    assert!(!id.sve_hint());
                }
            }
        }
    }
}

#[test]
fn type_and_convention_bits_are_bits_31_and_30() {
    assert_eq!(FunctionId(0x8000_0000).call_type(), CallType::Fast);
    assert_eq!(FunctionId(0x7fff_ffff).call_type(), CallType::Yielding);
    assert_eq!(FunctionId(0x4000_0000).conv(), CallConv::Smc64);
    assert_eq!(FunctionId(0xbfff_ffff).conv(), CallConv::Smc32);
    assert_eq!(FunctionId(0x3f00_0000).oen(), 63);
    assert_eq!(FunctionId(0x3200_0000).oen(), 50);
}

#[test]
fn from_x0_ignores_the_upper_half() {
    let id = FunctionId::from_x0(0xdead_beef_0000_0000 | u64::from(ids::NULL.raw()));
    assert_eq!(id, ids::NULL);
    assert_eq!(id.decode(), Ok(Call::Null));
    assert_eq!(ids::NULL.to_x0(), 0xF200_0001);
}

#[test]
fn every_call_round_trips() {
    for call in ALL_CALLS {
        assert_eq!(call.id().decode(), Ok(call), "{call}");
        assert_eq!(FunctionId::from_x0(call.id().to_x0()).decode(), Ok(call));
        assert_eq!(Call::try_from(call.id()), Ok(call));
    }
}

#[test]
fn every_reserved_call_is_not_yet_served() {
    for call in ALL_RESERVED {
        let id = call.id();
        assert_eq!(id.decode(), Err(DecodeError::NotYetServed(call)));
        assert!((RESERVED_RANGE_START..=RESERVED_RANGE_END).contains(&id.number()));
        assert_eq!(id.oen(), OEN_TRUSTED_OS);
    }
}

#[test]
fn ids_are_unique_and_names_are_unique() {
    let mut all: Vec<(u32, &str)> = ALL_CALLS.iter().map(|c| (c.id().raw(), c.name())).collect();
    all.extend(ALL_RESERVED.iter().map(|c| (c.id().raw(), c.name())));
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a.0, b.0, "{} and {} share an id", a.1, b.1);
            // A function number has one call type and one convention, within an OEN.
            assert!(
                (a.0 & 0x3f00_ffff) != (b.0 & 0x3f00_ffff),
                "{} and {} share OEN and number",
                a.1,
                b.1
            );
            assert_ne!(a.1, b.1);
        }
    }
}

#[test]
fn test_only_calls_are_in_the_test_range() {
    for call in ALL_CALLS {
        let in_test_range =
            call.id().oen() == OEN_TRUSTED_OS && call.id().number() >= TEST_RANGE_START;
        assert_eq!(call.is_test_only(), in_test_range, "{call}");
        assert!(call.is_served(true));
        assert_eq!(call.is_served(false), !call.is_test_only());
    }
    assert_eq!(Call::served_count(true), ALL_CALLS.len() as u32);
    assert_eq!(Call::served_count(false), ALL_CALLS.len() as u32 - 7);
}

#[test]
fn flipping_the_call_type_is_rejected() {
    for call in ALL_CALLS {
        let flipped = FunctionId(call.id().raw() ^ crate::function_id::FAST_BIT);
        assert_eq!(
            flipped.decode(),
            Err(DecodeError::WrongCallType {
                expected: call.id().call_type()
            }),
            "{call}"
        );
    }
}

#[test]
fn flipping_the_convention_is_rejected() {
    for call in ALL_CALLS {
        let flipped = FunctionId(call.id().raw() ^ crate::function_id::SMC64_BIT);
        assert_eq!(
            flipped.decode(),
            Err(DecodeError::WrongConvention {
                expected: call.id().conv()
            }),
            "{call}"
        );
    }
}

#[test]
fn reserved_bits_are_rejected() {
    for call in ALL_CALLS {
        for bit in 17..24 {
            let id = FunctionId(call.id().raw() | 1 << bit);
            assert_eq!(
                id.decode(),
                Err(DecodeError::ReservedBitsSet),
                "{call} bit {bit}"
            );
        }
    }
    // Also for numbers nobody uses: the bits are checked before the number.
    assert_eq!(
        FunctionId(0xF280_1234).decode(),
        Err(DecodeError::ReservedBitsSet)
    );
}

#[test]
fn sve_hint_is_ignored_on_fast_calls_only() {
    for call in ALL_CALLS {
        let id = FunctionId(call.id().raw() | SVE_HINT_BIT);
        assert!(id.sve_hint());
        match call.id().call_type() {
            CallType::Fast => assert_eq!(id.decode(), Ok(call), "{call}"),
            CallType::Yielding => {
                assert_eq!(id.decode(), Err(DecodeError::ReservedBitsSet), "{call}")
            }
        }
    }
}

#[test]
fn unknown_ids_are_not_supported() {
    let unknown = [
        FunctionId(0xF200_0003),     // unassigned base number
        FunctionId(0xF200_00FF),     // end of the base range
        FunctionId(0x7200_01FF),     // unassigned in the reserved range
        FunctionId(0xF200_FFFF),     // unassigned test number
        FunctionId(0xBF00_FF02),     // OEN 63 number SMCCC leaves unused
        FunctionId(0xBF00_0000),     // OEN 63, not a query
        FunctionId(0xB200_0000 - 1), // just below OEN 50 fast SMC32
    ];
    for id in unknown {
        let err = id.decode().unwrap_err();
        assert_eq!(err.status(), Status::NotSupported, "{id}");
    }
    assert_eq!(FunctionId(0xF200_0003).decode(), Err(DecodeError::Unknown));
    assert_eq!(FunctionId(0xBF00_FF02).decode(), Err(DecodeError::Unknown));
}

#[test]
fn other_oens_are_rejected_with_their_reason() {
    for oen in 0..64u8 {
        let id = FunctionId::new(CallType::Fast, CallConv::Smc64, oen, 0);
        let result = id.decode();
        match oen {
            OEN_TRUSTED_OS => assert_eq!(result, Ok(Call::GetInfo)),
            OEN_TRUSTED_OS_END => assert_eq!(result, Err(DecodeError::Unknown)),
            51..=62 => assert_eq!(result, Err(DecodeError::UnusedOen { oen })),
            _ => assert_eq!(result, Err(DecodeError::NotTrustedOs { oen })),
        }
    }
}

#[test]
fn exhaustive_scan_of_our_oens_finds_exactly_the_defined_calls() {
    let mut found = Vec::new();
    let mut reserved = 0;
    for oen in [OEN_TRUSTED_OS, OEN_TRUSTED_OS_END] {
        for high in 0..4u32 {
            for number in 0..=0xffffu32 {
                let raw = high << 30 | u32::from(oen) << 24 | number;
                match FunctionId(raw).decode() {
                    Ok(call) => found.push(call),
                    Err(DecodeError::NotYetServed(_)) => reserved += 1,
                    Err(err) => assert_eq!(err.status(), Status::NotSupported),
                }
            }
        }
    }
    assert_eq!(found.len(), ALL_CALLS.len());
    for call in ALL_CALLS {
        assert!(found.contains(&call));
    }
    assert_eq!(reserved, ALL_RESERVED.len());
}

#[test]
fn decode_errors_have_readable_messages() {
    let errs = [
        DecodeError::NotTrustedOs { oen: 4 },
        DecodeError::UnusedOen { oen: 51 },
        DecodeError::ReservedBitsSet,
        DecodeError::WrongCallType {
            expected: CallType::Fast,
        },
        DecodeError::WrongConvention {
            expected: CallConv::Smc64,
        },
        DecodeError::Unknown,
    ];
    for err in errs {
        assert!(!err.description().is_empty());
        assert_eq!(err.status(), Status::NotSupported);
    }

    assert_eq!(
        DecodeError::UnusedOen { oen: 51 }.to_string(),
        "OEN in the Trusted OS range not used by tzwasm (OEN 51)"
    );
}

// ---------------------------------------------------------------------------------------------
// Status

#[test]
fn smccc_statuses_have_their_register_values() {
    assert_eq!(Status::Success.to_raw(), 0);
    assert_eq!(Status::NotSupported.to_raw(), 0xFFFF_FFFF_FFFF_FFFF);
    assert_eq!(Status::NotRequired.to_raw(), 0xFFFF_FFFF_FFFF_FFFE);
    assert_eq!(Status::InvalidParameter.to_raw(), 0xFFFF_FFFF_FFFF_FFFD);
    assert_eq!(Status::from_raw(u64::MAX), Some(Status::NotSupported));
    assert_eq!(Status::from_w0(0xFFFF_FFFF), Some(Status::NotSupported));
    assert_eq!(Status::from_w0(0xFFFF_FFFD), Some(Status::InvalidParameter));
    assert_eq!(Status::from_w0(0), Some(Status::Success));
}

/// Exhaustive match: adding a variant without listing it in `ALL_STATUSES` fails to compile
/// here or fails the length check below.
fn status_index(status: Status) -> usize {
    match status {
        Status::Success
        | Status::OutputPending
        | Status::Interrupted
        | Status::InputPending
        | Status::FileRequest
        | Status::NotSupported
        | Status::NotRequired
        | Status::InvalidParameter
        | Status::Busy
        | Status::OutOfMemory
        | Status::BadState
        | Status::BadAddress
        | Status::Overlap
        | Status::NoSuchHandle
        | Status::NoResources
        | Status::QuotaTooSmall
        | Status::QuotaTooLarge
        | Status::BadModule
        | Status::Trapped
        | Status::Cancelled
        | Status::Internal
        | Status::Failed => ALL_STATUSES.iter().position(|s| *s == status).unwrap(),
    }
}

#[test]
fn every_status_round_trips() {
    assert_eq!(ALL_STATUSES.len(), 22);
    for (i, status) in ALL_STATUSES.into_iter().enumerate() {
        assert_eq!(status_index(status), i);
        assert_eq!(Status::from_raw(status.to_raw()), Some(status));
        assert_eq!(Status::from_code(status.code()), Some(status));
        assert_eq!(Status::from_w0(status.to_raw() as u32), Some(status));
        assert_eq!(status.is_error(), status.code() < 0);
        assert!(!status.description().is_empty());
        let shown = status.to_string();
        assert!(shown.starts_with(status.name()), "{shown}");
    }
}

#[test]
fn status_codes_and_names_are_unique_and_tzwasm_codes_avoid_smccc_space() {
    for (i, a) in ALL_STATUSES.iter().enumerate() {
        for b in &ALL_STATUSES[i + 1..] {
            assert_ne!(a.code(), b.code());
            assert_ne!(a.name(), b.name());
            assert_ne!(a.description(), b.description());
        }
        assert!(
            (-3..=4).contains(&a.code()) || a.code() <= -256,
            "{a:?} collides with SMCCC's error space"
        );
    }
}

#[test]
fn unknown_status_values_are_rejected() {
    for raw in [
        5u64,
        255,
        (-4i64) as u64,
        (-255i64) as u64,
        (-270i64) as u64,
        i64::MIN as u64,
        1 << 32,
    ] {
        assert_eq!(Status::from_raw(raw), None, "{raw:#x}");
    }
    assert_eq!(
        Status::NotSupported.to_string(),
        "NOT_SUPPORTED (-1): function id not supported by this secure world"
    );
}

// ---------------------------------------------------------------------------------------------
// GET_INFO

#[test]
fn selectors_round_trip_and_out_of_range_is_rejected() {
    for (i, sel) in ALL_SELECTORS.into_iter().enumerate() {
        assert_eq!(sel.to_raw(), i as u64);
        assert_eq!(InfoSelector::from_raw(sel.to_raw()), Some(sel));
    }
    assert_eq!(InfoSelector::COUNT, 6);
    for raw in [6, 7, 0xff, u64::MAX, 1 << 32] {
        assert_eq!(InfoSelector::from_raw(raw), None);
    }
}

#[test]
fn versions_pack_and_unpack() {
    assert_eq!(PROTOCOL_VERSION.pack(), 0x1_0006);
    let p = ProtocolVersion {
        major: 0x1234,
        minor: 0xabcd,
    };
    assert_eq!(p.pack(), 0x1234_abcd);
    assert_eq!(ProtocolVersion::unpack(p.pack()), Some(p));
    assert_eq!(ProtocolVersion::unpack(1 << 32), None);

    let f = FirmwareVersion {
        major: 1,
        minor: 2,
        patch: 3,
    };
    assert_eq!(f.pack(), 0x0001_0002_0003);
    assert_eq!(FirmwareVersion::unpack(f.pack()), Some(f));
    assert_eq!(FirmwareVersion::unpack(1 << 48), None);
    assert_eq!(f.to_string(), "1.2.3");
    assert_eq!(p.to_string(), "4660.43981");

    let v10 = ProtocolVersion { major: 1, minor: 0 };
    let v11 = ProtocolVersion { major: 1, minor: 1 };
    let v20 = ProtocolVersion { major: 2, minor: 0 };
    assert!(v10.is_compatible_with(v11));
    assert!(!v11.is_compatible_with(v10));
    assert!(!v10.is_compatible_with(v20));
}

#[test]
fn info_pages_round_trip() {
    let v = VersionInfo {
        protocol: PROTOCOL_VERSION,
        firmware: FirmwareVersion {
            major: 0,
            minor: 1,
            patch: 0,
        },
        selector_count: InfoSelector::COUNT,
    };
    assert_eq!(VersionInfo::from_regs(v.to_regs()), Ok(v));
    let p = PoolInfo {
        size: 8 << 20,
        used: 4096,
        high_water: 8192,
    };
    assert_eq!(PoolInfo::from_regs(p.to_regs()), Ok(p));
    let c = CpuInfo {
        seen_count: 2,
        seen_mask: 0b101,
        max_cpus: 4,
    };
    assert_eq!(CpuInfo::from_regs(c.to_regs()), Ok(c));
    let all = CpuInfo {
        seen_count: 64,
        seen_mask: u64::MAX,
        max_cpus: 64,
    };
    assert_eq!(CpuInfo::from_regs(all.to_regs()), Ok(all));
    let f = FeaturesInfo {
        features: Features::TEST_CALLS | Features::FP_SIMD,
    };
    assert_eq!(f.to_regs(), [0b11, 0, 0]);
    assert_eq!(FeaturesInfo::from_regs(f.to_regs()), Ok(f));
}

#[test]
fn inconsistent_info_pages_are_rejected() {
    assert!(PoolInfo::from_regs([100, 50, 40]).is_err()); // used > high-water
    assert!(PoolInfo::from_regs([100, 50, 101]).is_err()); // high-water > size
    assert!(CpuInfo::from_regs([1, 0b11, 4]).is_err()); // count != popcount
    assert!(CpuInfo::from_regs([1, 0b10000, 4]).is_err()); // CPU beyond max
    assert!(CpuInfo::from_regs([0, 0, 65]).is_err());
    assert!(VersionInfo::from_regs([1 << 32, 0, 4]).is_err());
    assert!(VersionInfo::from_regs([0x1_0000, 1 << 48, 4]).is_err());
}

#[test]
fn features_show_names_and_keep_unknown_bits() {
    let f = Features::TEST_CALLS | Features::MODULES | Features(1 << 40);
    assert!(f.contains(Features::TEST_CALLS));
    assert!(!f.contains(Features::FP_SIMD));
    assert_eq!(
        format!("{f:?}"),
        "Features(TEST_CALLS | MODULES | 0x10000000000)"
    );
    assert_eq!(format!("{:?}", Features::empty()), "Features()");
}

// ---------------------------------------------------------------------------------------------
// UID

#[test]
fn uid_words_are_the_documented_ones() {
    assert_eq!(
        TZWASM_UID.to_string(),
        "418c105d-a132-4a02-889d-0fb9b8e96588"
    );
    assert_eq!(
        TZWASM_UID.to_smccc_words(),
        [0x5d10_8c41, 0x024a_32a1, 0xb90f_9d88, 0x8865_e9b8]
    );
    assert_eq!(
        TZWASM_UID.to_regs(),
        [0x5d10_8c41, 0x024a_32a1, 0xb90f_9d88, 0x8865_e9b8]
    );
    // RFC 4122 version 4 (random), variant 10.
    assert_eq!(TZWASM_UID.0[6] >> 4, 4);
    assert_eq!(TZWASM_UID.0[8] >> 6, 0b10);
    // SMCCC: w0 = 0xFFFFFFFF would read as NOT_SUPPORTED.
    assert_ne!(TZWASM_UID.to_smccc_words()[0], u32::MAX);
}

#[test]
fn uid_round_trips_through_words_and_registers() {
    assert_eq!(
        Uuid::from_smccc_words(TZWASM_UID.to_smccc_words()),
        TZWASM_UID
    );
    let mut regs = TZWASM_UID.to_regs();
    regs[0] |= 0xffff_ffff_0000_0000; // SMC32: upper halves are not part of the result
    assert_eq!(Uuid::from_regs(regs), TZWASM_UID);
    let bytes: [u8; 16] = core::array::from_fn(|i| i as u8);
    let words = Uuid(bytes).to_smccc_words();
    assert_eq!(words[0], 0x0302_0100);
    assert_eq!(words[3], 0x0f0e_0d0c);
}

// ---------------------------------------------------------------------------------------------
// ECHO / TEST_FP / TEST_FAULT helpers

#[test]
fn echo_reply_depends_on_every_argument() {
    let base = [1, 2, 3, 4, 5, 6, 7];
    let reply = echo_reply(base);
    assert_eq!(reply[0], 1);
    assert_eq!(reply[1], 2);
    for i in 0..7 {
        let mut args = base;
        args[i] ^= 1 << 63;
        assert_ne!(echo_reply(args), reply, "argument x{} not seen", i + 1);
    }
}

#[test]
fn test_fp_reply_computes_ieee_results() {
    let r = test_fp_reply(1.5f64.to_bits(), 2.0f64.to_bits());
    assert_eq!(r, [3.0f64.to_bits(), 3.5f64.to_bits(), 0.75f64.to_bits()]);
    // Rounding: 1/3 in binary64 round-to-nearest-even.
    let r = test_fp_reply(1.0f64.to_bits(), 3.0f64.to_bits());
    assert_eq!(r[2], 0x3FD5_5555_5555_5555);
}

#[test]
fn fault_kinds_round_trip() {
    for (i, kind) in ALL_FAULT_KINDS.into_iter().enumerate() {
        assert_eq!(kind.to_raw(), i as u64);
        assert_eq!(FaultKind::from_raw(kind.to_raw()), Some(kind));
        assert!(!kind.name().is_empty());
    }
    assert_eq!(FaultKind::from_raw(ALL_FAULT_KINDS.len() as u64), None);
    assert_eq!(FaultKind::from_raw(u64::MAX), None);
}

// ---------------------------------------------------------------------------------------------
// Client wrappers against a fake secure world

/// A fake secure world: decodes like the firmware must and answers from fixed state.
struct FakeSecure {
    test_build: bool,
    pool: PoolInfo,
    cpus: CpuInfo,
    calls: Vec<[u64; 8]>,
    /// Set: the fake has failed (fail-stop) with this message.
    failure: Option<Vec<u8>>,
}

impl FakeSecure {
    fn new(test_build: bool) -> Self {
        FakeSecure {
            test_build,
            pool: PoolInfo {
                size: 0x80_0000,
                used: 0x1000,
                high_water: 0x3000,
            },
            cpus: CpuInfo {
                seen_count: 2,
                seen_mask: 0b11,
                max_cpus: 4,
            },
            calls: Vec::new(),
            failure: None,
        }
    }

    fn ok(values: [u64; 3]) -> [u64; 4] {
        [Status::Success.to_raw(), values[0], values[1], values[2]]
    }

    fn err(status: Status) -> [u64; 4] {
        [status.to_raw(), 0, 0, 0]
    }
}

impl Conduit for FakeSecure {
    fn call(&mut self, args: [u64; 8]) -> [u64; 4] {
        self.calls.push(args);
        let call = match FunctionId::from_x0(args[0]).decode() {
            Ok(call) if call.is_served(self.test_build) => call,
            Ok(_) => return Self::err(Status::NotSupported),
            Err(err) => return Self::err(err.status()),
        };
        let identity = matches!(call, Call::CallCount | Call::CallUid | Call::Revision)
            || (call == Call::GetInfo
                && matches!(
                    InfoSelector::from_raw(args[1]),
                    Some(InfoSelector::Versions | InfoSelector::Features | InfoSelector::Failure)
                ));
        if self.failure.is_some() && !identity {
            return Self::err(Status::Failed);
        }
        match call {
            Call::CallCount => [u64::from(Call::served_count(self.test_build)), 0, 0, 0],
            Call::CallUid => TZWASM_UID.to_regs(),
            Call::Revision => [
                u64::from(PROTOCOL_VERSION.major),
                u64::from(PROTOCOL_VERSION.minor),
                0,
                0,
            ],
            Call::GetInfo => match InfoSelector::from_raw(args[1]) {
                Some(InfoSelector::Versions) => Self::ok(
                    VersionInfo {
                        protocol: PROTOCOL_VERSION,
                        firmware: FirmwareVersion {
                            major: 0,
                            minor: 1,
                            patch: 0,
                        },
                        selector_count: InfoSelector::COUNT,
                    }
                    .to_regs(),
                ),
                Some(InfoSelector::Pool) => Self::ok(self.pool.to_regs()),
                Some(InfoSelector::Cpus) => Self::ok(self.cpus.to_regs()),
                Some(InfoSelector::Features) => {
                    let mut features = Features::FP_SIMD;
                    if self.test_build {
                        features = features | Features::TEST_CALLS;
                    }
                    Self::ok(FeaturesInfo { features }.to_regs())
                }
                Some(InfoSelector::Failure) => match usize::try_from(args[2]) {
                    Ok(off) if off < FAILURE_MESSAGE_MAX => {
                        let msg = self.failure.as_deref().unwrap_or_default();
                        let mut chunk = [0u8; FAILURE_CHUNK];
                        for (i, b) in chunk.iter_mut().enumerate() {
                            *b = msg.get(off + i).copied().unwrap_or(0);
                        }
                        Self::ok(failure_chunk_to_regs(&chunk))
                    }
                    _ => Self::err(Status::InvalidParameter),
                },
                Some(InfoSelector::Measurement) => {
                    let digest: [u8; 32] = core::array::from_fn(|i| 0xa0 + i as u8);
                    match crate::info::measurement_chunk(&digest, args[2]) {
                        Some(chunk) => Self::ok(failure_chunk_to_regs(&chunk)),
                        None => Self::err(Status::InvalidParameter),
                    }
                }
                None => Self::err(Status::InvalidParameter),
            },
            Call::Null => Self::ok([0; 3]),
            Call::Echo => {
                let [_, a1, a2, a3, a4, a5, a6, a7] = args;
                Self::ok(echo_reply([a1, a2, a3, a4, a5, a6, a7]))
            }
            Call::TestFp => Self::ok(test_fp_reply(args[1], args[2])),
            Call::ShmRegister => Self::ok([1, 0, 0]),
            Call::SessionOpen => Self::ok([1, 0, 0]),
            Call::SessionClose | Call::Load | Call::Unload | Call::Stats => Self::ok([0; 3]),
            Call::Run | Call::Resume | Call::Cancel | Call::Attest | Call::Receipt => {
                Self::ok([0; 3])
            }
            Call::ShmUnregister => Self::ok([0; 3]),
            Call::TestShm => Self::ok([0; 3]),
            Call::TestRun | Call::TestMeasure | Call::TestAllocFail => Self::ok([0; 3]),
            Call::TestEl0 => match El0Program::from_raw(args[1]) {
                Some(p) => match p.expected(args[2], args[3]) {
                    Ok(v) => Self::ok([v, 0, 0]),
                    Err(ec) => [Status::Trapped.to_raw(), u64::from(ec), 0, 0],
                },
                None => Self::err(Status::InvalidParameter),
            },
            Call::TestFault => match FaultKind::from_raw(args[1]) {
                // The fault fails the secure world stop, as the real firmware's does.
                Some(kind) => {
                    self.failure = Some(kind.name().as_bytes().to_vec());
                    Self::err(Status::Failed)
                }
                None => Self::err(Status::InvalidParameter),
            },
        }
    }
}

#[test]
fn client_standard_queries() {
    let mut fake = FakeSecure::new(false);
    assert_eq!(fake.call_count(), Ok(Call::served_count(false)));
    assert_eq!(fake.call_uid(), Ok(TZWASM_UID));
    assert_eq!(fake.revision(), Ok(PROTOCOL_VERSION));
    assert_eq!(fake.calls[0][0], 0xBF00_FF00);
    assert_eq!(fake.calls[1][0], 0xBF00_FF01);
    assert_eq!(fake.calls[2][0], 0xBF00_FF03);
    let mut test_fake = FakeSecure::new(true);
    assert_eq!(test_fake.call_count(), Ok(ALL_CALLS.len() as u32));
}

#[test]
fn client_get_info_pages() {
    let mut fake = FakeSecure::new(true);
    let v = fake.versions().unwrap();
    assert_eq!(v.protocol, PROTOCOL_VERSION);
    assert_eq!(v.selector_count, InfoSelector::COUNT);
    assert_eq!(fake.pool_info(), Ok(fake.pool));
    assert_eq!(fake.cpu_info(), Ok(fake.cpus));
    let f = fake.features().unwrap().features;
    assert!(f.contains(Features::TEST_CALLS | Features::FP_SIMD));
    let last = *fake.calls.last().unwrap();
    assert_eq!(last[0], u64::from(ids::GET_INFO.raw()));
    assert_eq!(last[1], InfoSelector::Features.to_raw());
    assert_eq!(
        fake.get_info_raw(InfoSelector::COUNT),
        Err(ClientError::Status(Status::InvalidParameter))
    );
    assert_eq!(
        fake.get_info_raw(u64::MAX),
        Err(ClientError::Status(Status::InvalidParameter))
    );
}

#[test]
fn client_null_echo_and_fp() {
    let mut fake = FakeSecure::new(true);
    assert_eq!(fake.null_call(), Ok(()));
    let args = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, u64::MAX];
    assert_eq!(fake.echo(args), Ok(echo_reply(args)));
    assert_eq!(fake.calls.last().unwrap()[1..], args);
    let (a, b) = (2.5f64.to_bits(), (-4.0f64).to_bits());
    assert_eq!(fake.test_fp(a, b), Ok(test_fp_reply(a, b)));
}

#[test]
fn client_sees_release_builds_refuse_test_calls() {
    let mut fake = FakeSecure::new(false);
    assert_eq!(
        fake.test_fp(0, 0),
        Err(ClientError::Status(Status::NotSupported))
    );
    assert_eq!(
        fake.test_fault(FaultKind::UndefinedInstruction),
        ClientError::Status(Status::NotSupported)
    );
    let f = fake.features().unwrap().features;
    assert!(!f.contains(Features::TEST_CALLS));
}

#[test]
fn client_bad_fault_kind_is_invalid_parameter() {
    let mut fake = FakeSecure::new(true);
    assert_eq!(
        fake.test_fault_raw(ALL_FAULT_KINDS.len() as u64),
        ClientError::Status(Status::InvalidParameter)
    );
    assert_eq!(fake.null_call(), Ok(()), "a refused fault changes nothing");
    // A served one fails the world stop: FAILED now and for every later call.
    assert_eq!(
        fake.test_fault(FaultKind::StackGuardOverflow),
        ClientError::Status(Status::Failed)
    );
    assert_eq!(fake.null_call(), Err(ClientError::Status(Status::Failed)));
    let m = fake.failure_message().unwrap();
    assert_eq!(
        m.as_bytes(),
        FaultKind::StackGuardOverflow.name().as_bytes()
    );
}

#[test]
fn client_unknown_and_reserved_ids_are_not_supported() {
    let mut fake = FakeSecure::new(true);
    for id in [
        FunctionId(0xF200_0003),
        FunctionId(0x7200_01ff),
        FunctionId(ids::NULL.raw() ^ crate::function_id::SMC64_BIT),
        FunctionId(0xF2FE_0001),
    ] {
        assert_eq!(
            fake.invoke_checked(id, [0; 7]),
            Err(ClientError::Status(Status::NotSupported)),
            "{id}"
        );
    }
}

/// A conduit returning fixed registers, for malformed replies.
struct Canned([u64; 4]);

impl Conduit for Canned {
    fn call(&mut self, _args: [u64; 8]) -> [u64; 4] {
        self.0
    }
}

#[test]
fn client_reports_malformed_replies() {
    assert_eq!(
        Canned([0x1234, 0, 0, 0]).null_call(),
        Err(ClientError::UnknownStatus(0x1234))
    );
    assert_eq!(
        Canned([0, 100, 50, 40]).pool_info(),
        Err(ClientError::BadReply("pool: used above high-water mark"))
    );
    // SMC32 query answered with -1 in w0 only.
    let w0_only = [0xFFFF_FFFF, 0, 0, 0];
    assert_eq!(
        Canned(w0_only).call_uid(),
        Err(ClientError::Status(Status::NotSupported))
    );
    assert_eq!(
        Canned(w0_only).call_count(),
        Err(ClientError::Status(Status::NotSupported))
    );
    assert_eq!(
        Canned([u64::MAX; 4]).revision(),
        Err(ClientError::Status(Status::NotSupported))
    );
    assert_eq!(
        Canned([0x1_0000, 0, 0, 0]).revision(),
        Err(ClientError::BadReply("revision: major above 65535"))
    );
    assert_eq!(
        Canned([0, 0, 0, 0]).test_fault(FaultKind::Panic),
        ClientError::BadReply("TEST_FAULT returned success")
    );
    assert_eq!(
        ClientError::Status(Status::Busy).to_string(),
        "BUSY (-256): secure world busy with another call"
    );
}

// ---------------------------------------------------------------------------------------------
// docs/protocol.md agrees with the code

const PROTOCOL_MD: &str = include_str!("../../docs/protocol.md");

/// The table rows of docs/protocol.md, split into trimmed cells.
fn doc_rows() -> Vec<Vec<&'static str>> {
    PROTOCOL_MD
        .lines()
        .filter(|line| line.starts_with('|'))
        .map(|line| line.split('|').map(str::trim).collect())
        .collect()
}

#[test]
fn doc_lists_every_id_with_its_value() {
    let rows = doc_rows();
    let check = |name: &str, id: FunctionId| {
        let hex = format!("`0x{:08X}`", id.raw());
        assert!(
            rows.iter()
                .any(|r| r.len() > 2 && r[1] == hex && r[2] == name),
            "docs/protocol.md has no id row `| {hex} | {name} |`"
        );
    };
    for call in ALL_CALLS {
        check(call.name(), call.id());
    }
    for call in ALL_RESERVED {
        check(call.name(), call.id());
    }
}

#[test]
fn doc_lists_every_status_with_its_value() {
    let rows = doc_rows();
    for status in ALL_STATUSES {
        let raw = format!("`0x{:X}`", status.to_raw());
        assert!(
            rows.iter().any(|r| r.len() > 3
                && r[1] == status.code().to_string()
                && r[2] == raw
                && r[3] == status.name()),
            "docs/protocol.md has no status row for {status:?} ({raw})"
        );
    }
}

#[test]
fn doc_states_the_uid_and_its_words() {
    assert!(PROTOCOL_MD.contains(&TZWASM_UID.to_string()));
    for (i, word) in TZWASM_UID.to_smccc_words().into_iter().enumerate() {
        assert!(
            PROTOCOL_MD.contains(&format!("`w{i} = {word:#010x}`")),
            "w{i} missing from docs/protocol.md"
        );
    }
    assert!(PROTOCOL_MD.contains(&format!("Protocol version: **{PROTOCOL_VERSION}**")));
}

#[test]
fn doc_lists_every_selector() {
    let rows = doc_rows();
    for sel in ALL_SELECTORS {
        assert!(
            rows.iter()
                .any(|r| r.len() > 2 && r[1] == sel.to_raw().to_string() && r[2] == sel.name()),
            "docs/protocol.md has no GET_INFO row for {}",
            sel.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fail-stop: FAILED and GET_INFO FAILURE

#[test]
fn failure_chunks_pack_little_endian() {
    let mut chunk = [0u8; FAILURE_CHUNK];
    chunk[..4].copy_from_slice(b"oops");
    chunk[23] = 0x7f;
    let regs = failure_chunk_to_regs(&chunk);
    assert_eq!(regs[0], u64::from_le_bytes(*b"oops\0\0\0\0"));
    assert_eq!(regs[2], 0x7f << 56);
    assert_eq!(failure_chunk_from_regs(regs), chunk);
}

#[test]
fn failure_message_stops_at_zero_and_at_the_limit() {
    let mut m = FailureMessage::empty();
    assert_eq!(m.to_string(), "(no message)");
    let mut chunk = [b'a'; FAILURE_CHUNK];
    assert!(m.push_chunk(&chunk));
    chunk[3] = 0;
    assert!(!m.push_chunk(&chunk));
    assert_eq!(m.len(), FAILURE_CHUNK + 3);
    // An endless (non-terminated) message ends at FAILURE_MESSAGE_MAX.
    let mut m = FailureMessage::empty();
    let full = [b'x'; FAILURE_CHUNK];
    let mut pushes = 1;
    while m.push_chunk(&full) {
        pushes += 1;
    }
    assert_eq!(pushes, FAILURE_MESSAGE_MAX / FAILURE_CHUNK);
    assert_eq!(m.len(), FAILURE_MESSAGE_MAX);
    assert!(!m.push_chunk(&full));
    assert_eq!(m.len(), FAILURE_MESSAGE_MAX);
}

#[test]
fn failure_message_display_is_sanitised() {
    let mut m = FailureMessage::empty();
    let mut chunk = [0u8; FAILURE_CHUNK];
    chunk[..8].copy_from_slice(b"a\nb\x1b[\xffz\xc3");
    chunk[8] = 0xa9; // completes U+00E9 with the 0xc3 before it
    m.push_chunk(&chunk);
    assert_eq!(m.to_string(), "a?b?[?z\u{e9}");
    assert_eq!(format!("{m:?}"), "FailureMessage(\"a?b?[?z\u{e9}\")");
}

#[test]
fn client_reads_the_failure_message() {
    let mut fake = FakeSecure::new(true);
    assert_eq!(fake.failure_message(), Ok(FailureMessage::empty()));
    let text = b"panic on CPU 1 at firmware/src/fault.rs:55: TEST_FAULT: deliberate panic";
    fake.failure = Some(text.to_vec());
    fake.calls.clear();
    let m = fake.failure_message().unwrap();
    assert_eq!(m.as_bytes(), &text[..]);
    // 74 bytes: four chunks (the last one holds the end).
    assert_eq!(fake.calls.len(), 4);
    for (i, c) in fake.calls.iter().enumerate() {
        assert_eq!(c[0], ids::GET_INFO.to_x0());
        assert_eq!(c[1], InfoSelector::Failure.to_raw());
        assert_eq!(c[2], (i * FAILURE_CHUNK) as u64);
    }
    // Identification still works; everything else answers FAILED.
    assert_eq!(fake.call_uid(), Ok(TZWASM_UID));
    assert_eq!(fake.revision(), Ok(PROTOCOL_VERSION));
    assert!(fake.versions().is_ok());
    assert_eq!(fake.null_call(), Err(ClientError::Status(Status::Failed)));
    assert_eq!(fake.pool_info(), Err(ClientError::Status(Status::Failed)));
    assert_eq!(
        fake.test_fault(FaultKind::Panic),
        ClientError::Status(Status::Failed)
    );
    // A message of the full size has no terminating zero: it ends at the limit.
    fake.failure = Some(vec![b'q'; FAILURE_MESSAGE_MAX + 10]);
    assert_eq!(fake.failure_message().unwrap().len(), FAILURE_MESSAGE_MAX);
}

#[test]
fn failed_status_has_its_value() {
    assert_eq!(Status::Failed.code(), -269);
    assert_eq!(Status::from_raw((-269i64) as u64), Some(Status::Failed));
    assert!(Status::Failed
        .to_string()
        .contains("every call answers this until reboot"));
}

#[test]
fn measurement_selector_and_chunks() {
    use crate::info::{failure_chunk_to_regs, measurement_chunk};
    assert_eq!(InfoSelector::Measurement.to_raw(), 5);
    assert_eq!(InfoSelector::from_raw(5), Some(InfoSelector::Measurement));
    assert_eq!(InfoSelector::from_raw(6), None);
    assert_eq!(InfoSelector::COUNT, 6);
    assert_eq!(InfoSelector::Measurement.name(), "MEASUREMENT");
    assert_eq!(Features::ATTESTATION.bits(), 1 << 5);
    assert_eq!(PROTOCOL_VERSION.pack(), 0x1_0006);
    let d: [u8; 32] = core::array::from_fn(|i| 0xa0 + i as u8);
    let a = measurement_chunk(&d, 0).unwrap();
    assert_eq!(&a[..], &d[..24]);
    let b = measurement_chunk(&d, 24).unwrap();
    assert_eq!(&b[..8], &d[24..]);
    assert_eq!(&b[8..], &[0; 16]);
    assert_eq!(
        measurement_chunk(&d, 8),
        Some(core::array::from_fn(|i| 0xa8 + i as u8))
    );
    assert_eq!(measurement_chunk(&d, 32), None);
    assert_eq!(measurement_chunk(&d, u64::MAX), None);
    let ra = failure_chunk_to_regs(&a);
    assert_eq!(ra[0], 0xa7a6_a5a4_a3a2_a1a0);
    let m = Measurement::from_chunks(ra, failure_chunk_to_regs(&b));
    assert_eq!(m.0, d);
    assert_eq!(
        m.to_string(),
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    );
}

#[test]
fn client_reads_the_firmware_measurement() {
    let mut fake = FakeSecure::new(false);
    let m = fake.firmware_measurement().unwrap();
    assert_eq!(m.0, core::array::from_fn(|i| 0xa0 + i as u8));
}
