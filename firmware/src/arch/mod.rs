//! aarch64-only glue: the entry/vector/FP assembly (with its constants as `const` operands),
//! per-CPU statics the assembly uses, and small register accessors.

use crate::opteed;
use tzwasm_firmware::exception::FRAME_SIZE;
use tzwasm_firmware::layout::{
    CpuStacks, FpsimdArea, CPU_STACKS_SIZE, EL0_LIB_AREA, EXCEPTION_STACK_OFFSET,
    EXCEPTION_STACK_SIZE, FPSIMD_AREA_SIZE, MAIN_STACK_OFFSET, MAX_CPUS, STACK_SIZE,
};
use tzwasm_firmware::user::{UserContext, USER_FPCR_OFFSET, USER_Q_OFFSET, USER_TPIDR_OFFSET};

core::arch::global_asm!(
    include_str!("entry.S"),
    include_str!("vectors.S"),
    include_str!("fpsimd.S"),
    include_str!("user.S"),
    include_str!("el0_programs.S"),
    include_str!("el0_lib.S"),
    include_str!("sha256.S"),
    max_cpus = const MAX_CPUS,
    cpu_stacks_size = const CPU_STACKS_SIZE,
    stack_off = const MAIN_STACK_OFFSET,
    stack_size = const STACK_SIZE,
    emerg_off = const EXCEPTION_STACK_OFFSET,
    emerg_size = const EXCEPTION_STACK_SIZE,
    frame_size = const FRAME_SIZE,
    el0_lib_area = const EL0_LIB_AREA,
    fpsimd_area_size = const FPSIMD_AREA_SIZE,
    user_fpcr_off = const USER_FPCR_OFFSET,
    user_q_off = const USER_Q_OFFSET,
    user_tpidr_off = const USER_TPIDR_OFFSET,
    entry_done = const opteed::RETURN_ENTRY_DONE,
    on_done = const opteed::RETURN_ON_DONE,
    off_done = const opteed::RETURN_OFF_DONE,
    suspend_done = const opteed::RETURN_SUSPEND_DONE,
    resume_done = const opteed::RETURN_RESUME_DONE,
    call_done = const opteed::RETURN_CALL_DONE,
    fiq_done = const opteed::RETURN_FIQ_DONE,
    system_off_done = const opteed::RETURN_SYSTEM_OFF_DONE,
    system_reset_done = const opteed::RETURN_SYSTEM_RESET_DONE,
);

/// Per-CPU stacks, in their own NOLOAD section (linker/bl32.ld). Only the assembly touches them.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".stacks")]
static mut __cpu_stacks: [CpuStacks; MAX_CPUS] =
    // SAFETY: CpuStacks is plain bytes; all-zero is a valid value.
    unsafe { core::mem::zeroed() };

/// Per-CPU FP/SIMD save areas for the normal world's registers (arch/fpsimd.S).
#[unsafe(no_mangle)]
static mut fpsimd_ns_save: [FpsimdArea; MAX_CPUS] =
    // SAFETY: FpsimdArea is plain integers; all-zero is a valid value ("nothing saved").
    unsafe { core::mem::zeroed() };

unsafe extern "C" {
    /// Enables FP/SIMD for the secure world on this CPU, saving the normal world's registers.
    pub fn fpsimd_enter_secure(cpu: usize);
    /// Test hook: `out` = [a*b, a+b, a/b] in hardware FP (f64 bits); then clobbers every V
    /// register, FPCR and FPSR.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub fn tzwasm_test_fp(a: u64, b: u64, out: *mut [u64; 3]);
    /// Runs `ctx` at S-EL0 until its next exception; returns the vector kind (user.S).
    pub fn enter_user(ctx: *mut UserContext) -> u64;
    /// Start and end of the TEST_EL0 programs (el0_programs.S), 64 bytes per program.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub static el0_programs_start: u8;
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub static el0_programs_end: u8;
    /// The EL0 C library routines (el0_lib.S): start, `memmove` (also `memcpy`), `memset`,
    /// end. Bytes to copy into an instance's stub page, never executed at EL1.
    pub static el0_lib_start: u8;
    pub static el0_lib_memmove: u8;
    pub static el0_lib_memset: u8;
    pub static el0_lib_end: u8;
    /// Compresses `blocks` 64-byte blocks at `data` into `state` with the FEAT_SHA256
    /// instructions, `k` = the round constants (sha256.S).
    fn sha256_blocks_ce(state: *mut [u32; 8], data: *const u8, blocks: usize, k: *const [u32; 64]);
    /// Parks this CPU forever.
    pub fn park_forever() -> !;
    /// Ends the current SMC with CALL_DONE and `x0 = status` on fresh stacks, restoring the
    /// normal world's FP/SIMD state (entry.S); for the fail-stop path only.
    pub fn abandon_call(status: u64) -> !;
    static __stacks_start: u8;
}

