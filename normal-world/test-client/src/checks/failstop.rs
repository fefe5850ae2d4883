//! Crash mode: TEST_FAULT, then every later call answers FAILED with the recorded message.

use super::*;

/// Crash mode, on the secondary CPU: TEST_FAULT with `kind`; `x0` of the answer (FAILED: the
/// secure world failed stop).
pub fn call_test_fault(kind: u64) -> u64 {
    Smc.invoke(ids::TEST_FAULT, [kind, 0, 0, 0, 0, 0, 0])[0]
}

/// Text the fail-stop message must contain for each TEST_FAULT kind (the secure world's
/// summary of the exception, or the panic message).
pub(super) fn expected_failure_text(kind: u64) -> &'static str {
    match FaultKind::from_raw(kind) {
        Some(FaultKind::DataAbortUnmapped) => {
            "CPU 1: synchronous exception in S-EL1: EC 0x25 (data abort from same EL), \
             translation fault"
        }
        Some(FaultKind::UndefinedInstruction) => {
            "CPU 1: synchronous exception in S-EL1: EC 0x00 (unknown reason / undefined \
             instruction)"
        }
        Some(FaultKind::StackGuardOverflow) => "(guard page below a main stack)",
        Some(FaultKind::WriteToReadOnly) => "permission fault, level 3 (write)",
        Some(FaultKind::ExecuteNonExecutable) => "EC 0x21 (instruction abort from same EL)",
        Some(FaultKind::Panic) => "TEST_FAULT: deliberate panic",
        None => "(no such kind)",
    }
}

/// Crash mode, on the primary after the secondary's TEST_FAULT: the secure world has failed
/// stop. Ordinary calls answer FAILED at once on this CPU too; the standard queries and
/// GET_INFO VERSIONS still identify it; GET_INFO FAILURE gives the message.
pub fn failed_world_checks(report: &mut Report, kind: u64) {
    let failed = Status::Failed;
    let x0 = Smc.invoke(ids::NULL, [0; 7])[0];
    expect_status(report, "fail-stop: NULL on cpu0 answers FAILED", x0, failed);
    let x0 = Smc.invoke(ids::SESSION_OPEN, [8 << 20, 0, 0, 0, 0, 0, 0])[0];
    expect_status(report, "fail-stop: SESSION_OPEN answers FAILED", x0, failed);
    let x0 = Smc.invoke(ids::SHM_REGISTER, [SHM_BASE, 0x1000, 0, 0, 0, 0, 0])[0];
    expect_status(report, "fail-stop: SHM_REGISTER answers FAILED", x0, failed);
    let x0 = Smc.invoke(ids::TEST_FAULT, [kind, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "fail-stop: a second TEST_FAULT answers FAILED",
        x0,
        failed,
    );
    report.check(
        "fail-stop: GET_INFO POOL answers FAILED",
        Smc.pool_info() == Err(ClientError::Status(failed)),
        format_args!("got {:?}", Smc.pool_info()),
    );
    report.check(
        "fail-stop: Call UID still identifies tzwasm",
        Smc.call_uid() == Ok(TZWASM_UID),
        format_args!("got {:?}", Smc.call_uid()),
    );
    report.check(
        "fail-stop: GET_INFO VERSIONS still answers",
        Smc.versions().is_ok_and(|v| v.protocol == PROTOCOL_VERSION),
        format_args!("got {:?}", Smc.versions()),
    );
    match Smc.failure_message() {
        Ok(message) => {
            println!("crash-test: failure message: {message}");
            let text = message.as_bytes();
            let want = expected_failure_text(kind).as_bytes();
            report.check(
                "fail-stop: GET_INFO FAILURE gives the message",
                text.windows(want.len()).any(|w| w == want),
                format_args!(
                    "message \"{message}\" lacks \"{}\"",
                    expected_failure_text(kind)
                ),
            );
        }
        Err(e) => report.fail(
            "fail-stop: GET_INFO FAILURE gives the message",
            format_args!("{e}"),
        ),
    }
    let r = Smc.invoke(
        ids::GET_INFO,
        [InfoSelector::Failure.to_raw(), 192, 0, 0, 0, 0, 0],
    );
    expect_status(
        report,
        "fail-stop: GET_INFO FAILURE beyond the message is INVALID_PARAMETER",
        r[0],
        Status::InvalidParameter,
    );
}
