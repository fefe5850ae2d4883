//! TEST_MEASURE (test builds): the payload's integrity measurement, and the canary page it
//! covers.
//!
//! Owns the canary: one page of `.bss` filled from the DRBG at cold boot and never shown to
//! the normal world. Hostile modules are aimed at it (and at the payload's text) and try to
//! read it out or overwrite it; the hash below changes if any byte of it, of the text or
//! rodata, of the EL1 system registers that confine EL0, or of the stage 1 permissions of
//! any payload image page changes. Mutable statics (sessions, pool, shared-memory
//! registry, VA windows, log state) legitimately change between calls and are not hashed.

use core::cell::UnsafeCell;
use sha2::{Digest, Sha256};
use tzwasm_smc::MeasureSelector;

const PAGE: usize = 4096;

/// The canary page: secret bytes a module must neither read nor change.
#[repr(C, align(4096))]
struct Canary(UnsafeCell<[u8; PAGE]>);

// SAFETY: written once at cold boot on the primary CPU before any other CPU or call runs;
// only read afterwards.
unsafe impl Sync for Canary {}

static CANARY: Canary = Canary(UnsafeCell::new([0; PAGE]));

unsafe extern "C" {
    static __text_start: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __bss_end: u8;
    static __stacks_start: u8;
    static __pool_start: u8;
}

fn addr(sym: &u8) -> u64 {
    sym as *const u8 as u64
}

/// Fills the canary from the DRBG. Cold boot only, after the DRBG is seeded.
pub fn init() {
    let mut bytes = [0u8; PAGE];
    crate::platform::random(&mut bytes);
    // SAFETY: cold boot on the primary CPU: nothing else reads or writes the canary yet.
    unsafe { *CANARY.0.get() = bytes };
}

/// PAR_EL1 after `AT S1E1W`, `AT S1E0R` and `AT S1E0W` of `va`.
fn permissions(va: u64) -> [u64; 3] {
    let (w1, r0, w0): (u64, u64, u64);
    // SAFETY: address translation instructions only write PAR_EL1, which nothing else in
    // this fast call uses; they never fault.
    unsafe {
        core::arch::asm!(
            "at s1e1w, {va}",
            "isb",
            "mrs {w1}, par_el1",
            "at s1e0r, {va}",
            "isb",
            "mrs {r0}, par_el1",
            "at s1e0w, {va}",
            "isb",
            "mrs {w0}, par_el1",
            va = in(reg) va,
            w1 = out(reg) w1,
            r0 = out(reg) r0,
            w0 = out(reg) w0,
            options(nostack, preserves_flags)
        )
    };
    [w1, r0, w0]
}

/// The EL1 registers that confine EL0.
fn system_registers() -> [u64; 6] {
    let (a, b, c, d, e, f): (u64, u64, u64, u64, u64, u64);
    // SAFETY: reads of EL1 system registers have no side effects.
    unsafe {
        core::arch::asm!(
            "mrs {a}, vbar_el1",
            "mrs {b}, sctlr_el1",
            "mrs {c}, tcr_el1",
            "mrs {d}, ttbr0_el1",
            "mrs {e}, mair_el1",
            "mrs {f}, cntkctl_el1",
            a = out(reg) a,
            b = out(reg) b,
            c = out(reg) c,
            d = out(reg) d,
            e = out(reg) e,
            f = out(reg) f,
            options(nomem, nostack, preserves_flags)
        )
    };
    [a, b, c, d, e, f]
}

fn hash() -> [u64; 3] {
    // SAFETY: linker symbols; only their addresses are used.
    let (text, rodata_end, bss_end) =
        unsafe { (addr(&__text_start), addr(&__rodata_end), addr(&__bss_end)) };
    let mut h = Sha256::new();
    // SAFETY: text and rodata are mapped EL1-readable for the payload's whole life and never
    // written.
    h.update(unsafe {
        core::slice::from_raw_parts(text as *const u8, (rodata_end - text) as usize)
    });
    // SAFETY: written only at cold boot (see init).
    h.update(unsafe { (*CANARY.0.get()).as_slice() });
    for r in system_registers() {
        h.update(r.to_le_bytes());
    }
    let mut va = text;
    while va < bss_end {
        for p in permissions(va) {
            h.update(p.to_le_bytes());
        }
        va += PAGE as u64;
    }
    let d = h.finalize();
    let mut out = [0u64; 3];
    for (o, w) in out.iter_mut().zip(d.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        *o = u64::from_le_bytes(b);
    }
    out
}

/// TEST_MEASURE: the reply `x1..x3` for `selector`.
pub fn measure(selector: MeasureSelector) -> [u64; 3] {
    match selector {
        MeasureSelector::Hash => hash(),
        // SAFETY: linker symbols; only their addresses are used.
        MeasureSelector::Addresses => unsafe {
            [
                addr(&__text_start),
                CANARY.0.get() as u64,
                addr(&__rodata_start),
            ]
        },
        // SAFETY: as above.
        MeasureSelector::MoreAddresses => unsafe {
            [
                addr(&__data_start),
                addr(&__stacks_start),
                addr(&__pool_start),
            ]
        },
    }
}
