//! TEST_EL0: the S-EL0 programs and the faults they must raise.

use super::*;

/// TEST_EL0: each hand-written S-EL0 program either computes its result and returns through
/// SVC or traps with the expected exception class; the payload survives every one, the pool
/// returns to its baseline, and the normal world's FP/SIMD registers survive EL0 FP use.
pub(super) fn el0_checks(report: &mut Report, learned: Learned) {
    if !learned.test_calls {
        let x0 = Smc.test_el0(El0Program::Add, 1, 2)[0];
        expect_status(
            report,
            "release: TEST_EL0 -> NOT_SUPPORTED",
            x0,
            Status::NotSupported,
        );
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let (a, b) = (0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321);
    let (fa, fb) = (2.5f64.to_bits(), (-4.0f64).to_bits());
    for program in ALL_EL0_PROGRAMS {
        let (x, y) = if program == El0Program::FpMulAdd {
            (fa, fb)
        } else {
            (a, b)
        };
        let r = Smc.test_el0(program, x, y);
        let got = match status_of(r[0]) {
            Ok(Status::Success) => Ok(r[1]),
            Ok(Status::Trapped) => Err(r[1] as u8),
            _ => {
                report.fail(
                    "el0: program",
                    format_args!(
                        "{}: x0 = {:#x} ({:?})",
                        program.name(),
                        r[0],
                        status_of(r[0])
                    ),
                );
                continue;
            }
        };
        let expected = program.expected(x, y);
        let mut name: heapless_name::Name = heapless_name::Name::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("el0: {}", program.name()));
        report.check(
            name.as_str(),
            got == expected,
            format_args!("got {got:#x?}, expected {expected:#x?} (FAR {:#x})", r[2]),
        );
    }
    let bad = Smc.invoke(
        ids::TEST_EL0,
        [ALL_EL0_PROGRAMS.len() as u64, 0, 0, 0, 0, 0, 0],
    )[0];
    expect_status(
        report,
        "el0: unknown program -> INVALID_PARAMETER",
        bad,
        Status::InvalidParameter,
    );
    expect_alive(report, "el0: NULL works after every EL0 program");
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "el0: pool usage back to baseline",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
    let (survived, out) = fp_probe(
        [
            ids::TEST_EL0.to_x0(),
            El0Program::FpMulAdd.to_raw(),
            fa,
            fb,
            0,
            0,
            0,
            0,
        ],
        0x0bad_cafe_f00d_0001,
        FPCR_PRIMARY,
        FPSR_PRIMARY,
    );
    report.result("el0: V0-V31/FPCR/FPSR survive FP use at S-EL0", survived);
    report.check(
        "el0: FP program result inside the probe",
        out[0] == 0 && Ok(out[1]) == El0Program::FpMulAdd.expected(fa, fb),
        format_args!("x0..x1 = {:#x?}", &out[..2]),
    );
}
