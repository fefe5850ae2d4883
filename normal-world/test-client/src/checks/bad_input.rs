//! Bad function ids and bad arguments: every one answered, the secure world still serving.

use super::*;

/// Unknown and malformed function ids, out-of-range arguments; the next call must still work.
pub(super) fn bad_input_checks(report: &mut Report, learned: Learned) {
    let unknown_fast = FunctionId::new(
        CallType::Fast,
        CallConv::Smc64,
        OEN_TZWASM,
        UNKNOWN_FAST_NUMBER,
    );
    let x0 = Smc.invoke(unknown_fast, [0; 7])[0];
    expect_status(
        report,
        "bad id: unknown fast id -> NOT_SUPPORTED",
        x0,
        Status::NotSupported,
    );
    expect_alive(report, "bad id: NULL works after unknown fast id");

    let unknown_yielding = FunctionId::new(
        CallType::Yielding,
        CallConv::Smc64,
        OEN_TZWASM,
        UNKNOWN_YIELDING_NUMBER,
    );
    let x0 = Smc.invoke(unknown_yielding, [0; 7])[0];
    expect_status(
        report,
        "bad id: unknown yielding id -> NOT_SUPPORTED",
        x0,
        Status::NotSupported,
    );
    expect_alive(report, "bad id: NULL works after unknown yielding id");

    // A known number with the wrong call type or convention, a reserved (not yet served)
    // call, and another Trusted OS OEN: all NOT_SUPPORTED.
    let variants: [(&str, FunctionId); 4] = [
        (
            "bad id: NULL as a yielding call -> NOT_SUPPORTED",
            FunctionId::new(
                CallType::Yielding,
                CallConv::Smc64,
                OEN_TZWASM,
                ids::NULL.number(),
            ),
        ),
        (
            "bad id: unassigned module-range number 0x1ff -> NOT_SUPPORTED",
            FunctionId::new(CallType::Yielding, CallConv::Smc64, OEN_TZWASM, 0x01ff),
        ),
        (
            "bad id: unused Trusted OS OEN 51 -> NOT_SUPPORTED",
            FunctionId::new(CallType::Fast, CallConv::Smc64, OEN_TZWASM + 1, 0),
        ),
        (
            "bad id: reserved bits 23:17 set -> NOT_SUPPORTED",
            FunctionId(ids::NULL.raw() | 0x0002_0000),
        ),
    ];
    for (name, id) in variants {
        let x0 = Smc.invoke(id, [0; 7])[0];
        expect_status(report, name, x0, Status::NotSupported);
    }
    // SMC32 variant of GET_INFO: only w0 is defined for SMC32 results.
    let smc32 = FunctionId(ids::GET_INFO.raw() & !tzwasm_smc::function_id::SMC64_BIT);
    let w0 = Smc.invoke(smc32, [0; 7])[0] as u32;
    report.check(
        "bad id: GET_INFO as SMC32 -> NOT_SUPPORTED",
        Status::from_w0(w0) == Some(Status::NotSupported),
        format_args!("w0 = {w0:#x}"),
    );
    // Unknown standard Trusted OS query (0xBF00FF02 is not defined by SMCCC).
    let unknown_query = FunctionId::new(CallType::Fast, CallConv::Smc32, 63, 0xff02);
    let w0 = Smc.invoke(unknown_query, [0; 7])[0] as u32;
    report.check(
        "bad id: unknown Trusted OS query -> NOT_SUPPORTED",
        w0 == u32::MAX,
        format_args!("w0 = {w0:#x}"),
    );
    expect_alive(report, "bad id: NULL works after malformed ids");

    let bad_selectors = [
        (
            "bad arg: GET_INFO selector count+100 -> INVALID_PARAMETER",
            InfoSelector::COUNT + 100,
        ),
        (
            "bad arg: GET_INFO selector u64::MAX -> INVALID_PARAMETER",
            u64::MAX,
        ),
    ];
    for (name, selector) in bad_selectors {
        let x0 = Smc.invoke(ids::GET_INFO, [selector, 0, 0, 0, 0, 0, 0])[0];
        expect_status(report, name, x0, Status::InvalidParameter);
    }
    expect_alive(report, "bad arg: NULL works after bad selectors");

    if learned.test_calls {
        let err = Smc.test_fault_raw(0xdead);
        report.check(
            "bad arg: TEST_FAULT unknown kind -> INVALID_PARAMETER",
            err == ClientError::Status(Status::InvalidParameter),
            format_args!("got {err}"),
        );
        expect_alive(report, "bad arg: NULL works after bad TEST_FAULT kind");
    } else {
        // A release firmware must refuse the test-only calls.
        let err = Smc.test_fault_raw(0);
        report.check(
            "release: TEST_FAULT -> NOT_SUPPORTED",
            err == ClientError::Status(Status::NotSupported),
            format_args!("got {err}"),
        );
        let x0 = Smc.invoke(ids::TEST_FP, [FP_A, FP_B, 0, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "release: TEST_FP -> NOT_SUPPORTED",
            x0,
            Status::NotSupported,
        );
    }
}
