//! The per-processor assembly: `tzrt_enter` (save callee-saved registers, record the host
//! stack pointer in the cell, switch to the module stack, load argument registers, call),
//! `tzrt_trap_exit` (the non-local exit back out of `tzrt_enter`), `tzrt_common` (where every
//! helper/import stub lands: switch to the host stack, call `tzrt_dispatch`, return to module
//! code or take the exit), the stub encoder and signal-context redirection.

#[cfg(target_arch = "x86_64")]
mod imp {
    use crate::{tzrt_dispatch, HostCell};
    use tzwasm_aot_loader::runtime::abi::{regs_off, CallRegs};

    pub const INT_ARG_REGS: usize = 6;
    /// Stack arguments start above the return address.
    pub const STACK_ARGS_OFFSET: u64 = 8;
    pub const MAP_LOW: i32 = libc::MAP_32BIT;

    core::arch::global_asm!(
        ".globl tzrt_enter",
        ".p2align 4",
        "tzrt_enter:",
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "push rdi",
        "mov [rsi], rsp",
        "mov rbx, rdi",
        "mov r12, rsp",
        "mov rax, [rbx + {func}]",
        "mov rsp, [rbx + {sp}]",
        "movdqu xmm0, [rbx + {vec}]",
        "movdqu xmm1, [rbx + {vec} + 16]",
        "movdqu xmm2, [rbx + {vec} + 32]",
        "movdqu xmm3, [rbx + {vec} + 48]",
        "movdqu xmm4, [rbx + {vec} + 64]",
        "movdqu xmm5, [rbx + {vec} + 80]",
        "movdqu xmm6, [rbx + {vec} + 96]",
        "movdqu xmm7, [rbx + {vec} + 112]",
        "mov rdi, [rbx + {int}]",
        "mov rsi, [rbx + {int} + 8]",
        "mov rdx, [rbx + {int} + 16]",
        "mov rcx, [rbx + {int} + 24]",
        "mov r8, [rbx + {int} + 32]",
        "mov r9, [rbx + {int} + 40]",
        "call rax",
        "mov rsp, r12",
        "mov [rbx + {ret_int}], rax",
        "mov [rbx + {ret_int} + 8], rdx",
        "movdqu [rbx + {ret_vec}], xmm0",
        "xor eax, eax",
        "tzrt_restore:",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        "",
        ".globl tzrt_trap_exit",
        "tzrt_trap_exit:",
        "mov rsp, rdi",
        "mov rax, rsi",
        "jmp tzrt_restore",
        "",
        ".globl tzrt_common",
        ".p2align 4",
        "tzrt_common:",
        "mov rax, rsp",
        "mov rsp, [r10]",
        "sub rsp, 96",
        "mov [rsp], rdi",
        "mov [rsp + 8], rsi",
        "mov [rsp + 16], rdx",
        "mov [rsp + 24], rcx",
        "mov [rsp + 32], r8",
        "mov [rsp + 40], r9",
        "mov [rsp + 48], rax",
        "mov [rsp + 56], r10",
        "mov rdi, r10",
        "mov rsi, r11",
        "mov rdx, rsp",
        "mov rcx, rax",
        "call {dispatch}",
        "test rdx, rdx",
        "jnz 2f",
        "mov rsp, [rsp + 48]",
        "ret",
        "2:",
        "mov rdi, [rsp + 56]",
        "mov rdi, [rdi]",
        "mov rsi, rdx",
        "jmp tzrt_trap_exit",
        func = const regs_off::FUNC,
        sp = const regs_off::SP,
        int = const regs_off::INT,
        vec = const regs_off::VEC,
        ret_int = const regs_off::RET_INT,
        ret_vec = const regs_off::RET_VEC,
        dispatch = sym tzrt_dispatch,
    );

    extern "C" {
        pub fn tzrt_enter(regs: *mut CallRegs, cell: *mut HostCell) -> u64;
        pub fn tzrt_trap_exit();
        pub fn tzrt_common();
    }

