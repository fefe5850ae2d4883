//! The tzwasm protocol checks of the boot and secondary CPUs, built on the `tzwasm-smc` crate's
//! ids, statuses and typed wrappers, one file per family: Trusted OS queries and GET_INFO
//! (`info`), bad inputs (`bad_input`), FP/SIMD survival (`fp`), S-EL0 programs (`el0`), shared
//! memory (`shm`), sessions and LOAD (`sessions`), RUN and the ring (`runs`), bounded latency
//! of long helper calls and LOAD (`latency`), the corpus (`corpus`), allocation fault
//! injection (`alloc_faults`), timing figures (`figures`), the secondary CPU (`secondary`)
//! and crash mode
//! (`failstop`). This file holds what they share: the conduit, the status checks and the
//! order the boot CPU runs them in.

mod alloc_faults;
mod aot;
mod bad_input;
mod corpus;
mod el0;
mod failstop;
mod figures;
mod fp;
mod info;
mod latency;
mod runs;
mod secondary;
mod sessions;
mod shm;

use alloc_faults::*;
use aot::*;
use bad_input::*;
use corpus::*;
use el0::*;
use figures::*;
use fp::*;
use info::*;
use latency::*;
use runs::*;
use sessions::*;
use shm::*;

pub use failstop::{call_test_fault, failed_world_checks};
pub use figures::timing;
pub use runs::good_run_ok;
pub use secondary::run_secondary;

use tzwasm_smc::args::{
    LoadArgs, Refusal, RunArgs, SessionCall, SessionHandle, ShmHandle, ShmOffset, ShmSpan,
    StatsArgs,
};
use tzwasm_smc::call::{
    echo_reply, ids, shm_test_hash, test_fp_reply, El0Program, FaultKind, ALL_EL0_PROGRAMS,
    SHM_MAX_REGISTRATIONS,
};
use tzwasm_smc::info::ALL_SELECTORS;
use tzwasm_smc::ring::{self, Consumer, SharedRegion, Stream};
use tzwasm_smc::runner::{
    Error as RunnerError, RunEnd, RunObserver, RunOutcome, RunRequest, Session, SharedArea,
};
use tzwasm_smc::session::{LoadReport, RunBlock, LOAD_REPORT_SIZE, SESSION_MIN_QUOTA};
use tzwasm_smc::{
    CallConv, CallType, Client, ClientError, Conduit, Features, FunctionId, InfoSelector, Status,
    PROTOCOL_VERSION, TZWASM_UID,
};

use crate::client::fp_probe;
use crate::report::Report;
use crate::{arch, println, psci, timer};

/// The `smc #0` conduit (SMCCC 1.1 from NS-EL1).
pub struct Smc;

impl Conduit for Smc {
    fn call(&mut self, args: [u64; 8]) -> [u64; 4] {
        arch::smc(args)
    }
}

/// A well-formed call built with `to_regs`, or the refusal its shape checks give (the answer
/// the secure world gives to the same registers).
fn send(regs: Result<tzwasm_smc::Regs8, Refusal>) -> [u64; 4] {
    match regs {
        Ok(x) => Smc.call(x),
        Err(r) => r.to_regs(),
    }
}

/// LOAD of `len` bytes at `off` of registration `shm` into session `s`, report at `report`.
fn load_regs(s: u64, shm: ShmHandle, off: u64, len: u64, report: u64) -> [u64; 4] {
    let file = ShmSpan::new(off, len).ok_or(Refusal::from(Status::BadAddress));
    let session = SessionHandle::from_raw(s);
    send(
        file.and_then(|f| {
            LoadArgs::new(session, shm, f, ShmOffset::new(report)).map(|a| a.to_regs())
        }),
    )
}

/// A call on session `s` alone (SESSION_CLOSE, UNLOAD, RESUME, CANCEL).
pub(crate) fn session_only(call: fn(SessionHandle) -> SessionCall, s: u64) -> [u64; 4] {
    Smc.call(call(SessionHandle::from_raw(s)).to_regs())
}

/// Whether GET_INFO FEATURES reports `feature` (false if the call fails).
pub(crate) fn has_feature(feature: Features) -> bool {
    Smc.features().is_ok_and(|f| f.features.contains(feature))
}

