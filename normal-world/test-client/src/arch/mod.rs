//! aarch64 glue owned by the client: the entry/vector/FP-probe assembly, the per-CPU stacks,
//! the raw `smc #0` helper, and small system-register readers.

/// Most CPUs the client supports (QEMU's `-smp` is at most 4 here).
pub const MAX_CPUS: usize = 4;
/// Bytes of stack per CPU.
pub const STACK_SIZE: usize = 32 * 1024;

core::arch::global_asm!(
    include_str!("entry.S"),
    include_str!("fp.S"),
    max_cpus = const MAX_CPUS,
    stack_size = const STACK_SIZE,
);

/// One CPU's stack; 16-byte aligned as AAPCS64 requires of SP.
#[repr(C, align(16))]
pub struct Stack([u8; STACK_SIZE]);

/// Per-CPU stacks in their own NOLOAD section (linker/bl33.ld); only the assembly uses them.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".stacks")]
static mut __client_stacks: [Stack; MAX_CPUS] = [const { Stack([0; STACK_SIZE]) }; MAX_CPUS];

/// Register block of one FP/SIMD survival probe; the layout is fixed by `fp.S`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct FpProbe {
    /// x0..x7 for the SMC.
    pub args: [u64; 8],
    /// x0..x3 after the SMC.
    pub results: [u64; 4],
    /// Pattern seed: V_n.lo = seed + n * 0x0101010101010101, V_n.hi = !V_n.lo.
    pub seed: u64,
    /// Value written to FPCR before the call.
    pub fpcr_set: u64,
    /// Value written to FPSR before the call.
    pub fpsr_set: u64,
    /// FPCR read back before the call (unimplemented bits read as zero).
    pub fpcr_before: u64,
    /// FPSR read back before the call.
    pub fpsr_before: u64,
    /// FPCR after the call.
    pub fpcr_after: u64,
    /// FPSR after the call.
    pub fpsr_after: u64,
}

unsafe extern "C" {
    /// Entry point for CPUs started with PSCI CPU_ON (context id = stack index).
    pub fn secondary_entry() -> !;
    /// Fills V0..V31/FPCR/FPSR from `probe`, issues the SMC in `probe.args`, stores the
    /// results and returns the mask of V registers that lost their pattern.
    pub fn fp_smc_probe(probe: *mut FpProbe) -> u64;
}

/// Issues `smc #0` with x0..x7 = `args` and returns x0..x3 (SMCCC; x4..x17 treated as clobbered).
pub fn smc(args: [u64; 8]) -> [u64; 4] {
    let (mut x0, mut x1, mut x2, mut x3) = (args[0], args[1], args[2], args[3]);
    // SAFETY: an SMC from NS-EL1 transfers to EL3 firmware, which returns here with only the
    // registers declared below changed; it does not touch this program's memory except what a
    // call's documented semantics say (none of the calls used by the client write NS memory).
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") x0, inout("x1") x1, inout("x2") x2, inout("x3") x3,
            inout("x4") args[4] => _, inout("x5") args[5] => _,
            inout("x6") args[6] => _, inout("x7") args[7] => _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _,
            out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    [x0, x1, x2, x3]
}

/// CNTVCT_EL0: the virtual count.
#[inline(always)]
pub fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading CNTVCT_EL0 at EL1 has no side effects; the ISB orders it after
    // earlier instructions so intervals measure what lies between two reads.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// CNTFRQ_EL0: counter ticks per second (programmed by firmware / QEMU).
pub fn counter_frequency() -> u64 {
    let v: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// MPIDR_EL1 of this CPU.
pub fn mpidr() -> u64 {
    let v: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) v, options(nomem, nostack)) };
    v
}

/// The exception level this code runs at now (CurrentEL.EL).
pub fn current_el() -> u64 {
    let v: u64;
    // SAFETY: reading CurrentEL has no side effects.
    unsafe { core::arch::asm!("mrs {}, CurrentEL", out(reg) v, options(nomem, nostack)) };
    (v >> 2) & 3
}

/// Parks this CPU forever (interrupts masked, WFE loop).
pub fn park() -> ! {
    loop {
        // SAFETY: masking interrupts and waiting for an event touch no memory.
        unsafe { core::arch::asm!("msr daifset, #0xf", "wfe", options(nomem, nostack)) };
    }
}