    /// `mov r11, id; mov r10, cell; jmp [rip+0]; .quad tzrt_common`
    pub fn stub(id: u64, cell: u64) -> [u8; 48] {
        let mut s = [0xccu8; 48];
        s[0..2].copy_from_slice(&[0x49, 0xbb]);
        s[2..10].copy_from_slice(&id.to_le_bytes());
        s[10..12].copy_from_slice(&[0x49, 0xba]);
        s[12..20].copy_from_slice(&cell.to_le_bytes());
        s[20..26].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        s[26..34].copy_from_slice(&(tzrt_common as *const () as u64).to_le_bytes());
        s
    }

    pub fn sync_icache(_addr: u64, _len: u64) {}

    /// # Safety
    /// `uctx` must be the ucontext of a signal being handled on this thread.
    pub unsafe fn redirect_to_trap_exit(uctx: *mut libc::c_void, host_sp: u64, status: u64) {
        let uc = uctx as *mut libc::ucontext_t;
        // SAFETY: the caller passes the kernel's ucontext; gregs holds the interrupted
        // registers, which the kernel restores on return from the handler.
        unsafe {
            let g = &mut (*uc).uc_mcontext.gregs;
            g[libc::REG_RIP as usize] = tzrt_trap_exit as *const () as i64;
            g[libc::REG_RDI as usize] = host_sp as i64;
            g[libc::REG_RSI as usize] = status as i64;
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    use crate::{tzrt_dispatch, HostCell};
    use tzwasm_aot_loader::runtime::abi::{regs_off, CallRegs};

    pub const INT_ARG_REGS: usize = 8;
    pub const STACK_ARGS_OFFSET: u64 = 0;
    pub const MAP_LOW: i32 = 0;

    core::arch::global_asm!(
        ".globl tzrt_enter",
        ".p2align 4",
        "tzrt_enter:",
        "stp x29, x30, [sp, #-176]!",
        "mov x29, sp",
        "stp x19, x20, [sp, #16]",
        "stp x21, x22, [sp, #32]",
        "stp x23, x24, [sp, #48]",
        "stp x25, x26, [sp, #64]",
        "stp x27, x28, [sp, #80]",
        "stp d8, d9, [sp, #96]",
        "stp d10, d11, [sp, #112]",
        "stp d12, d13, [sp, #128]",
        "stp d14, d15, [sp, #144]",
        "mov x9, sp",
        "str x9, [x1]",
        "mov x19, x0",
        "mov x20, sp",
        "ldr x16, [x19, #{func}]",
        "ldr x17, [x19, #{sp}]",
        "add x9, x19, #{vec}",
        "ldp q0, q1, [x9]",
        "ldp q2, q3, [x9, #32]",
        "ldp q4, q5, [x9, #64]",
        "ldp q6, q7, [x9, #96]",
        "add x9, x19, #{int}",
        "ldp x0, x1, [x9]",
        "ldp x2, x3, [x9, #16]",
        "ldp x4, x5, [x9, #32]",
        "ldp x6, x7, [x9, #48]",
        "mov sp, x17",
        "blr x16",
        "mov sp, x20",
        "add x9, x19, #{ret_int}",
        "stp x0, x1, [x9]",
        "add x9, x19, #{ret_vec}",
        "str q0, [x9]",
        "mov x0, #0",
        "tzrt_restore:",
        "ldp x19, x20, [sp, #16]",
        "ldp x21, x22, [sp, #32]",
        "ldp x23, x24, [sp, #48]",
        "ldp x25, x26, [sp, #64]",
        "ldp x27, x28, [sp, #80]",
        "ldp d8, d9, [sp, #96]",
        "ldp d10, d11, [sp, #112]",
        "ldp d12, d13, [sp, #128]",
        "ldp d14, d15, [sp, #144]",
        "ldp x29, x30, [sp], #176",
        "ret",
        "",
        ".globl tzrt_trap_exit",
        "tzrt_trap_exit:",
        "mov sp, x0",
        "mov x0, x1",
        "b tzrt_restore",
        "",
        ".globl tzrt_common",
        ".p2align 4",
        "tzrt_common:",
        "mov x9, sp",
        "ldr x10, [x17]",
        "sub x10, x10, #96",
        "mov sp, x10",
        "stp x0, x1, [sp]",
        "stp x2, x3, [sp, #16]",
        "stp x4, x5, [sp, #32]",
        "stp x6, x7, [sp, #48]",
        "stp x9, x30, [sp, #64]",
        "str x17, [sp, #80]",
        "mov x0, x17",
        "mov x1, x16",
        "mov x2, sp",
        "mov x3, x9",
        "bl {dispatch}",
        "cbnz x1, 2f",
        "ldp x9, x30, [sp, #64]",
        "mov sp, x9",
        "ret",
        "2:",
        "ldr x0, [sp, #80]",
        "ldr x0, [x0]",
        "b tzrt_trap_exit",
        func = const regs_off::FUNC,
        sp = const regs_off::SP,
        int = const regs_off::INT,
        vec = const regs_off::VEC,
        ret_int = const regs_off::RET_INT,
        ret_vec = const regs_off::RET_VEC,
        dispatch = sym tzrt_dispatch,
    );

    extern "C" {
        pub fn tzrt_enter(regs: *mut CallRegs, cell: *mut HostCell) -> u64;
        pub fn tzrt_trap_exit();
        pub fn tzrt_common();
    }

    /// `ldr x16, id; ldr x17, cell; ldr x9, tzrt_common; br x9; .quad id, cell, common`
    pub fn stub(id: u64, cell: u64) -> [u8; 48] {
        let ldr_lit = |rt: u32, byte_off: u32| 0x5800_0000u32 | ((byte_off / 4) << 5) | rt;
        let mut s = [0u8; 48];
        s[0..4].copy_from_slice(&ldr_lit(16, 16).to_le_bytes()); // @0 -> 16
        s[4..8].copy_from_slice(&ldr_lit(17, 20).to_le_bytes()); // @4 -> 24
        s[8..12].copy_from_slice(&ldr_lit(9, 24).to_le_bytes()); // @8 -> 32
        s[12..16].copy_from_slice(&0xd61f_0120u32.to_le_bytes()); // br x9
        s[16..24].copy_from_slice(&id.to_le_bytes());
        s[24..32].copy_from_slice(&cell.to_le_bytes());
        s[32..40].copy_from_slice(&(tzrt_common as *const () as u64).to_le_bytes());
        s
    }

    /// Cleans the D-cache to the point of unification and invalidates the I-cache.
    pub fn sync_icache(addr: u64, len: u64) {
        let ctr: u64;
        // SAFETY: reading CTR_EL0 (Linux lets EL0 read it) has no side effects.
        unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
        let dline = 4u64 << ((ctr >> 16) & 0xf);
        let iline = 4u64 << (ctr & 0xf);
        let end = addr + len;
        let mut a = addr & !(dline - 1);
        while a < end {
            // SAFETY: cache maintenance by VA on our own mapping.
            unsafe { core::arch::asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += dline;
        }
        // SAFETY: barrier only.
        unsafe { core::arch::asm!("dsb ish", options(nostack)) };
        let mut a = addr & !(iline - 1);
        while a < end {
            // SAFETY: cache maintenance by VA on our own mapping.
            unsafe { core::arch::asm!("ic ivau, {}", in(reg) a, options(nostack)) };
            a += iline;
        }
        // SAFETY: barriers only.
        unsafe { core::arch::asm!("dsb ish", "isb", options(nostack)) };
    }

    /// # Safety
    /// `uctx` must be the ucontext of a signal being handled on this thread.
    pub unsafe fn redirect_to_trap_exit(uctx: *mut libc::c_void, host_sp: u64, status: u64) {
        let uc = uctx as *mut libc::ucontext_t;
        // SAFETY: the caller passes the kernel's ucontext; the kernel restores these
        // registers on return from the handler.
        unsafe {
            let m = &mut (*uc).uc_mcontext;
            m.pc = tzrt_trap_exit as *const () as u64;
            m.regs[0] = host_sp;
            m.regs[1] = status;
        }
    }
}

pub use imp::*;
