//! What the payload learns about the platform at cold boot: normal-world DRAM from the DTB.

use spin::Once;
use tzwasm_firmware::ns_memory::NsDram;
use tzwasm_smc::args::{ShmHandle, ShmRegisterArgs};
use tzwasm_smc::shared::SharedRegion;
use tzwasm_smc::Status;

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

/// Copies `len` bytes of normal-world memory at `addr` into a fresh buffer of u64 words
/// (8-byte aligned, zero-padded): shared memory is never parsed or used in place, where the
/// normal world could change it between check and use. `None` if the pool cannot hold it.
///
/// # Safety
/// `[addr, addr + len)` must lie inside a live registration that stays mapped for the call
/// (the caller holds it pinned).
pub unsafe fn copy_in(addr: u64, len: usize) -> Option<alloc::vec::Vec<u64>> {
    let mut words = alloc::vec::Vec::new();
    words.try_reserve_exact(len.div_ceil(8)).ok()?;
    // SAFETY: the caller's contract; `words` has room for the whole range.
    unsafe { copy_in_part(addr, len, &mut words, len) }.then_some(words)
}

/// One piece of a [`copy_in`] made in several steps (LOAD's copy, which stops between
/// pieces for a pending interrupt): appends bytes `[8 * words.len(), up_to)` of the `len`
/// bytes at `addr` to `words` as u64 words, the last one zero-padded. `up_to` is a multiple
/// of 8 or `len`. False (nothing copied) if `words` lacks the capacity for the whole range
/// or the piece is not one of this range; it never allocates.
///
/// # Safety
/// As for [`copy_in`].
pub unsafe fn copy_in_part(
    addr: u64,
    len: usize,
    words: &mut alloc::vec::Vec<u64>,
    up_to: usize,
) -> bool {
    let first = words.len();
    if words.capacity() < len.div_ceil(8)
        || up_to > len
        || (up_to != len && !up_to.is_multiple_of(8))
        || first.saturating_mul(8) > up_to
    {
        return false;
    }
    // SAFETY: the caller's contract: [addr, addr + len) is mapped for the call and only
    // accessed as shared memory.
    let Some(region) = (unsafe { SharedRegion::new_bytes(addr as *mut u8, len) }) else {
        return false;
    };
    // Within the capacity reserved above: no allocation. The padding after `len` stays 0.
    words.resize(up_to.div_ceil(8), 0);
    let from = first * 8;
    bytes_of_mut(words)
        .get_mut(from..up_to)
        .is_some_and(|dst| region.read_bytes(from, dst))
}

/// All bytes of a [`copy_in`] buffer, writable.
fn bytes_of_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: any 8 bytes are a valid u64 and the buffer is 8 * len bytes long; the borrow of
    // `words` covers the returned slice.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

/// The first `len` bytes of a [`copy_in`] buffer.
pub fn bytes_of(words: &[u64], len: usize) -> &[u8] {
    let len = len.min(words.len() * 8);
    // SAFETY: any u64 is 8 initialised bytes, and `len` is within the buffer.
    unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), len) }
}

/// SHM_REGISTER: check, record, then map the range NS=1, never executable, at VA == PA.
pub fn shm_register(args: ShmRegisterArgs) -> Result<ShmHandle, Status> {
    crate::session::MACHINE.shm_register(args, &ns_dram())
}

/// SHM_UNREGISTER: unmap (with TLB invalidation) and forget. BUSY while a call on another CPU
/// or a paused run uses it.
pub fn shm_unregister(handle: ShmHandle) -> Result<(), Status> {
    crate::session::MACHINE.shm_unregister(handle)
}

/// TEST_SHM (test builds): hashes `len` bytes at `offset` of a registration, then inverts them
/// in place. Offsets are checked against the registry's own record of the range.
pub fn shm_test(handle: ShmHandle, offset: u64, len: u64) -> Result<u64, Status> {
    if !cfg!(feature = "test-hooks") {
        return Err(Status::NotSupported);
    }
    crate::session::MACHINE
        .with_shm(handle, |range| shm_test_in(range, offset, len))
        .ok_or(Status::NoSuchHandle)?
}

fn shm_test_in(
    range: tzwasm_firmware::shm::ShmRange,
    offset: u64,
    len: u64,
) -> Result<u64, Status> {
    let end = offset.checked_add(len).ok_or(Status::BadAddress)?;
    if end > range.size {
        return Err(Status::BadAddress);
    }
    // SAFETY: [base + offset, + len) lies inside a live registration, which stays mapped
    // (NS, EL1 RW) while it is pinned (with_shm); it is only accessed as shared memory.
    let region = unsafe { SharedRegion::new_bytes((range.base + offset) as *mut u8, len as usize) }
        .ok_or(Status::BadAddress)?;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut buf = [0u8; 256];
    let mut at = 0;
    while at < region.len() {
        let n = (region.len() - at).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        if !region.read_bytes(at, chunk) {
            return Err(Status::BadAddress);
        }
        for b in chunk.iter_mut() {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
            *b = !*b;
        }
        if !region.write_bytes(at, chunk) {
            return Err(Status::BadAddress);
        }
        at += n;
    }
    Ok(hash)
}

/// Largest module TEST_RUN accepts (the pool also bounds it).
#[cfg(feature = "test-hooks")]
const MAX_MODULE: u64 = 4 << 20;

/// TEST_RUN (test builds): copies an AOT file out of shared memory into secure memory (never
/// parsed in place: the normal world could change it underneath), then runs it at S-EL0.
#[cfg(feature = "test-hooks")]
pub fn test_run(handle: ShmHandle, offset: u64, len: u64) -> tzwasm_smc::Regs4 {
    use crate::runner::{run_command, Outcome};
    let st = |s: Status| [s.to_raw(), 0, 0, 0];
    let copy = crate::session::MACHINE.with_shm(handle, |range| {
        match offset.checked_add(len) {
            Some(end) if end <= range.size && len > 0 && len <= MAX_MODULE => {}
            _ => return Err(Status::BadAddress),
        }
        // SAFETY: [base + offset, + len) lies inside the live registration, checked above;
        // it is pinned (mapped) for the closure.
        unsafe { copy_in(range.base + offset, len as usize) }.ok_or(Status::OutOfMemory)
    });
    let copy = match copy {
        None => return st(Status::NoSuchHandle),
        Some(Err(s)) => return st(s),
        Some(Ok(words)) => words,
    };
    let bytes = bytes_of(&copy, len as usize);
    let (outcome, written) = run_command(bytes);
    match outcome {
        Outcome::Exit(code) => [
            Status::Success.to_raw(),
            u64::from(code),
            written[0],
            written[1],
        ],
        Outcome::Trap(id, msg) => {
            // (TEST_RUN has no ring: output went to the log.)
            log::info!("TEST_RUN: trap: {msg}");
            [
                Status::Trapped.to_raw(),
                id.map_or(u64::MAX, u64::from),
                0,
                0,
            ]
        }
        Outcome::LoadError(msg) => {
            log::warn!("TEST_RUN: {msg}");
            st(Status::BadModule)
        }
    }
}
