//! The tzwasm protocol checks (temporary: PSCI-only until tzwasm-smc lands).

use crate::client::fp_probe;
use crate::report::Report;
use crate::{arch, println, psci, timer};

pub fn run_primary(report: &mut Report) {
    let (r, out) = fp_probe(
        [u64::from(psci::PSCI_VERSION), 0, 0, 0, 0, 0, 0, 0],
        0x1122_3344_5566_7788,
        0x07c0_0000,
        0x0800_009f,
    );
    report.result("fp: V0-V31/FPCR/FPSR survive PSCI_VERSION", r);
    println!("psci version via probe {:#x}", out[0]);
}

pub fn run_secondary(report: &mut Report) {
    let (r, _) = fp_probe(
        [u64::from(psci::PSCI_VERSION), 0, 0, 0, 0, 0, 0, 0],
        0x9911_3344_5566_7788,
        0x0280_0000,
        0x0000_0011,
    );
    report.result("fp: survive PSCI_VERSION", r);
}

pub fn timing() {
    let n = 10_000u64;
    let t0 = arch::counter();
    for _ in 0..n {
        psci::version();
    }
    let t1 = arch::counter();
    println!(
        "timing: PSCI_VERSION {:?} ns/call",
        timer::ns_per_call(t1 - t0, n, arch::counter_frequency())
    );
}

pub fn call_test_fault() {}
