//! Timing figures: null call against PSCI_VERSION, LOAD stage times, the timing run.

use super::*;

pub(super) fn micros(ticks: u64, freq: u64) -> u64 {
    ticks.saturating_mul(1_000_000) / freq.max(1)
}

/// Where QEMU preloads the ~1 MiB module of the load figure (qemu/guests/gen-big.py); its
/// length is preload word 10.
pub(super) const BIG_AOT: u64 = 0x6800_0000;

/// Informational figures (never pass/fail criteria): LOAD's breakdown for the ~1 MiB module
/// (or, without it, the largest corpus module).
pub(super) fn figures(report: &mut Report) {
    // SAFETY: normal-world RAM the harness writes before boot.
    let big_len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * 10) as *const u64) };
    // SAFETY: as above.
    let bundle_len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * 5) as *const u64) };
    let (base, reg_len, off, size) = if big_len > 64 {
        let reg = big_len.div_ceil(0x1000) * 0x1000 + 0x1000;
        (BIG_AOT, reg, 0, big_len)
    } else if bundle_len >= 8 && bundle_u64(0) as u32 == u32::from_le_bytes(*b"TZBN") {
        let (mut off, mut size) = (0, 0);
        for i in 0..bundle_u64(0) >> 32 {
            let e = 8 + 96 * i;
            let (o, n) = (bundle_u64(e + 8 + 16 * 2), bundle_u64(e + 16 + 16 * 2));
            if n > size {
                (off, size) = (o, n);
            }
        }
        (BUNDLE, bundle_len, off, size)
    } else {
        return;
    };
    let Ok(shm) = Smc.shm_register(base, reg_len) else {
        return;
    };
    let s = Smc.invoke(ids::SESSION_OPEN, [8 << 20, 0, 0, 0, 0, 0, 0]);
    // A first LOAD + UNLOAD warms the emulator (QEMU allocates host memory for guest RAM on
    // first touch); the second one is measured.
    let _ = load_regs(s[1], shm, off, size, reg_len - 0x1000);
    let _ = session_only(SessionCall::Unload, s[1]);
    let t0 = arch::counter();
    let r = load_regs(s[1], shm, off, size, reg_len - 0x1000);
    let total = arch::counter() - t0;
    let p1 = stats_regs(s[1], 1);
    let p2 = stats_regs(s[1], 2);
    let p3 = stats_regs(s[1], 3);
    let _ = session_only(SessionCall::Close, s[1]);
    let _ = Smc.shm_unregister(shm);
    let f = p1[1];
    report.check(
        "figure: LOAD breakdown from STATS",
        r[0] == 0 && p1[0] == 0 && p2[0] == 0 && p3[0] == 0 && f > 0,
        format_args!(
            "LOAD x0 = {:#x}, STATS {:#x} {:#x} {:#x}",
            r[0], p1[0], p2[0], p3[0]
        ),
    );
    // Everything in secure-counter ticks: the client's interval converted to them.
    let total_ticks = total * f / arch::counter_frequency().max(1);
    let hash = p1[3].max(1);
    let inside = p1[2] + p1[3] + p2[1] + p2[2];
    println!(
        "figure: LOAD of a {} KiB module: {} us in all (client-timed), copy {} us, SHA-256 {} us, parse {} us, instantiate {} us (relocate {} us, allocate+zero+map+seal {} us, instance set-up {} us)",
        size / 1024,
        micros(total, arch::counter_frequency()),
        micros(p1[2], f),
        micros(p1[3], f),
        micros(p2[1], f),
        micros(p2[2], f),
        micros(p3[1], f),
        micros(p3[2], f),
        micros(p3[3], f),
    );
    println!(
        "figure: load/hash ratio {}.{:02} client-timed, {}.{:02} inside the payload (goal <= 1.5)",
        total_ticks / hash,
        total_ticks * 100 / hash % 100,
        inside / hash,
        inside * 100 / hash % 100
    );
}

/// Times [`TIMING_CALLS`] NULL calls and as many PSCI_VERSION calls; informational only.
pub fn timing() {
    let freq = arch::counter_frequency();
    // Warm up both paths (first-touch effects in QEMU's translation cache).
    for _ in 0..100 {
        let _ = Smc.null_call();
        psci::version();
    }
    // Alternating batches, so a slow phase of the (shared, emulating) host hits both sides.
    let mut null_errors = 0u64;
    let (mut null_ticks, mut psci_ticks) = (0u64, 0u64);
    for _ in 0..TIMING_BATCHES {
        let start = arch::counter();
        for _ in 0..TIMING_CALLS / TIMING_BATCHES {
            if Smc.call([ids::NULL.to_x0(), 0, 0, 0, 0, 0, 0, 0])[0] != 0 {
                null_errors += 1;
            }
        }
        null_ticks = null_ticks.saturating_add(arch::counter().wrapping_sub(start));
        let start = arch::counter();
        for _ in 0..TIMING_CALLS / TIMING_BATCHES {
            psci::version();
        }
        psci_ticks = psci_ticks.saturating_add(arch::counter().wrapping_sub(start));
    }

    let show = |v: Option<u64>| v.unwrap_or(u64::MAX);
    println!(
        "timing: NULL fast call {} ns/call, PSCI_VERSION {} ns/call ({TIMING_CALLS} calls each, CNTFRQ {freq} Hz)",
        show(timer::ns_per_call(null_ticks, TIMING_CALLS, freq)),
        show(timer::ns_per_call(psci_ticks, TIMING_CALLS, freq)),
    );
    if null_errors != 0 {
        println!("timing: {null_errors} NULL calls did not return SUCCESS");
    }
    match timer::ratio_hundredths(null_ticks, psci_ticks) {
        Some(r) => println!(
            "world-switch ratio: {}.{:02} (goal <= 1.5)",
            r / 100,
            r % 100
        ),
        None => println!("world-switch ratio: n/a (PSCI_VERSION took no time)"),
    }
}
