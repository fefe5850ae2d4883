//! A normal-world interrupt on demand, for the preemption checks: the EL1 virtual timer
//! (CNTV, PPI 27, the one Linux ticks with) enabled in QEMU virt's GICv2 as a non-secure
//! (Group 1) interrupt for this CPU. Not the physical timer: TF-A builds opteed with
//! `NS_TIMER_SWITCH=1`, so EL3 saves and disables CNTP while the secure world runs, and its
//! interrupt would never reach module code. The client itself keeps PSTATE.I masked, so it never takes the interrupt: while module
//! code runs at S-EL0 the pending IRQ makes the secure world return INTERRUPTED, and
//! [`disarm`] then lowers the timer's level-sensitive line before the client RESUMEs.

use crate::arch;

/// GICv2 distributor and CPU interface on QEMU virt.
const GICD_BASE: usize = 0x0800_0000;
const GICC_BASE: usize = 0x0801_0000;
const GICD_CTLR: usize = 0x000;
const GICD_ISENABLER0: usize = 0x100;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x000;
const GICC_PMR: usize = 0x004;
/// INTID of the EL1 virtual timer.
const CNTV_PPI: usize = 27;
/// CNTV_CTL_EL0.ENABLE (IMASK clear: the timer asserts its interrupt when it fires).
const CNTV_CTL_ENABLE: u64 = 1;

fn write32(addr: usize, value: u32) {
    // SAFETY: a GICv2 register of QEMU virt (device memory, MMU off at NS-EL1); the client
    // is the only normal-world software, and these writes only concern PPI 27 and the
    // non-secure group enables.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) };
}

fn read32(addr: usize) -> u32 {
    // SAFETY: as in write32; reads have no side effects on these registers.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Routes the timer's interrupt to this CPU as a non-secure IRQ and fires it after `ms`.
pub fn arm(ms: u64) {
    write32(GICD_BASE + GICD_CTLR, read32(GICD_BASE + GICD_CTLR) | 1);
    // Byte-accessible priority of PPI 27: the middle of the non-secure range.
    // SAFETY: as in write32 (GICD_IPRIORITYR is byte-accessible).
    unsafe { core::ptr::write_volatile((GICD_BASE + GICD_IPRIORITYR + CNTV_PPI) as *mut u8, 0xa0) };
    write32(GICD_BASE + GICD_ISENABLER0, 1 << CNTV_PPI);
    write32(GICC_BASE + GICC_PMR, 0xff);
    write32(GICC_BASE + GICC_CTLR, read32(GICC_BASE + GICC_CTLR) | 1);
    let ticks = arch::counter_frequency().saturating_mul(ms) / 1000;
    // SAFETY: CNTV_TVAL_EL0/CNTV_CTL_EL0 are accessible at EL1 and only drive PPI 27.
    unsafe {
        core::arch::asm!(
            "msr cntv_tval_el0, {t}",
            "msr cntv_ctl_el0, {c}",
            "isb",
            t = in(reg) ticks,
            c = in(reg) CNTV_CTL_ENABLE,
            options(nomem, nostack)
        )
    };
}

/// When the armed timer fires: CNTV_CVAL_EL0, on the counter [`arch::counter`] reads.
pub fn deadline() -> u64 {
    let v: u64;
    // SAFETY: reading CNTV_CVAL_EL0 at EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntv_cval_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Stops the timer: its interrupt line drops and nothing stays pending.
pub fn disarm() {
    // SAFETY: as in arm.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", "isb", options(nomem, nostack)) };
}
