//! GET_INFO, the standard Trusted OS queries, NULL and ECHO.

use super::*;

/// GET_INFO: every selector, then the sanity of each page.
pub(super) fn info_checks(report: &mut Report) -> Learned {
    let versions = Smc.versions();
    let selector_count = match versions {
        Ok(v) => {
            println!(
                "info: protocol {}, firmware {}, {} GET_INFO selectors",
                v.protocol, v.firmware, v.selector_count
            );
            report.check(
                "get-info VERSIONS: protocol version",
                v.protocol == PROTOCOL_VERSION,
                format_args!(
                    "firmware speaks {}, client {}",
                    v.protocol, PROTOCOL_VERSION
                ),
            );
            report.check(
                "get-info VERSIONS: selector count",
                v.selector_count >= InfoSelector::COUNT,
                format_args!(
                    "{} selectors, client knows {}",
                    v.selector_count,
                    InfoSelector::COUNT
                ),
            );
            v.selector_count
        }
        Err(e) => {
            report.fail("get-info VERSIONS", format_args!("{e}"));
            InfoSelector::COUNT
        }
    };

    // Every selector the firmware announces answers SUCCESS (capped: the value is untrusted).
    let mut all_ok = true;
    for selector in 0..selector_count.min(64) {
        if let Err(e) = Smc.get_info_raw(selector) {
            report.fail(
                "get-info: every selector",
                format_args!("selector {selector}: {e}"),
            );
            all_ok = false;
        }
    }
    if all_ok {
        report.pass("get-info: every selector answers");
    }
    for selector in ALL_SELECTORS {
        if selector.to_raw() >= selector_count {
            report.fail(
                "get-info: known selector served",
                format_args!("{} is beyond the firmware's count", selector.name()),
            );
        }
    }

    match Smc.pool_info() {
        Ok(p) => {
            println!(
                "info: pool {} bytes, {} used, high-water {}",
                p.size, p.used, p.high_water
            );
            report.check(
                "get-info POOL: size > 0, used <= high-water <= size",
                p.size > 0,
                format_args!("pool size is 0"),
            );
        }
        Err(e) => report.fail(
            "get-info POOL: size > 0, used <= high-water <= size",
            format_args!("{e}"),
        ),
    }

    match Smc.cpu_info() {
        Ok(c) => {
            println!(
                "info: CPUs seen {} (mask {:#x}), max {}",
                c.seen_count, c.seen_mask, c.max_cpus
            );
            report.check(
                "get-info CPUS: boot CPU seen",
                c.seen_count >= 1 && c.seen_mask & 1 != 0 && c.max_cpus >= 2,
                format_args!(
                    "count {}, mask {:#x}, max {}",
                    c.seen_count, c.seen_mask, c.max_cpus
                ),
            );
        }
        Err(e) => report.fail("get-info CPUS: boot CPU seen", format_args!("{e}")),
    }

    let test_calls = match Smc.features() {
        Ok(f) => {
            println!("info: features {:?}", f.features);
            report.check(
                "get-info FEATURES: FP_SIMD",
                f.features.contains(Features::FP_SIMD),
                format_args!("{:?}", f.features),
            );
            f.features.contains(Features::TEST_CALLS)
        }
        Err(e) => {
            report.fail("get-info FEATURES: FP_SIMD", format_args!("{e}"));
            false
        }
    };
    Learned { test_calls }
}

/// The standard Trusted OS queries (OEN 63).
pub(super) fn os_query_checks(report: &mut Report, learned: Learned) {
    let expected = tzwasm_smc::Call::served_count(learned.test_calls);
    match Smc.call_count() {
        Ok(n) => report.check(
            "os: Call Count",
            n == expected,
            format_args!("{n} calls, expected {expected}"),
        ),
        Err(e) => report.fail("os: Call Count", format_args!("{e}")),
    }
    match Smc.call_uid() {
        Ok(uid) => report.check(
            "os: Call UID is the tzwasm UUID",
            uid == TZWASM_UID,
            format_args!("got {uid}, expected {TZWASM_UID}"),
        ),
        Err(e) => report.fail("os: Call UID is the tzwasm UUID", format_args!("{e}")),
    }
    match Smc.revision() {
        Ok(rev) => report.check(
            "os: Revision",
            rev == PROTOCOL_VERSION,
            format_args!("got {rev}, expected {PROTOCOL_VERSION}"),
        ),
        Err(e) => report.fail("os: Revision", format_args!("{e}")),
    }
}

/// NULL (fast) and ECHO (yielding).
pub(super) fn call_checks(report: &mut Report) {
    let regs = Smc.invoke(ids::NULL, [0x1111, 0x2222, 0x3333, 0, 0, 0, 0]);
    report.check(
        "NULL fast call: SUCCESS, x1..x3 zero",
        regs == [0, 0, 0, 0],
        format_args!("x0..x3 = {regs:#x?}"),
    );
    echo_check(report, 0x0102_0304_0506_0708);
}

/// One ECHO call whose arguments are derived from `seed`.
pub(super) fn echo_check(report: &mut Report, seed: u64) {
    let mut args = [0u64; 7];
    for (i, a) in args.iter_mut().enumerate() {
        *a = seed.rotate_left(8 * i as u32) ^ (i as u64);
    }
    match Smc.echo(args) {
        Ok(reply) => {
            let expected = echo_reply(args);
            report.check(
                "ECHO yielding call",
                reply == expected,
                format_args!("x1..x3 = {reply:#x?}, expected {expected:#x?}"),
            );
        }
        Err(e) => report.fail("ECHO yielding call", format_args!("{e}")),
    }
}
