//! Round trips of every call's arguments through registers, and every refusal of the decoder.

use super::*;
use crate::call::ids;

const S: SessionHandle = SessionHandle::from_raw(0x0000_0003_0000_0002);
const H: ShmHandle = ShmHandle::from_raw(0x0000_0001_0000_0001);

fn sp(offset: u64, len: u64) -> ShmSpan {
    ShmSpan::new(offset, len).unwrap()
}

fn load(x3: u64, x4: u64, x5: u64) -> Result<LoadArgs, Refusal> {
    LoadArgs::from_regs(&[ids::LOAD.to_x0(), S.raw(), H.raw(), x3, x4, x5, 0, 0])
}

fn run(block: [u64; 2], ring: [u64; 2], report: u64) -> Result<RunArgs, Refusal> {
    let x = [
        ids::RUN.to_x0(),
        S.raw(),
        H.raw(),
        block[0],
        block[1],
        ring[0],
        ring[1],
        report,
    ];
    RunArgs::from_regs(&x)
}

const BAD_ADDRESS: Refusal = Refusal(Status::BadAddress, 0);

#[test]
fn every_session_call_round_trips() {
    let load = LoadArgs::new(S, H, sp(0x40, 1000), ShmOffset::new(0x1000)).unwrap();
    let run = RunArgs::new(S, H, sp(0, 16), sp(0x2000, 0x1000), ShmOffset::new(0x3000)).unwrap();
    let calls = [
        SessionCall::Open(OpenArgs::new(SESSION_MIN_QUOTA).unwrap()),
        SessionCall::Close(S),
        SessionCall::Load(load),
        SessionCall::Unload(S),
        SessionCall::Stats(StatsArgs {
            session: S,
            page: 3,
        }),
        SessionCall::Run(run),
        SessionCall::Resume(S),
        SessionCall::Cancel(S),
        SessionCall::Attest(AttestArgs::new(S, H, sp(0, 32), sp(0x1000, 0x1000)).unwrap()),
        SessionCall::Receipt(ReceiptArgs::new(S, H, sp(0x2000, 0x800)).unwrap()),
    ];
    for c in calls {
        let x = c.to_regs();
        assert_eq!(x[0], c.call().id().to_x0(), "{c:?}");
        let call = crate::FunctionId::from_x0(x[0]).decode().unwrap();
        assert_eq!(SessionCall::from_regs(call, &x), Ok(c));
        if c.call() != Call::SessionOpen {
            assert_eq!(c.session(), Some(S));
            assert_eq!(x[1], S.raw());
        }
    }
    // The register layout of docs/protocol.md.
    assert_eq!(
        load.to_regs(),
        [
            ids::LOAD.to_x0(),
            S.raw(),
            H.raw(),
            0x40,
            1000,
            0x1000,
            0,
            0
        ]
    );
    assert_eq!(
        run.to_regs(),
        [
            ids::RUN.to_x0(),
            S.raw(),
            H.raw(),
            0,
            16,
            0x2000,
            0x1000,
            0x3000
        ]
    );
    assert_eq!(
        OpenArgs::new(1 << 20).unwrap().to_regs(),
        [ids::SESSION_OPEN.to_x0(), 1 << 20, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        StatsArgs {
            session: S,
            page: 2
        }
        .to_regs(),
        [ids::STATS.to_x0(), S.raw(), 2, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        SessionCall::Cancel(S).to_regs(),
        [ids::CANCEL.to_x0(), S.raw(), 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(load.file(), sp(0x40, 1000));
    assert_eq!(load.report(), sp(0x1000, LOAD_REPORT_SIZE as u64));
    assert_eq!((load.session(), load.shm()), (S, H));
    assert_eq!((run.block(), run.ring()), (sp(0, 16), sp(0x2000, 0x1000)));
    assert_eq!(run.report(), sp(0x3000, RUN_REPORT_SIZE as u64));
}

#[test]
fn shm_calls_round_trip() {
    let reg = ShmRegisterArgs::new(0x5000_0000, 0x4000).unwrap();
    assert_eq!(
        reg.to_regs(),
        [
            ids::SHM_REGISTER.to_x0(),
            0x5000_0000,
            0x4000,
            0,
            0,
            0,
            0,
            0
        ]
    );
    for c in [ShmCall::Register(reg), ShmCall::Unregister(H)] {
        assert_eq!(ShmCall::from_regs(c.call(), &c.to_regs()), Ok(c));
    }
    assert_eq!((reg.base(), reg.size()), (0x5000_0000, 0x4000));
    // Extra registers are ignored.
    let x = [ids::SHM_UNREGISTER.to_x0(), 7, 1, 2, 3, 4, 5, 6];
    assert_eq!(
        ShmCall::from_regs(Call::ShmUnregister, &x),
        Ok(ShmCall::Unregister(ShmHandle::from_raw(7)))
    );
}

#[test]
fn shm_register_refusals() {
    for (base, size) in [
        (0x5000_0000, 0),                       // empty
        (0x5000_0001, 0x1000),                  // unaligned base
        (0x5000_0000, 0x0fff),                  // unaligned size
        (0x5000_0000, SHM_MAX_SIZE + SHM_PAGE), // too large
        (u64::MAX - 0xfff, 0x2000),             // wraps (base unaligned too)
        (0xffff_ffff_ffff_f000, 0x1000),        // ends at 2^64: wraps
    ] {
        assert_eq!(
            ShmRegisterArgs::new(base, size),
            Err(BAD_ADDRESS),
            "{base:#x}+{size:#x}"
        );
    }
    assert!(ShmRegisterArgs::new(0x4000_0000, SHM_MAX_SIZE).is_ok());
    assert!(ShmRegisterArgs::new(0xffff_ffff_ffff_e000, 0x1000).is_ok());
}

#[test]
fn open_refuses_a_quota_below_the_minimum_naming_it() {
    for q in [0, 1, SESSION_MIN_QUOTA - 1] {
        assert_eq!(
            OpenArgs::new(q),
            Err(Refusal(Status::QuotaTooSmall, SESSION_MIN_QUOTA))
        );
    }
    assert_eq!(OpenArgs::new(u64::MAX).map(OpenArgs::quota), Ok(u64::MAX));
    assert_eq!(
        Refusal(Status::QuotaTooSmall, SESSION_MIN_QUOTA).to_regs(),
        [Status::QuotaTooSmall.to_raw(), SESSION_MIN_QUOTA, 0, 0]
    );
}

#[test]
fn load_refusals() {
    for (x3, x4, x5, what) in [
        (0, 0, 0x1000, "empty file"),
        (u64::MAX, 2, 0x1000, "file wraps"),
        (u64::MAX - 4, 16, 0, "file wraps"),
        (0, 8, 4, "report unaligned"),
        (0, 8, !7, "report wraps"),
        (0, 8, (u64::MAX - 255) & !7, "report wraps"),
    ] {
        assert_eq!(load(x3, x4, x5), Err(BAD_ADDRESS), "{what}");
    }
    // The last byte of the address space is reachable, one past is not.
    assert!(load(u64::MAX - 1, 1, (u64::MAX - 256) & !7).is_ok());
    assert_eq!(load(u64::MAX, 1, 0), Err(BAD_ADDRESS));
}

#[test]
fn load_native_stack() {
    let with =
        |x6: u64| LoadArgs::from_regs(&[ids::LOAD.to_x0(), S.raw(), H.raw(), 0, 8, 8, x6, 0]);
    assert_eq!(with(0).unwrap().stack(), NativeStack::DEFAULT);
    assert_eq!(NativeStack::DEFAULT.bytes(), DEFAULT_NATIVE_STACK);
    // Rounded up to whole pages; the limits are inclusive.
    assert_eq!(
        with(MIN_NATIVE_STACK + 1).unwrap().stack().bytes(),
        MIN_NATIVE_STACK + 4096
    );
    assert_eq!(
        with(MAX_NATIVE_STACK).unwrap().stack().bytes(),
        MAX_NATIVE_STACK
    );
    let ip = |limit| Err(Refusal(Status::InvalidParameter, limit));
    assert_eq!(with(1), ip(MIN_NATIVE_STACK));
    assert_eq!(with(MIN_NATIVE_STACK - 1), ip(MIN_NATIVE_STACK));
    assert_eq!(with(MAX_NATIVE_STACK + 1), ip(MAX_NATIVE_STACK));
    assert_eq!(with(u64::MAX), ip(MAX_NATIVE_STACK));
    // The shape of the ranges is refused first.
    let bad = LoadArgs::from_regs(&[ids::LOAD.to_x0(), S.raw(), H.raw(), 0, 0, 8, 1, 0]);
    assert_eq!(bad, Err(BAD_ADDRESS));
    // A stack round-trips through the registers; the default is sent as 0.
    let a = with(1 << 20).unwrap();
    assert_eq!(a.to_regs()[6], 1 << 20);
    assert_eq!(LoadArgs::from_regs(&a.to_regs()), Ok(a));
    assert_eq!(with(0).unwrap().to_regs()[6], 0);
}

#[test]
fn run_refusals_in_order() {
    let ok = ([0, 16], [0x2000, 0x1000], 0x3000);
    assert!(run(ok.0, ok.1, ok.2).is_ok());
    let ip = Refusal::from(Status::InvalidParameter);
    for (blk, ring, rep, want) in [
        ([0, 0], [0x2000, 0x1000], 0x3000, BAD_ADDRESS),
        (
            [0, MAX_RUN_BLOCK as u64 + 1],
            [0x2000, 0x1000],
            0x3000,
            BAD_ADDRESS,
        ),
        ([u64::MAX, 16], [0x2000, 0x1000], 0x3000, BAD_ADDRESS),
        ([0, 16], [0x2001, 0x1000], 0x3000, BAD_ADDRESS),
        ([0, 16], [0x2040, 0], 0x3000, BAD_ADDRESS),
        ([0, 16], [0x2000, u64::MAX], 0x3000, BAD_ADDRESS),
        ([0, 16], [0x2000, 0x1000], 0x3004, BAD_ADDRESS),
        ([0, 16], [0x2000, 0x1000], u64::MAX - 7, BAD_ADDRESS),
        ([0, 16], [0x2000, 0x1000], 0x2800, ip),
        ([0, 16], [0x2000, 0x1000], 0x2000 - 8, ip),
        // A bad block wins over a bad ring, a bad ring over a bad report.
        ([0, 0], [0x2001, 0], 0x2800, BAD_ADDRESS),
        ([0, 16], [0x2001, 0x1000], 0x2004, BAD_ADDRESS),
    ] {
        assert_eq!(run(blk, ring, rep), Err(want), "{blk:?} {ring:?} {rep:#x}");
    }
    // Touching but not overlapping.
    assert!(run([0, 16], [0x2000, 0x1000], 0x2000 - 256).is_ok());
    assert!(run([0, 16], [0x2000, 0x1000], 0x3000).is_ok());
    assert!(run([0, MAX_RUN_BLOCK as u64], [0x2000, 0x1000], 0x3000).is_ok());
    // The block may overlap anything: it is copied before it is used.
    assert!(run([0x2000, 64], [0x2000, 0x1000], 0x3000).is_ok());
}

fn attest(nonce: [u64; 2], token: [u64; 2]) -> Result<AttestArgs, Refusal> {
    let x = [
        ids::ATTEST.to_x0(),
        S.raw(),
        H.raw(),
        nonce[0],
        nonce[1],
        token[0],
        token[1],
        0,
    ];
    AttestArgs::from_regs(&x)
}

#[test]
fn attest_refusals() {
    let ip = Refusal::from(Status::InvalidParameter);
    for len in [32, 48, 64] {
        assert!(attest([0, len], [64, 2048]).is_ok(), "{len}");
    }
    for len in [0, 1, 16, 31, 33, 47, 49, 63, 65, 4096] {
        assert_eq!(attest([0, len], [4096, 4096]), Err(ip), "{len}");
    }
    assert_eq!(attest([0, 32], [64, 2047]), Err(ip));
    assert_eq!(attest([0, 32], [31, 4096]), Err(ip), "overlap");
    assert!(attest([4096, 32], [0, 4096]).is_ok(), "touching");
    assert_eq!(attest([4095, 32], [0, 4096]), Err(ip), "overlap at the end");
    assert_eq!(attest([u64::MAX - 8, 32], [0, 4096]), Err(BAD_ADDRESS));
    assert_eq!(attest([0, 32], [u64::MAX - 8, 4096]), Err(BAD_ADDRESS));
}

#[test]
fn non_session_calls_are_not_decoded() {
    let x = [0u64; 8];
    for call in crate::call::ALL_CALLS {
        let session = SessionCall::from_regs(call, &x);
        let shm = ShmCall::from_regs(call, &x);
        let is_session = matches!(
            call,
            Call::SessionOpen
                | Call::SessionClose
                | Call::Load
                | Call::Unload
                | Call::Stats
                | Call::Run
                | Call::Resume
                | Call::Cancel
                | Call::Attest
                | Call::Receipt
        );
        if !is_session {
            assert_eq!(session, Err(Status::NotSupported.into()), "{call}");
        }
        if !matches!(call, Call::ShmRegister | Call::ShmUnregister) {
            assert_eq!(shm, Err(Status::NotSupported.into()), "{call}");
        }
    }
}

#[test]
fn receipt_refusals() {
    let receipt = |at: u64, len: u64| {
        let x = [ids::RECEIPT.to_x0(), S.raw(), H.raw(), at, len, 0, 0, 0];
        ReceiptArgs::from_regs(&x)
    };
    assert!(receipt(0, 2048).is_ok());
    assert!(receipt(0x1000, 4096).is_ok());
    assert_eq!(receipt(0, 2047), Err(Status::InvalidParameter.into()));
    assert_eq!(receipt(0, 0), Err(Status::InvalidParameter.into()));
    assert_eq!(receipt(u64::MAX - 8, 4096), Err(BAD_ADDRESS));
}

#[test]
fn spans_and_offsets() {
    assert_eq!(ShmSpan::new(u64::MAX, 1), None);
    assert_eq!(ShmSpan::new(u64::MAX, 0).map(ShmSpan::end), Some(u64::MAX));
    let a = sp(0x1000, 0x100);
    assert!(a.fits(0x1100) && !a.fits(0x10ff));
    assert!(a.overlaps(sp(0x10ff, 1)) && !a.overlaps(sp(0x1100, 1)));
    assert!(!a.overlaps(sp(0xf00, 0x100)) && a.overlaps(sp(0xf00, 0x101)));
    assert!(ShmOffset::new(64).is_aligned(64) && !ShmOffset::new(65).is_aligned(64));
    assert!(format!("{}", Refusal(Status::QuotaTooLarge, 42)).contains("42"));
}

/// A small deterministic generator: decoding any registers never panics, and whatever decodes
/// encodes back to the same registers it used (unused ones aside).
#[test]
fn any_registers_decode_or_refuse() {
    let mut s = 0x243f_6a88_85a3_08d3u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let v = s;
        match v % 4 {
            0 => v,
            1 => v % 0x10000,
            2 => u64::MAX - v % 0x1000,
            _ => (v % 64) * 64,
        }
    };
    for _ in 0..50_000 {
        let x: Regs8 = core::array::from_fn(|_| next());
        for call in crate::call::ALL_CALLS {
            if let Ok(c) = SessionCall::from_regs(call, &x) {
                let back = c.to_regs();
                assert_eq!(SessionCall::from_regs(call, &back), Ok(c));
                let used = match call {
                    Call::Load => 6,
                    Call::Run => 8,
                    Call::Stats => 3,
                    Call::Attest => 7,
                    Call::Receipt => 5,
                    _ => 2,
                };
                assert_eq!(&back[1..used], &x[1..used], "{call}");
            }
            if let Ok(c) = ShmCall::from_regs(call, &x) {
                assert_eq!(ShmCall::from_regs(call, &c.to_regs()), Ok(c));
            }
        }
    }
}
