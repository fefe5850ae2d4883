//! TEST_RUN of an AOT file placed by QEMU.

use super::*;

/// Load/unload cycles in the session checks.
pub(super) const LOAD_CYCLES: u32 = 1000;

/// Where the harness preloads an AOT file (QEMU `-device loader`), and the word holding its
/// length (0: no file, the check is skipped).
pub(super) const AOT_FILE: u64 = 0x7200_0000;
pub(super) const AOT_LEN_WORD: u64 = 0x71ff_f000;

/// TEST_RUN: a real wamrc-compiled module, preloaded by the harness, runs at S-EL0 in the
/// secure world and exits 0 having written to stdout; the pool returns to its baseline.
pub(super) fn aot_checks(report: &mut Report, learned: Learned) {
    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    let len = unsafe { core::ptr::read_volatile(AOT_LEN_WORD as *const u64) };
    if len == 0 || !learned.test_calls {
        report.skip("aot: TEST_RUN of a preloaded module", "no module preloaded");
        return;
    }
    let size = len.div_ceil(0x1000) * 0x1000;
    let handle = match Smc.shm_register(AOT_FILE, size) {
        Ok(h) => h,
        Err(e) => {
            report.fail("aot: register the module's pages", format_args!("{e}"));
            return;
        }
    };
    let baseline = Smc.pool_info().map(|p| p.used);
    let r = Smc.invoke(ids::TEST_RUN, [handle.raw(), 0, len, 0, 0, 0, 0]);
    report.check(
        "aot: module runs at S-EL0 and exits 0",
        r[0] == 0 && r[1] == 0,
        format_args!("x0 = {:?}, x1 = {:#x}", status_of(r[0]), r[1]),
    );
    report.check(
        "aot: module wrote to stdout",
        r[0] == 0 && r[2] > 0,
        format_args!("stdout bytes {}", r[2]),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "aot: pool back to baseline after the run",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
    let x0 = Smc.invoke(ids::TEST_RUN, [handle.raw(), 8, len - 8, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "aot: a truncated file is BAD_MODULE",
        x0,
        Status::BadModule,
    );
    expect_alive(report, "aot: NULL works after the module runs");
    report.result(
        "aot: unregister the module's pages",
        Smc.shm_unregister(handle),
    );
}