/// The EL0 C library (el0_lib.S) as bytes, with the offsets of `memmove` and `memset` in it.
pub fn el0_lib() -> (&'static [u8], usize, usize) {
    let start = core::ptr::addr_of!(el0_lib_start);
    let addr = |p: *const u8| (p as usize).wrapping_sub(start as usize);
    let len = addr(core::ptr::addr_of!(el0_lib_end));
    // SAFETY: el0_lib_start..el0_lib_end is one contiguous block of the image's .rodata
    // (el0_lib.S), never written.
    let bytes = unsafe { core::slice::from_raw_parts(start, len) };
    (
        bytes,
        addr(core::ptr::addr_of!(el0_lib_memmove)),
        addr(core::ptr::addr_of!(el0_lib_memset)),
    )
}

/// SHA-256 block compression ([`tzwasm_firmware::sha256::Blocks`]): with the FEAT_SHA256
/// instructions where ID_AA64ISAR0_EL1.SHA2 says the CPU has them (QEMU's cortex-a57 and
/// most Armv8 silicon do), else the portable code.
pub fn sha256_blocks(state: &mut [u32; 8], data: &[u8]) {
    use aarch64_cpu::registers::{Readable, ID_AA64ISAR0_EL1};
    if (ID_AA64ISAR0_EL1.get() >> 12) & 0xf == 0 {
        return tzwasm_firmware::sha256::soft_blocks(state, data);
    }
    // SAFETY: the routine reads `data.len() / 64` whole blocks from the start of `data`, the
    // 64 words of K, and reads and writes the 8 words of `state`; it changes no memory else
    // and only caller-saved registers (plus d8/d9, which it restores). FP/SIMD traps on first
    // use and is then enabled for this call, which runs with interrupts masked.
    unsafe {
        sha256_blocks_ce(
            state,
            data.as_ptr(),
            data.len() / 64,
            &tzwasm_firmware::sha256::K,
        )
    };
}

/// This CPU's linear index (MPIDR Aff0; the entry code parks any other CPU).
pub fn current_cpu() -> usize {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    tzwasm_firmware::layout::cpu_index(mpidr).unwrap_or(0)
}

/// Base address of the per-CPU stack blocks.
pub fn stacks_base() -> usize {
    core::ptr::addr_of!(__stacks_start) as usize
}

/// The secure physical counter (CNTPCT_EL0), after an ISB so it is not read early.
pub fn counter() -> u64 {
    let c: u64;
    // SAFETY: reading CNTPCT_EL0 has no side effects.
    unsafe { core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) c, options(nomem, nostack)) };
    c
}

/// Whether an IRQ is pending at this CPU (ISR_EL1.I), masked or not: a normal-world
/// interrupt waiting for the payload to give the CPU back.
pub fn irq_pending() -> bool {
    let isr: u64;
    // SAFETY: reading ISR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, isr_el1", out(reg) isr, options(nomem, nostack)) };
    isr & (1 << 7) != 0
}

/// The counter's frequency in Hz (CNTFRQ_EL0).
pub fn counter_freq() -> u64 {
    let f: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) f, options(nomem, nostack)) };
    f
}
