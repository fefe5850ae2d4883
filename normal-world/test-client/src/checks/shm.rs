//! SHM_REGISTER/UNREGISTER and TEST_SHM: address checks, overlap, limits, both worlds seeing the same bytes.

use super::*;

/// Normal-world memory the client shares in its checks: above its own image (0x60000000),
/// inside the 1 GiB of DRAM QEMU gives the normal world.
pub(super) const SHM_BASE: u64 = 0x7000_0000;

/// SHM_REGISTER / SHM_UNREGISTER: hostile ranges are refused with the right status and the
/// secure world keeps serving; a good range is shared both ways (TEST_SHM); handles die with
/// their registration; the table has a fixed capacity.
pub(super) fn shm_checks(report: &mut Report, learned: Learned) {
    let hostile: [(&str, u64, u64, Status); 10] = [
        ("secure memory", 0x0e10_0000, 0x1000, Status::BadAddress),
        ("MMIO (UART0)", 0x0900_0000, 0x1000, Status::BadAddress),
        ("unaligned base", SHM_BASE + 1, 0x1000, Status::BadAddress),
        ("unaligned size", SHM_BASE, 0x800, Status::BadAddress),
        ("zero length", SHM_BASE, 0, Status::BadAddress),
        ("huge", SHM_BASE, 1 << 40, Status::BadAddress),
        (
            "wrapping",
            0xffff_ffff_ffff_f000,
            0x2000,
            Status::BadAddress,
        ),
        (
            "past the end of DRAM",
            0x7fff_f000,
            0x2000,
            Status::BadAddress,
        ),
        ("beyond DRAM", 0x1_0000_0000, 0x1000, Status::BadAddress),
        (
            "secure DRAM end straddle",
            0x0eff_f000,
            0x2000,
            Status::BadAddress,
        ),
    ];
    for (what, base, size, expected) in hostile {
        let x0 = Smc.invoke(ids::SHM_REGISTER, [base, size, 0, 0, 0, 0, 0])[0];
        let mut name = heapless_name::Name::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("shm: {what} refused"));
        expect_status(report, name.as_str(), x0, expected);
    }
    expect_alive(report, "shm: NULL works after hostile registrations");

    let handle = match Smc.shm_register(SHM_BASE, 0x4000) {
        Ok(h) => {
            report.pass("shm: register 16 KiB of normal-world DRAM");
            h
        }
        Err(e) => {
            report.fail(
                "shm: register 16 KiB of normal-world DRAM",
                format_args!("{e}"),
            );
            return;
        }
    };
    let overlap = Smc.invoke(
        ids::SHM_REGISTER,
        [SHM_BASE + 0x3000, 0x2000, 0, 0, 0, 0, 0],
    )[0];
    expect_status(
        report,
        "shm: overlapping range refused",
        overlap,
        Status::Overlap,
    );

    if learned.test_calls {
        let len = 256usize;
        let area = (SHM_BASE + 0x1000) as *mut u8;
        let mut pattern = [0u8; 256];
        for (i, b) in pattern.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0x5c;
            // SAFETY: SHM_BASE.. is normal-world DRAM this client owns and nothing else uses.
            unsafe { core::ptr::write_volatile(area.add(i), *b) };
        }
        let r = Smc.invoke(
            ids::TEST_SHM,
            [handle.raw(), 0x1000, len as u64, 0, 0, 0, 0],
        );
        report.check(
            "shm: secure world reads the shared bytes (TEST_SHM hash)",
            r[0] == 0 && r[1] == shm_test_hash(&pattern),
            format_args!("x0 = {:#x}, x1 = {:#x}", r[0], r[1]),
        );
        // SAFETY: as above.
        let inverted =
            (0..len).all(|i| unsafe { core::ptr::read_volatile(area.add(i)) } == !pattern[i]);
        report.check(
            "shm: normal world sees the secure world's writes",
            inverted,
            format_args!("bytes not inverted"),
        );
        let x0 = Smc.invoke(ids::TEST_SHM, [handle.raw(), 0x3f00, 0x200, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "shm: TEST_SHM past the registration refused",
            x0,
            Status::BadAddress,
        );
        let x0 = Smc.invoke(ids::TEST_SHM, [handle.raw(), u64::MAX, 2, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "shm: TEST_SHM wrapping offset refused",
            x0,
            Status::BadAddress,
        );
    } else {
        let x0 = Smc.invoke(ids::TEST_SHM, [handle.raw(), 0, 1, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "release: TEST_SHM -> NOT_SUPPORTED",
            x0,
            Status::NotSupported,
        );
    }

    report.result("shm: unregister", Smc.shm_unregister(handle));
    let again = Smc.shm_unregister(handle);
    report.check(
        "shm: double unregister -> NO_SUCH_HANDLE",
        again == Err(ClientError::Status(Status::NoSuchHandle)),
        format_args!("got {again:?}"),
    );
    if learned.test_calls {
        let x0 = Smc.invoke(ids::TEST_SHM, [handle.raw(), 0, 1, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "shm: dead handle refused by TEST_SHM",
            x0,
            Status::NoSuchHandle,
        );
    }

    // Capacity: SHM_MAX_REGISTRATIONS live at once, then NO_RESOURCES; all come back.
    let mut handles = [None; SHM_MAX_REGISTRATIONS];
    let mut ok = true;
    for (i, h) in handles.iter_mut().enumerate() {
        match Smc.shm_register(SHM_BASE + i as u64 * 0x1000, 0x1000) {
            Ok(v) => *h = Some(v),
            Err(_) => ok = false,
        }
    }
    report.check(
        "shm: SHM_MAX_REGISTRATIONS at once",
        ok,
        format_args!("a registration below the limit failed"),
    );
    let full = Smc.invoke(
        ids::SHM_REGISTER,
        [SHM_BASE + 0x10_0000, 0x1000, 0, 0, 0, 0, 0],
    )[0];
    expect_status(
        report,
        "shm: one more registration -> NO_RESOURCES",
        full,
        Status::NoResources,
    );
    let all_gone = handles
        .iter()
        .all(|&h| h.is_some_and(|h| Smc.shm_unregister(h).is_ok()));
    report.check(
        "shm: every registration unregistered",
        all_gone,
        format_args!("failed"),
    );
    let again = Smc
        .shm_register(SHM_BASE, 0x4000)
        .and_then(|h| Smc.shm_unregister(h));
    report.result("shm: the range can be registered again", again);
}
