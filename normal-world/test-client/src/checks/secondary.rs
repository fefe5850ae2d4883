//! The checks the secondary CPU runs after PSCI CPU_ON.

use super::*;

/// The subset the secondary CPU runs: GET_INFO CPUS, NULL, ECHO, FP survival.
pub fn run_secondary(report: &mut Report) {
    match Smc.cpu_info() {
        Ok(c) => report.check(
            "get-info CPUS: both CPUs seen",
            c.seen_count >= 2 && c.seen_mask & 0b11 == 0b11,
            format_args!("count {}, mask {:#x}", c.seen_count, c.seen_mask),
        ),
        Err(e) => report.fail("get-info CPUS: both CPUs seen", format_args!("{e}")),
    }
    match Smc.call_uid() {
        Ok(uid) => report.check(
            "os: Call UID is the tzwasm UUID",
            uid == TZWASM_UID,
            format_args!("got {uid}"),
        ),
        Err(e) => report.fail("os: Call UID is the tzwasm UUID", format_args!("{e}")),
    }
    report.check(
        "os: Call Count answers",
        Smc.call_count().is_ok(),
        format_args!("no answer"),
    );
    report.check(
        "os: Revision is the protocol version",
        Smc.revision() == Ok(PROTOCOL_VERSION),
        format_args!("got {:?}", Smc.revision()),
    );
    report.check(
        "get-info VERSIONS and POOL answer",
        Smc.versions().is_ok() && Smc.pool_info().is_ok(),
        format_args!("an info page failed"),
    );
    report.result("NULL fast call", Smc.null_call());
    echo_check(report, 0x8877_6655_4433_2211);
    let test_calls = has_feature(Features::TEST_CALLS);
    fp_checks(
        report,
        Learned { test_calls },
        0x7766_5544_3322_1100,
        FPCR_SECONDARY,
        FPSR_SECONDARY,
    );
    // Shared memory and S-EL0 from this CPU too (its own range: the primary's are gone).
    let base = SHM_BASE + 0x100_0000;
    match Smc.shm_register(base, 0x1000) {
        Ok(h) => {
            if test_calls {
                // SAFETY: normal-world DRAM this client owns; nothing else uses it.
                unsafe { core::ptr::write_volatile(base as *mut u8, 0x42) };
                let r = Smc.invoke(ids::TEST_SHM, [h.raw(), 0, 1, 0, 0, 0, 0]);
                report.check(
                    "shm: TEST_SHM from this CPU",
                    r[0] == 0 && r[1] == shm_test_hash(&[0x42]),
                    format_args!("x0 = {:#x}", r[0]),
                );
            }
            report.result(
                "shm: register/unregister from this CPU",
                Smc.shm_unregister(h),
            );
        }
        Err(e) => report.fail(
            "shm: register/unregister from this CPU",
            format_args!("{e}"),
        ),
    }
    if test_calls {
        for (program, a, b) in [(El0Program::Add, 40, 2), (El0Program::ReadPayload, 0, 0)] {
            let r = Smc.test_el0(program, a, b);
            let got = match status_of(r[0]) {
                Ok(Status::Success) => Ok(r[1]),
                Ok(Status::Trapped) => Err(r[1] as u8),
                _ => Err(0xff),
            };
            report.check(
                "el0: program from this CPU",
                got == program.expected(a, b),
                format_args!("{}: got {got:#x?}", program.name()),
            );
        }
    }
}
