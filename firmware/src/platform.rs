//! What the payload learns about the platform at cold boot: normal-world DRAM from the DTB.

use spin::Once;
use tzwasm_firmware::ns_memory::NsDram;

/// Secure memory on QEMU virt (TF-A: secure SRAM 0x0e000000 + secure DRAM up to 0x0f000000).
pub const SECURE_MEMORY: core::ops::Range<u64> = 0x0e00_0000..0x0f00_0000;

static NS_DRAM: Once<NsDram> = Once::new();

/// Random numbers for WASI `random_get` (see tzwasm_firmware::drbg for the trust level).
static ENTROPY: spin::Mutex<tzwasm_firmware::drbg::Drbg> =
    spin::Mutex::new(tzwasm_firmware::drbg::Drbg::new());

/// Fills `buf` from the secure DRBG.
pub fn random(buf: &mut [u8]) {
    ENTROPY.lock().fill(buf);
}

/// Wall-clock base: seconds since 1970 read from the platform RTC at cold boot (0 if none),
/// and the secure counter value at that moment. Realtime = base + counter time since then.
static WALL_BASE: spin::Once<(u64, u64)> = spin::Once::new();

/// Nanoseconds since 1970 (the RTC at boot plus the secure counter), or `None` without an RTC.
pub fn realtime_ns(counter_ns: impl Fn(u64) -> u64, now: u64) -> Option<u64> {
    let &(secs, at) = WALL_BASE.get()?;
    (secs != 0).then(|| secs * 1_000_000_000 + counter_ns(now.wrapping_sub(at)))
}

/// QEMU virt's PL031 RTC (RTCDR at offset 0: seconds since 1970).
const PL031_BASE: u64 = 0x0901_0000;

/// Seeds the DRBG and reads the wall clock, at cold boot (before the normal world runs).
pub fn init_entropy_and_clock(dtb_seed: &[u8]) {
    let mut d = ENTROPY.lock();
    d.reseed(dtb_seed);
    // FEAT_RNG: RNDR, if ID_AA64ISAR0_EL1.RNDR says the CPU has it.
    let isar0: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, id_aa64isar0_el1", out(reg) isar0, options(nomem, nostack))
    };
    let has_rndr = (isar0 >> 60) & 0xf != 0;
    if has_rndr {
        for _ in 0..4 {
            let v: u64;
            // SAFETY: RNDR (s3_3_c2_c4_0) exists (checked above); reading it has no side
            // effects beyond the flags.
            unsafe {
                core::arch::asm!("mrs {}, s3_3_c2_c4_0", out(reg) v, options(nomem, nostack))
            };
            d.reseed(&v.to_le_bytes());
        }
    }
    // Timing jitter of a few hundred counter reads around some hashing work.
    let mut jitter = [0u64; 64];
    for j in jitter.iter_mut() {
        let t0 = crate::arch::counter();
        let mut tmp = [0u8; 32];
        d.fill(&mut tmp);
        *j = crate::arch::counter().wrapping_sub(t0) ^ t0;
    }
    let mut bytes = [0u8; 512];
    for (chunk, j) in bytes.chunks_exact_mut(8).zip(jitter) {
        chunk.copy_from_slice(&j.to_le_bytes());
    }
    d.reseed(&bytes);
    drop(d);
    let secs = crate::mmu::with_ns_device(PL031_BASE, |base| {
        // SAFETY: RTCDR of the PL031, mapped Device for the duration of this closure.
        u64::from(unsafe { core::ptr::read_volatile(base as *const u32) })
    })
    .unwrap_or(0);
    WALL_BASE.call_once(|| (secs, crate::arch::counter()));
    log::info!(
        "entropy: DTB seed {} bytes, RNDR {}; RTC at boot: {secs} s since 1970",
        dtb_seed.len(),
        if has_rndr { "yes" } else { "no" }
    );
}

/// Normal-world DRAM, once known (empty if the DTB gave none: then no shared memory is ever
/// accepted).
pub fn ns_dram() -> NsDram {
    NS_DRAM.get().copied().unwrap_or_default()
}

/// Reads normal-world DRAM from the DTB at `dtb` (TF-A's x2).
pub fn init_ns_dram(dtb: u64) {
    let mut seed = [0u8; 128];
    let mut seed_len = 0;
    let dram = read_dtb(dtb, &mut seed, &mut seed_len).unwrap_or_else(|why| {
        log::error!(
            "no normal-world memory from the DTB at {dtb:#x}: {why}; shared memory disabled"
        );
        NsDram::default()
    });
    for &(base, size) in dram.banks() {
        log::info!(
            "normal-world DRAM: {base:#x}..{:#x} ({} MiB)",
            base + size,
            size >> 20
        );
    }
    NS_DRAM.call_once(|| dram);
    init_entropy_and_clock(seed.get(..seed_len).unwrap_or_default());
}

fn read_dtb(dtb: u64, seed: &mut [u8], seed_len: &mut usize) -> Result<NsDram, &'static str> {
    if dtb == 0 {
        return Err("no DTB address");
    }
    if dtb < SECURE_MEMORY.end && SECURE_MEMORY.start < dtb.saturating_add(1 << 20) {
        return Err("DTB address in secure memory");
    }
    let header: [u8; 8] = crate::mmu::with_ns_mapping(dtb, 8, |b| {
        let mut h = [0; 8];
        h.copy_from_slice(b);
        h
    })
    .map_err(|_| "cannot map the DTB header")?;
    let size = NsDram::dtb_size(&header).map_err(|_| "bad DTB header")?;
    crate::mmu::with_ns_mapping(dtb, size as u64, |blob| {
        let n = tzwasm_firmware::ns_memory::dtb_seeds(blob, seed);
        *seed_len = n;
        NsDram::from_dtb(blob, SECURE_MEMORY, |r| {
            log::warn!(
                "DTB memory {:#x}+{:#x} {}: ignored",
                r.base,
                r.size,
                r.why.describe()
            )
        })
    })
    .map_err(|_| "cannot map the DTB")?
    .map_err(|_| "DTB has no usable /memory node")
}