/// STATS page `page` of session `s`.
pub(crate) fn stats_regs(s: u64, page: u64) -> [u64; 4] {
    let session = SessionHandle::from_raw(s);
    Smc.call(SessionCall::Stats(StatsArgs { session, page }).to_regs())
}

/// OEN 50, the tzwasm Trusted OS range.
const OEN_TZWASM: u8 = 50;
/// An unused fast function number in OEN 50 (not in the base, reserved or test ranges).
const UNKNOWN_FAST_NUMBER: u16 = 0x00ff;
/// An unused yielding function number in OEN 50.
const UNKNOWN_YIELDING_NUMBER: u16 = 0x00fe;

/// TEST_FP operands: 1.0 and 10.0. `a / b` = 0.1 rounds up in round-to-nearest-even
/// (0x3FB999999999999A) but not towards zero, so a secure world computing with the normal
/// world's FPCR (the probes set RMode = towards zero) gives a wrong quotient.
const FP_A: u64 = 0x3ff0_0000_0000_0000;
const FP_B: u64 = 0x4024_0000_0000_0000;

/// FPCR pattern of the primary: AHP | DN | FZ | RMode = towards zero.
const FPCR_PRIMARY: u64 = 0x07c0_0000;
/// FPSR pattern of the primary: QC and every cumulative exception flag.
const FPSR_PRIMARY: u64 = 0x0800_009f;
/// FPCR pattern of the secondary: DN | RMode = towards minus infinity.
const FPCR_SECONDARY: u64 = 0x0280_0000;
/// FPSR pattern of the secondary: IOC | IXC.
const FPSR_SECONDARY: u64 = 0x0000_0011;

/// Calls of each kind in the timing run.
const TIMING_CALLS: u64 = 10_000;
/// The timing run alternates this many batches of each kind.
const TIMING_BATCHES: u64 = 10;

/// `x0` of an SMC64 call as a status, for messages.
fn status_of(x0: u64) -> Result<Status, u64> {
    Status::from_raw(x0).ok_or(x0)
}

/// Checks that `x0` of a call is exactly `expected` (SMC64: all 64 bits).
fn expect_status(report: &mut Report, name: &str, x0: u64, expected: Status) {
    report.check(
        name,
        x0 == expected.to_raw(),
        format_args!(
            "expected {}, got {:?} (x0 = {x0:#x})",
            expected.name(),
            status_of(x0)
        ),
    );
}

/// Checks that a NULL call still works (after a bad input).
fn expect_alive(report: &mut Report, name: &str) {
    report.result(name, Smc.null_call());
}

/// What the primary learned from GET_INFO, used by later checks.
#[derive(Clone, Copy)]
struct Learned {
    test_calls: bool,
}

/// Every check the boot CPU runs.
pub fn run_primary(report: &mut Report) {
    let learned = info_checks(report);
    os_query_checks(report, learned);
    call_checks(report);
    bad_input_checks(report, learned);
    fp_checks(
        report,
        learned,
        0x0011_2233_4455_6677,
        FPCR_PRIMARY,
        FPSR_PRIMARY,
    );
    el0_checks(report, learned);
    // First, while no module code has run from the pool's pages: under QEMU TCG, writing to a
    // page that once held executed code takes the emulator's self-modifying-code slow path,
    // which multiplies copy and relocation times by up to 50 (docs/figures.md).
    figures(report);
    shm_checks(report, learned);
    aot_checks(report, learned);
    session_checks(report);
    run_checks(report);
    receipt_checks(report);
    stdin_checks(report);
    preempt_checks(report);
    latency_checks(report);
    crate::hostile::hostile_checks(report);
    crate::isolation::isolation_checks(report);
    corpus_checks(report);
    alloc_fault_checks(report, learned);
}

/// A fixed-size name buffer for check names built at run time (no allocator here).
mod heapless_name {
    /// Up to 64 bytes of UTF-8.
    pub struct Name {
        buf: [u8; 64],
        len: usize,
    }

    impl Name {
        pub fn new() -> Self {
            Self {
                buf: [0; 64],
                len: 0,
            }
        }

        pub fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("el0: ?")
        }
    }

    impl core::fmt::Write for Name {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
}
