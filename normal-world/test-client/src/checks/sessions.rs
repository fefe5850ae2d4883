//! SESSION_OPEN/CLOSE, LOAD and UNLOAD: quotas, reports, bad arguments and load cycles.

use super::*;

pub(super) fn name_buf(args: core::fmt::Arguments<'_>) -> heapless_name::Name {
    let mut n = heapless_name::Name::new();
    let _ = core::fmt::Write::write_fmt(&mut n, args);
    n
}

/// Reads the LOAD report the secure world wrote at `at`.
pub(super) fn read_report(at: u64) -> Option<LoadReport> {
    let mut b = [0u8; LOAD_REPORT_SIZE];
    for (k, v) in b.iter_mut().enumerate() {
        // SAFETY: normal-world RAM this client registered and owns.
        *v = unsafe { core::ptr::read_volatile((at + k as u64) as *const u8) };
    }
    LoadReport::from_bytes(&b)
}

pub(super) fn sha256_of(at: u64, len: u64) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for k in 0..len {
        // SAFETY: normal-world RAM this client owns (the preloaded module).
        h.update([unsafe { core::ptr::read_volatile((at + k) as *const u8) }]);
    }
    h.finalize().into()
}

/// Sessions, LOAD with its measurement and quota rules, UNLOAD, STATS, and hostile inputs,
/// with the preloaded module (see [`aot_checks`]).
pub(super) fn session_checks(report: &mut Report) {
    let pool = match Smc.pool_info() {
        Ok(p) => p,
        Err(e) => {
            report.fail("session: pool info", format_args!("{e}"));
            return;
        }
    };
    let r = Smc.invoke(ids::SESSION_OPEN, [0, 0, 0, 0, 0, 0, 0]);
    report.check(
        "session: zero quota -> QUOTA_TOO_SMALL with the minimum",
        r[0] == Status::QuotaTooSmall.to_raw() && r[1] == SESSION_MIN_QUOTA,
        format_args!("x0 = {:?}, x1 = {}", status_of(r[0]), r[1]),
    );
    let r = Smc.invoke(ids::SESSION_OPEN, [pool.size + 1, 0, 0, 0, 0, 0, 0]);
    report.check(
        "session: quota above the pool -> QUOTA_TOO_LARGE with the bytes free for sessions",
        r[0] == Status::QuotaTooLarge.to_raw() && r[1] < pool.size,
        format_args!(
            "x0 = {:?}, x1 = {} (pool {})",
            status_of(r[0]),
            r[1],
            pool.size
        ),
    );
    // Well-formed arguments (a zero length would be BAD_ADDRESS before any handle is looked
    // up), a session that does not exist.
    let x0 = Smc.invoke(ids::LOAD, [0x1234, 0, 0, 1, 0, 0, 0])[0];
    expect_status(
        report,
        "session: LOAD on a bogus session -> NO_SUCH_HANDLE",
        x0,
        Status::NoSuchHandle,
    );
    let x0 = Smc.invoke(ids::UNLOAD, [0, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "session: UNLOAD on a bogus session -> NO_SUCH_HANDLE",
        x0,
        Status::NoSuchHandle,
    );

    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    let len = unsafe { core::ptr::read_volatile(AOT_LEN_WORD as *const u64) };
    if len < 64 {
        report.skip("session: LOAD checks", "no module preloaded");
        return;
    }
    let file_pages = len.div_ceil(0x1000) * 0x1000;
    let report_off = file_pages;
    let shm = match Smc.shm_register(AOT_FILE, file_pages + 0x1000) {
        Ok(h) => h,
        Err(e) => {
            report.fail(
                "session: register the module and report pages",
                format_args!("{e}"),
            );
            return;
        }
    };
    let open = |quota: u64| Smc.invoke(ids::SESSION_OPEN, [quota, 0, 0, 0, 0, 0, 0]);
    let load = |s: u64, off: u64, n: u64| load_regs(s, shm, off, n, report_off);
    let close = |s: u64| session_only(SessionCall::Close, s)[0];
    let baseline = Smc.pool_info().map(|p| p.used);
    let expected_sha = sha256_of(AOT_FILE, len);

    let s = open(4 << 20);
    report.check(
        "session: open with a 4 MiB quota",
        s[0] == 0,
        format_args!("x0 = {:?}", status_of(s[0])),
    );
    let s = s[1];
    let r = load(s, 0, len);
    let rep = read_report(AOT_FILE + report_off);
    report.check(
        "session: LOAD succeeds",
        r[0] == 0 && r[1] > len,
        format_args!(
            "x0 = {:?}, x1 = {}, message {:?}",
            status_of(r[0]),
            r[1],
            rep.map(|r| r.message)
        ),
    );
    report.check(
        "session: LOAD measures the module (SHA-256 = the client's sha256 of the file)",
        rep.is_some_and(|rp| rp.sha256 == expected_sha && rp.status == 0 && rp.charged == r[1]),
        format_args!("report {:?}", rep.map(|rp| rp.sha256)),
    );
    let st = stats_regs(s, 0);
    report.check(
        "session: STATS shows quota, bytes charged and a loaded module",
        st[0] == 0 && st[1] == 4 << 20 && st[2] == r[1] && st[3] == 1,
        format_args!("{st:#x?}"),
    );
    // ATTEST answers as GET_INFO FEATURES says: a token when the image has a device identity
    // (the harness provisions the device page), NOT_SUPPORTED in the image built without
    // attestation. Nonce and token in the report page, which LOAD has finished with.
    let attestation = has_feature(Features::ATTESTATION);
    let a = Smc.invoke(
        ids::ATTEST,
        [s, shm.raw(), report_off, 32, report_off + 64, 2048, 0],
    );
    if attestation {
        report.check(
            "session: ATTEST with ATTESTATION -> a token",
            a[0] == 0 && a[1] > 32 && a[1] <= 2048,
            format_args!("x0 = {:?}, x1 = {}", status_of(a[0]), a[1]),
        );
    } else {
        println!("session: no ATTESTATION feature");
        expect_status(
            report,
            "session: ATTEST without ATTESTATION -> NOT_SUPPORTED",
            a[0],
            Status::NotSupported,
        );
    }
    let x0 = load(s, 0, len)[0];
    expect_status(
        report,
        "session: second LOAD -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let x0 = session_only(SessionCall::Unload, s)[0];
    expect_status(report, "session: UNLOAD", x0, Status::Success);
    let x0 = session_only(SessionCall::Unload, s)[0];
    expect_status(
        report,
        "session: double UNLOAD -> BAD_STATE",
        x0,
        Status::BadState,
    );

    // Hostile LOAD arguments, each followed by proof the session still works.
    let hostile: [(&str, [u64; 7], Status); 6] = [
        (
            "file past the registration",
            [s, shm.raw(), file_pages, len, report_off, 0, 0],
            Status::BadAddress,
        ),
        (
            "zero length",
            [s, shm.raw(), 0, 0, report_off, 0, 0],
            Status::BadAddress,
        ),
        (
            "wrapping offset",
            [s, shm.raw(), u64::MAX - 4, 16, report_off, 0, 0],
            Status::BadAddress,
        ),
        (
            "unaligned report",
            [s, shm.raw(), 0, len, report_off + 4, 0, 0],
            Status::BadAddress,
        ),
        (
            "report past the end",
            [s, shm.raw(), 0, len, report_off + 0xf80, 0, 0],
            Status::BadAddress,
        ),
        (
            "dead shared-memory handle",
            [s, shm.raw() ^ 0x100, 0, len, report_off, 0, 0],
            Status::NoSuchHandle,
        ),
    ];
    for (what, args, expected) in hostile {
        let x0 = Smc.invoke(ids::LOAD, args)[0];
        expect_status(
            report,
            name_buf(format_args!("session: LOAD {what} refused")).as_str(),
            x0,
            expected,
        );
    }
    let r = load(s, 8, len - 8);
    let rep = read_report(AOT_FILE + report_off);
    report.check(
        "session: truncated file -> BAD_MODULE with a readable message",
        r[0] == Status::BadModule.to_raw() && rep.is_some_and(|r| r.message().contains("AOT")),
        format_args!(
            "x0 = {:?}, message {:?}",
            status_of(r[0]),
            rep.as_ref().map(|r| r.message())
        ),
    );
    // Flip a byte of the version field, load, restore.
    let at = (AOT_FILE + 4) as *mut u8;
    // SAFETY: the preloaded module in normal-world RAM this client owns.
    let orig = unsafe { core::ptr::read_volatile(at) };
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(at, orig ^ 0x04) };
    let r = load(s, 0, len);
    let rep = read_report(AOT_FILE + report_off);
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(at, orig) };
    report.check(
        "session: bit-flipped version -> BAD_MODULE naming the version",
        r[0] == Status::BadModule.to_raw() && rep.is_some_and(|r| r.message().contains("version")),
        format_args!(
            "x0 = {:?}, message {:?}",
            status_of(r[0]),
            rep.as_ref().map(|r| r.message())
        ),
    );
    let _ = close(s);

    // Quota: too small names the minimum, and the minimum is enough.
    let s = open(SESSION_MIN_QUOTA)[1];
    let r = load(s, 0, len);
    let rep = read_report(AOT_FILE + report_off);
    let min = r[1];
    report.check(
        "session: small quota -> QUOTA_TOO_SMALL stating the module's minimum",
        r[0] == Status::QuotaTooSmall.to_raw()
            && min > SESSION_MIN_QUOTA
            && rep.is_some_and(|r| r.min_quota == min && r.message().contains("needs at least")),
        format_args!(
            "x0 = {:?}, x1 = {min}, {:?}",
            status_of(r[0]),
            rep.as_ref().map(|r| r.message())
        ),
    );
    let _ = close(s);
    let s = open(min)[1];
    let r = load(s, 0, len);
    report.check(
        "session: a quota of exactly that minimum loads",
        r[0] == 0 && r[1] <= min,
        format_args!("x0 = {:?}, charged {}", status_of(r[0]), r[1]),
    );
    let _ = close(s);

    // Capacity (bounded by memory), quotas reserved at OPEN, then everything back.
    crate::parallel::capacity_checks(report);
    crate::parallel::quota_underflow_check(report);

    // Calls out of order, then load/run/unload cycles that leave the pool where it was.
    let Ok(work_shm) = Smc.shm_register(WORK, WORK_SIZE) else {
        report.fail("session: register the work area", format_args!("failed"));
        return;
    };
    let mut blk = [0u8; 64];
    let n = RunBlock::encode(b"", &[b"hello"], &[], &mut blk).unwrap_or(0) as u64;
    for (k, b) in blk[..n as usize].iter().enumerate() {
        // SAFETY: the work area is normal-world RAM this client owns.
        unsafe { core::ptr::write_volatile((WORK + k as u64) as *mut u8, *b) };
    }
    let ring_len = ring::block_size(4096, 4096).unwrap_or(0) as u64;
    let run = |s: u64| -> u64 {
        // SAFETY: the work area is normal-world RAM this client owns, 64-aligned.
        let region = unsafe { SharedRegion::new((WORK + RING_OFF) as *mut u8, ring_len as usize) };
        if region
            .and_then(|r| Consumer::format(r, 4096, 4096))
            .is_err()
        {
            return u64::MAX;
        }
        // The run report goes after the run block.
        let (Some(block), Some(ring)) = (ShmSpan::new(0, n), ShmSpan::new(RING_OFF, ring_len))
        else {
            return u64::MAX;
        };
        let session = SessionHandle::from_raw(s);
        send(
            RunArgs::new(session, work_shm, block, ring, ShmOffset::new(0x200))
                .map(|a| a.to_regs()),
        )[0]
    };
    let s = open(4 << 20)[1];
    let x0 = run(s);
    expect_status(
        report,
        "session: RUN before LOAD -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let x0 = session_only(SessionCall::Resume, s)[0];
    expect_status(
        report,
        "session: RESUME with nothing paused -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let x0 = session_only(SessionCall::Cancel, s)[0];
    expect_status(
        report,
        "session: CANCEL with nothing paused -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let mut first_failure = None;
    for i in 0..LOAD_CYCLES {
        let got = [
            load(s, 0, len)[0],
            run(s),
            session_only(SessionCall::Unload, s)[0],
        ];
        if got != [0; 3] && first_failure.is_none() {
            first_failure = Some((i, got.map(status_of)));
        }
    }
    let ok = first_failure.is_none();
    let _ = close(s);
    let _ = Smc.shm_unregister(work_shm);
    report.check(
        name_buf(format_args!(
            "session: {LOAD_CYCLES} load/run/unload cycles succeed"
        ))
        .as_str(),
        ok,
        format_args!("cycle, LOAD/RUN/UNLOAD statuses: {first_failure:?}"),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "session: pool back to baseline after all sessions",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
    report.result(
        "session: unregister the module pages",
        Smc.shm_unregister(shm),
    );
}
