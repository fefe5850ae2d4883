//! FP/SIMD register survival across calls (TEST_FP).

use super::*;

/// FP/SIMD survival: around NULL and ECHO (secure world without FP, fast and yielding entry)
/// and TEST_FP (secure world uses FP and clobbers its own V registers, FPCR and FPSR), and
/// TEST_FP's result.
pub(super) fn fp_checks(report: &mut Report, learned: Learned, seed: u64, fpcr: u64, fpsr: u64) {
    let (survived, out) = fp_probe([ids::NULL.to_x0(), 0, 0, 0, 0, 0, 0, 0], seed, fpcr, fpsr);
    report.result("fp: V0-V31/FPCR/FPSR survive NULL", survived);
    report.check(
        "fp: NULL inside the probe succeeds",
        out[0] == 0,
        format_args!("x0 = {:#x}", out[0]),
    );
    let echo_args = [seed, !seed, seed ^ 0x5a5a, 4, 5, 6, 7];
    let [a1, a2, a3, a4, a5, a6, a7] = echo_args;
    let (survived, out) = fp_probe(
        [ids::ECHO.to_x0(), a1, a2, a3, a4, a5, a6, a7],
        seed.rotate_left(17),
        fpcr,
        fpsr,
    );
    report.result("fp: V0-V31/FPCR/FPSR survive ECHO (yielding)", survived);
    let expected = echo_reply(echo_args);
    report.check(
        "fp: ECHO inside the probe succeeds",
        out[0] == 0 && out[1..] == expected,
        format_args!("x0..x3 = {out:#x?}, expected x1..x3 = {expected:#x?}"),
    );
    if !learned.test_calls {
        report.skip(
            "fp: V0-V31/FPCR/FPSR survive TEST_FP",
            "firmware built without TEST_CALLS",
        );
        return;
    }
    let expected = test_fp_reply(FP_A, FP_B);
    // Twice: the first call takes the secure world's lazy FP trap, the second must too
    // (the secure world disables FP again before it returns).
    let rounds = [
        (
            "fp: V0-V31/FPCR/FPSR survive TEST_FP (1st call)",
            "fp: TEST_FP result, a*b a+b a/b round-to-nearest (1st call)",
        ),
        (
            "fp: V0-V31/FPCR/FPSR survive TEST_FP (2nd call)",
            "fp: TEST_FP result, a*b a+b a/b round-to-nearest (2nd call)",
        ),
    ];
    for (round, (survive_name, result_name)) in (1u64..).zip(rounds) {
        let (survived, out) = fp_probe(
            [ids::TEST_FP.to_x0(), FP_A, FP_B, 0, 0, 0, 0, 0],
            seed.wrapping_add(round.wrapping_mul(0x1357_9bdf_0246_8ace)),
            fpcr,
            fpsr,
        );
        report.result(survive_name, survived);
        report.check(
            result_name,
            out[0] == 0 && out[1..] == expected,
            format_args!(
                "x0 = {:?}, x1..x3 = {:#x?}, expected {expected:#x?}",
                status_of(out[0]),
                &out[1..]
            ),
        );
    }
}
