//! The payload's memory layout constants: CPU count, per-CPU stacks, save areas.
//!
//! Each value is defined here once; the assembly receives them as `const` operands and the
//! linker script only reserves the sections the statics below live in.

/// Translation granule and page size.
pub const PAGE_SIZE: usize = 4096;
/// CPUs the payload serves (MPIDR Aff0 below this, Aff1..Aff3 zero). QEMU allows `-smp` ≤ 8.
pub const MAX_CPUS: usize = 8;
/// Main stack per CPU (SP_EL1).
pub const STACK_SIZE: usize = 64 * 1024;
/// Exception stack per CPU (SP_EL0 while the payload runs), used by the vectors.
pub const EXCEPTION_STACK_SIZE: usize = 8 * 1024;
/// Unmapped guard below each stack.
pub const GUARD_SIZE: usize = PAGE_SIZE;
/// Bytes at the top of each instance's entry-stub page that hold the EL0 C library
/// (`arch/el0_lib.S`, which refuses to assemble if it outgrows them).
pub const EL0_LIB_AREA: usize = 256;

/// One CPU's stacks: `[guard][main stack][guard][exception stack]`, low to high.
#[repr(C, align(4096))]
pub struct CpuStacks {
    /// Unmapped: catches main-stack overflow.
    pub main_guard: [u8; GUARD_SIZE],
    /// SP_EL1 starts at the top of this.
    pub main: [u8; STACK_SIZE],
    /// Unmapped: catches exception-stack overflow.
    pub exception_guard: [u8; GUARD_SIZE],
    /// SP_EL0 (while in the payload) starts at the top of this.
    pub exception: [u8; EXCEPTION_STACK_SIZE],
}

/// Offset of the main stack inside [`CpuStacks`].
pub const MAIN_STACK_OFFSET: usize = core::mem::offset_of!(CpuStacks, main);
/// Offset of the exception stack inside [`CpuStacks`].
pub const EXCEPTION_STACK_OFFSET: usize = core::mem::offset_of!(CpuStacks, exception);
/// Size of one CPU's stack block.
pub const CPU_STACKS_SIZE: usize = core::mem::size_of::<CpuStacks>();

const _: () = assert!(CPU_STACKS_SIZE == 2 * GUARD_SIZE + STACK_SIZE + EXCEPTION_STACK_SIZE);
const _: () = assert!(MAIN_STACK_OFFSET == GUARD_SIZE);

/// Per-CPU save area for the normal world's FP/SIMD registers (see arch/fpsimd.S).
#[repr(C, align(16))]
pub struct FpsimdArea {
    /// Non-zero while the normal world's registers are saved here.
    pub saved: u64,
    /// Padding to the FPCR slot.
    pub _pad: u64,
    /// FPCR of the normal world.
    pub fpcr: u64,
    /// FPSR of the normal world.
    pub fpsr: u64,
    /// Q0..Q31 of the normal world.
    pub q: [u128; 32],
}

/// Size of [`FpsimdArea`], passed to the assembly.
pub const FPSIMD_AREA_SIZE: usize = core::mem::size_of::<FpsimdArea>();
const _: () = assert!(core::mem::offset_of!(FpsimdArea, fpcr) == 16);
const _: () = assert!(core::mem::offset_of!(FpsimdArea, q) == 32);
const _: () = assert!(FPSIMD_AREA_SIZE == 32 + 512);

/// Translation-table pages reserved for the payload's MMU.
pub const XLAT_PAGES: usize = 64;

/// Linear CPU index from an MPIDR_EL1 value, or `None` for a CPU the payload does not serve.
/// Mirrors the `cpu_index` assembly macro.
pub fn cpu_index(mpidr: u64) -> Option<usize> {
    let aff0 = (mpidr & 0xff) as usize;
    let aff12 = (mpidr >> 8) & 0xffff;
    (aff12 == 0 && aff0 < MAX_CPUS).then_some(aff0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_index_accepts_cluster0_only() {
        assert_eq!(cpu_index(0x8000_0000), Some(0));
        assert_eq!(cpu_index(0x8000_0001), Some(1));
        assert_eq!(cpu_index(0x8000_0007), Some(7));
        assert_eq!(cpu_index(0x8000_0008), None);
        assert_eq!(cpu_index(0x8000_0100), None);
        assert_eq!(cpu_index(0x8001_0000), None);
    }

    #[test]
    fn stacks_are_page_aligned_blocks() {
        assert_eq!(CPU_STACKS_SIZE % PAGE_SIZE, 0);
        assert_eq!(EXCEPTION_STACK_OFFSET % PAGE_SIZE, 0);
        assert_eq!(core::mem::align_of::<CpuStacks>(), PAGE_SIZE);
    }
}
