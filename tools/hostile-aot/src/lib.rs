//! Hostile WAMR AOT modules for the secure world's system tests (test-only).
//!
//! Each case is a valid aarch64 AOT container, written with `tzwasm-aot-loader`'s test-only
//! [`ModuleBuilder`], so LOAD accepts it; its exported `_start` is hand-assembled machine code
//! that attacks the payload from S-EL0: loads and stores at payload addresses, privileged
//! instructions, branches into payload text, a forged linear-memory base followed by WASI
//! `fd_write`, a smashed exec_env/instance, and a loop that never ends. This crate owns the
//! instruction encoder ([`Asm`]), the case list ([`cases`]), and the bundle the bare-metal test
//! client reads ([`bundle`]); `main.rs` writes the files.
//!
//! Payload addresses are not known when the files are made: every address the code uses is a
//! 64-bit literal after the code, whose file offset the bundle lists with a [`Target`] so the
//! client can patch in the real address (TEST_MEASURE tells it) before LOAD.

use tzwasm_aot_loader::module::ValType;
use tzwasm_aot_loader::reloc::aarch64::CALL26;
use tzwasm_aot_loader::writer::{ModuleBuilder, RelocSpec};
use tzwasm_aot_loader::Arch;
use tzwasm_smc::Status;

pub mod linux;

/// A payload address the client patches into a module's literal pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Target {
    /// Start of the payload's text.
    Text = 0,
    /// The canary page in `.bss` (secret bytes, filled from the DRBG at cold boot).
    Canary = 1,
    /// Start of the payload's rodata.
    Rodata = 2,
    /// Start of the payload's `.data` (session table, VA windows).
    Data = 3,
    /// Start of the per-CPU stacks.
    Stacks = 4,
    /// Start of the pool (module copies, code, instances live there).
    Pool = 5,
    /// Isolation test: an address in the victim's code window (its address record, word 0).
    VictimCode = 6,
    /// Isolation test: the victim's exec_env, in its instance-data window (word 1).
    VictimData = 7,
    /// Isolation test: the victim's marker on its stack (word 2).
    VictimStack = 8,
    /// Isolation test: the victim's linear memory at offset 0 (word 3).
    VictimMemory = 9,
    /// Isolation test: the victim's return stub, in its entry-stub window (word 4).
    VictimStubs = 10,
}

impl Target {
    /// Where the placeholder points before patching: inside QEMU virt's secure DRAM.
    fn placeholder(self) -> u64 {
        0x0e10_0000 + 0x1000 * self as u64
    }
}

/// What a correct secure world does with a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// RUN ends TRAPPED with this WAMR exception id (`None`: a trap without one, e.g. a
    /// fault) and a report message containing the text.
    Trap(Option<u32>, &'static str),
    /// RUN ends SUCCESS with this exit code.
    Exit(u32),
    /// The module never ends: RUN returns INTERRUPTED at a normal-world interrupt and CANCEL
    /// ends it.
    Cancelled,
    /// LOAD refuses the container with this status and a report message containing the text.
    LoadRefused(Status, &'static str),
    /// Not a case of its own: a module of the isolation test (normal-world/test-client
    /// `isolation.rs`), which runs it with a partner; the id says which role.
    Isolation(u32),
}

/// One literal slot to patch: its offset from the start of the code, the address and an
/// addend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patch {
    /// Byte offset of the 8-byte literal from the start of the code.
    pub code_offset: usize,
    /// The address to put there.
    pub target: Target,
    /// Added to the address.
    pub addend: u64,
}

enum Literal {
    Address(Target, u64),
}

/// A tiny AArch64 assembler: instruction words, 64-bit literals after the code (reached
/// with LDR (literal)), and CALL26 relocations to runtime helpers.
#[derive(Default)]
pub struct Asm {
    words: Vec<u32>,
    /// (index of the LDR (literal) word, literal).
    literals: Vec<(usize, Literal)>,
    /// (index of the BL word, helper symbol).
    calls: Vec<(usize, &'static str)>,
}

/// Register numbers (31 is SP or XZR, depending on the instruction).
pub mod reg {
    /// x0: exec_env on entry.
    pub const X0: u32 = 0;
    /// x1.
    pub const X1: u32 = 1;
    /// x2.
    pub const X2: u32 = 2;
    /// x3.
    pub const X3: u32 = 3;
    /// x4.
    pub const X4: u32 = 4;
    /// x8: the call target.
    pub const X8: u32 = 8;
    /// x16: the entry id the stubs put in front of `svc`.
    pub const X16: u32 = 16;
    /// x19: module instance (callee-saved, kept across calls).
    pub const X19: u32 = 19;
    /// x20: exec_env (callee-saved).
    pub const X20: u32 = 20;
    /// x21: the real linear-memory base (callee-saved).
    pub const X21: u32 = 21;
    /// x22: a saved import pointer (callee-saved).
    pub const X22: u32 = 22;
    /// x29: frame pointer.
    pub const X29: u32 = 29;
    /// SP (in ADD/LDR/STR base positions).
    pub const SP: u32 = 31;
}

impl Asm {
    /// Appends one raw instruction word.
    pub fn word(&mut self, w: u32) -> &mut Self {
        self.words.push(w);
        self
    }
    /// `ldr xT, =address`: LDR (literal) of an 8-byte slot the client patches.
    pub fn ldr_address(&mut self, rt: u32, target: Target, addend: u64) -> &mut Self {
        self.literals
            .push((self.words.len(), Literal::Address(target, addend)));
        self.word(0x5800_0000 | rt) // LDR Xt, <literal> (imm19 filled in by finish)
    }
    /// `ldr xT, [xN, #imm]` (unsigned offset, multiple of 8).
    pub fn ldr(&mut self, rt: u32, rn: u32, imm: u32) -> &mut Self {
        self.word(0xf940_0000 | ((imm / 8) << 10) | (rn << 5) | rt)
    }
    /// `str xT, [xN, #imm]` (unsigned offset, multiple of 8).
    pub fn str(&mut self, rt: u32, rn: u32, imm: u32) -> &mut Self {
        self.word(0xf900_0000 | ((imm / 8) << 10) | (rn << 5) | rt)
    }
    /// `str wT, [xN, #imm]` (unsigned offset, multiple of 4).
    pub fn str_w(&mut self, rt: u32, rn: u32, imm: u32) -> &mut Self {
        self.word(0xb900_0000 | ((imm / 4) << 10) | (rn << 5) | rt)
    }
    /// `mov xD, xM` (ORR xD, xzr, xM).
    pub fn mov(&mut self, rd: u32, rm: u32) -> &mut Self {
        self.word(0xaa00_03e0 | (rm << 16) | rd)
    }
    /// `add xD, xN, #imm12` (also `mov sp, xN` / `mov xD, sp` with imm 0).
    pub fn add(&mut self, rd: u32, rn: u32, imm: u32) -> &mut Self {
        self.word(0x9100_0000 | (imm << 10) | (rn << 5) | rd)
    }
    /// `sub xD, xN, xM`.
    pub fn sub_reg(&mut self, rd: u32, rn: u32, rm: u32) -> &mut Self {
        self.word(0xcb00_0000 | (rm << 16) | (rn << 5) | rd)
    }
    /// `movz xD, #imm16, lsl #(16*hw)`.
    pub fn movz(&mut self, rd: u32, imm: u32, hw: u32) -> &mut Self {
        self.word(0xd280_0000 | (hw << 21) | ((imm & 0xffff) << 5) | rd)
    }
    /// `movk xD, #imm16, lsl #(16*hw)`.
    pub fn movk(&mut self, rd: u32, imm: u32, hw: u32) -> &mut Self {
        self.word(0xf280_0000 | (hw << 21) | ((imm & 0xffff) << 5) | rd)
    }
    /// `mov wD, #imm16` (MOVZ, 32-bit).
    pub fn mov_w(&mut self, rd: u32, imm: u32) -> &mut Self {
        self.word(0x5280_0000 | ((imm & 0xffff) << 5) | rd)
    }
    /// `stp x29, x30, [sp, #-16]!`: the frame record.
    pub fn push_frame(&mut self) -> &mut Self {
        self.word(0xa9bf_7bfd)
    }
    /// `ldp x29, x30, [sp], #16`.
    pub fn pop_frame(&mut self) -> &mut Self {
        self.word(0xa8c1_7bfd)
    }
    /// `br xN`.
    pub fn br(&mut self, rn: u32) -> &mut Self {
        self.word(0xd61f_0000 | (rn << 5))
    }
    /// `blr xN`.
    pub fn blr(&mut self, rn: u32) -> &mut Self {
        self.word(0xd63f_0000 | (rn << 5))
    }
    /// `bl helper` through a CALL26 relocation (the loader points it at the helper's EL0
    /// stub, which `svc`s into the payload).
    pub fn bl(&mut self, helper: &'static str) -> &mut Self {
        self.calls.push((self.words.len(), helper));
        self.word(0x9400_0000) // BL (imm26 filled in by the loader)
    }
    /// The index of the next instruction, for [`Asm::b_to`].
    pub fn here(&self) -> usize {
        self.words.len()
    }
    /// `b label`, to the instruction at index `to`.
    pub fn b_to(&mut self, to: usize) -> &mut Self {
        let delta = to as i64 - self.words.len() as i64;
        self.word(0x1400_0000 | (delta as u32 & 0x3ff_ffff))
    }
    /// `b.ne label`, to the instruction at index `to`.
    pub fn bne_to(&mut self, to: usize) -> &mut Self {
        let delta = to as i64 - self.words.len() as i64;
        self.word(0x5400_0001 | ((delta as u32 & 0x7_ffff) << 5))
    }
    /// `ret`.
    pub fn ret(&mut self) -> &mut Self {
        self.word(0xd65f_03c0)
    }

    /// The code bytes (literal pool 8-aligned after the instructions), the patches, and the
    /// relocations.
    pub fn finish(&self) -> (Vec<u8>, Vec<Patch>, Vec<RelocSpec>) {
        let mut words = self.words.clone();
        if words.len() % 2 == 1 {
            words.push(0xd420_0000); // brk #0: padding, never reached
        }
        let mut patches = Vec::new();
        let mut pool = Vec::new();
        for (at, lit) in &self.literals {
            let slot = 4 * (words.len() + 2 * pool.len());
            let Literal::Address(target, addend) = *lit;
            pool.push(target.placeholder().wrapping_add(addend));
            patches.push(Patch {
                code_offset: slot,
                target,
                addend,
            });
            let imm19 = ((slot - 4 * at) / 4) as u32;
            words[*at] |= (imm19 & 0x7_ffff) << 5;
        }
        let mut code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        for v in pool {
            code.extend_from_slice(&v.to_le_bytes());
        }
        let relocs = self
            .calls
            .iter()
            .map(|&(at, sym)| (4 * at as u64, 0, CALL26, String::from(sym)))
            .collect();
        (code, patches, relocs)
    }
}

/// A hostile module: its name, what must happen, and its `_start`.
pub struct Case {
    /// Short name (file name without `.aot`).
    pub name: &'static str,
    /// What the attack tries.
    pub what: &'static str,
    /// The correct outcome.
    pub expect: Expect,
    /// Changes the container after the usual module is described (container-level
    /// attacks on LOAD).
    pub tweak: Option<fn(&mut ModuleBuilder)>,
    /// The code of `_start`.
    pub code: Asm,
}

/// WAMR 2.4.3 offsets the generated code uses (`WAMR-AOT-ABI.md` 6.10).
mod abi {
    /// exec_env->module_inst.
    pub const EXEC_ENV_MODULE_INST: u32 = 0x10;
    /// exec_env->argv_buf.
    pub const EXEC_ENV_ARGV_BUF: u32 = 0x18;
    /// inst->func_ptrs.
    pub const INST_FUNC_PTRS: u32 = 0x28;
    /// memory 0's memory_data_size.
    pub const MEM_DATA_SIZE: u32 = 0x170;
    /// memory 0's memory_data (the base generated code adds wasm addresses to).
    pub const MEM_DATA: u32 = 0x178;
    /// memory 0's memory_data_end.
    pub const MEM_DATA_END: u32 = 0x180;
    /// memory 0's mem_bound_check_1byte .. 16bytes.
    pub const MEM_BOUND_CHECKS: [u32; 5] = [0x1a8, 0x1b0, 0x1b8, 0x1c0, 0x1c8];
}

/// WASI errno EFAULT.
pub const EFAULT: u32 = 21;
/// Function index of the `fd_write` import (func_ptrs slot 0).
const FD_WRITE: u32 = 0;
/// Function index of the `proc_exit` import (func_ptrs slot 1).
const PROC_EXIT: u32 = 1;
/// Function index of the `poll_oneoff` import (func_ptrs slot 2).
const POLL_ONEOFF: u32 = 2;

use reg::*;

fn asm(f: impl FnOnce(&mut Asm)) -> Asm {
    let mut a = Asm::default();
    f(&mut a);
    a
}

/// `x8 = func_ptrs[idx]` of the instance in x19.
fn load_import(a: &mut Asm, idx: u32) {
    a.ldr(X8, X19, abi::INST_FUNC_PTRS); // ldr x8, [x19, #func_ptrs]
    a.ldr(X8, X8, 8 * idx); // ldr x8, [x8, #8*idx]
}

/// The marker the residue cases write and look for: 0x5ec2_2e75_5ec2_2e75 in x5.
fn marker(a: &mut Asm) {
    a.movz(5, 0x2e75, 0); // movz x5, #0x2e75
    a.movk(5, 0x5ec2, 1); // movk x5, #0x5ec2, lsl #16
    a.movk(5, 0x2e75, 2); // movk x5, #0x2e75, lsl #32
    a.movk(5, 0x5ec2, 3); // movk x5, #0x5ec2, lsl #48
}

/// x21 = the native address of linear-memory offset 0, from
/// `aot_check_app_addr_and_convert` (x19 = instance, x20 = exec_env).
fn memory_base(a: &mut Asm) {
    a.mov(X0, X19); // mov x0, x19
    a.mov_w(X1, 0); // mov w1, #0 (not a string)
    a.movz(X2, 0, 0); // mov x2, #0 (offset)
    a.movz(X3, 16, 0); // mov x3, #16 (size)
    a.ldr(X4, X20, abi::EXEC_ENV_ARGV_BUF); // ldr x4, [x20, #argv_buf] (out)
    a.bl("aot_check_app_addr_and_convert"); // bl aot_check_app_addr_and_convert
    a.ldr(X4, X20, abi::EXEC_ENV_ARGV_BUF); // ldr x4, [x20, #argv_buf]
    a.ldr(X21, X4, 0); // ldr x21, [x4]
}

/// Fills `rounds` x 16 bytes from x4 up with the marker in x5.
fn fill(a: &mut Asm, rounds: u32) {
    a.movz(X2, rounds, 0); // mov x2, #rounds
    let top = a.here();
    a.word(0xa881_1485); // stp x5, x5, [x4], #16
    a.word(0xf100_0442); // subs x2, x2, #1
    a.bne_to(top); // b.ne top
}

/// Counts into x7 the 8-byte words equal to x5 among `words` from x4 up.
fn count(a: &mut Asm, words: u32) {
    a.movz(X2, words, 0); // mov x2, #words
    let top = a.here();
    a.word(0xf840_8486); // ldr x6, [x4], #8
    a.word(0xeb05_00df); // cmp x6, x5
    a.word(0x9a87_14e7); // cinc x7, x7, eq
    a.word(0xf100_0442); // subs x2, x2, #1
    a.bne_to(top); // b.ne top
}

/// Prologue of the cases that call: frame record, x20 = exec_env, x19 = instance.
fn prologue(a: &mut Asm) {
    a.push_frame(); // stp x29, x30, [sp, #-16]!
    a.add(X29, SP, 0); // mov x29, sp
    a.mov(X20, X0); // mov x20, x0 (exec_env)
    a.ldr(X19, X0, abi::EXEC_ENV_MODULE_INST); // ldr x19, [x0, #module_inst]
}

/// Every case, in the order the client runs them: attacks from module code, then on LOAD,
/// then the modules of the isolation test.
pub fn cases() -> Vec<Case> {
    let mut all = code_cases();
    all.extend(load_cases());
    all.extend(isolation_cases());
    all
}

/// Role of [`ISOLATION_VICTIM`] in [`Expect::Isolation`].
pub const ISOLATION_VICTIM: u32 = 0;
/// Role of [`ISOLATION_ATTACKER`] in [`Expect::Isolation`].
pub const ISOLATION_ATTACKER: u32 = 1;
/// Offset in the victim's linear memory of its address record: five u64 (code, data, stack,
/// memory, stubs), written to stdout first.
pub const VICTIM_RECORD: u32 = 0x100;
/// Offset of the victim's second marker: in its second wasm page, which the attacker (one
/// page) does not have.
pub const VICTIM_SECOND_PAGE: u64 = 0x1_0000;

/// `cmp x6, x5; b.eq +8; brk #imm`: traps unless x6 holds the marker.
fn expect_marker(a: &mut Asm, imm: u32) {
    a.word(0xeb05_00df); // cmp x6, x5
    a.word(0x5400_0040); // b.eq .+8
    a.word(0xd420_0000 | (imm << 5)); // brk #imm
}

/// `cmp x6, x5; b.ne +8; brk #imm`: traps if x6 holds the marker (a leak).
fn refuse_marker(a: &mut Asm, imm: u32) {
    a.word(0xeb05_00df); // cmp x6, x5
    a.word(0x5400_0041); // b.ne .+8
    a.word(0xd420_0000 | (imm << 5)); // brk #imm
}

/// `fd_write(exec_env, 1, iovs, 1, nwritten)` with the iovecs at linear-memory offset
/// `iovs` and nwritten at 0x150, passed as native addresses (x21 = offset 0), as generated
/// code passes pointer arguments; the iovecs' buffers are offsets.
/// The isolation victim's set-up (bare-metal and Linux variants): the marker in both pages of
/// its linear memory and on its stack (a 64-byte frame the caller made), the 40-byte record
/// of its window addresses (code, data, stack, memory, stubs; x22 holds the return stub),
/// and the two iovecs that write the record (0x140) and 4 KiB from 0x1000 (0x160).
fn plant_victim_markers(a: &mut Asm) {
    memory_base(a); // x21 = linear memory offset 0
    marker(a); // x5 = marker
    a.str(5, X21, 0); // str x5, [x21]
    a.movz(X4, 1, 1); // movz x4, #1, lsl #16
    a.word(0x8b04_02a4); // add x4, x21, x4: the second page
    a.str(5, X4, 0); // str x5, [x4]
    a.str(5, SP, 0); // str x5, [sp]
    a.add(X4, X21, VICTIM_RECORD); // add x4, x21, #record
    a.word(0x1000_0006); // adr x6, .: in the code window
    a.str(6, X4, 0); // str x6, [x4] (code)
    a.str(X20, X4, 8); // str x20, [x4, #8] (data: exec_env)
    a.add(6, SP, 0); // mov x6, sp
    a.str(6, X4, 16); // str x6, [x4, #16] (stack marker)
    a.str(X21, X4, 24); // str x21, [x4, #24] (memory)
    a.str(X22, X4, 32); // str x22, [x4, #32] (stubs)
                        // iovec 0x140: the record (40 bytes); iovec 0x160: 4 KiB from 0x1000.
    a.mov_w(6, VICTIM_RECORD); // mov w6, #record
    a.str_w(6, X21, 0x140); // str w6, [x21, #0x140]
    a.mov_w(6, 40); // mov w6, #40
    a.str_w(6, X21, 0x144); // str w6, [x21, #0x144]
    a.mov_w(6, 0x1000); // mov w6, #0x1000
    a.str_w(6, X21, 0x160); // str w6, [x21, #0x160]
    a.str_w(6, X21, 0x164); // str w6, [x21, #0x164] (len 4096)
}

/// The isolation victim's check after the attack: the marker still in both pages of its linear
/// memory and on its stack (`expect_marker` 1, 2, 3 on a mismatch).
fn check_victim_markers(a: &mut Asm) {
    marker(a); // x5 = marker (fd_write clobbered it)
    a.ldr(6, X21, 0); // ldr x6, [x21]
    expect_marker(a, 1);
    a.movz(X4, 1, 1); // movz x4, #1, lsl #16
    a.word(0x8b04_02a4); // add x4, x21, x4
    a.ldr(6, X4, 0); // ldr x6, [x4]
    expect_marker(a, 2);
    a.ldr(6, SP, 0); // ldr x6, [sp]
    expect_marker(a, 3);
}

fn write_stdout(a: &mut Asm, iovs: u32) {
    load_import(a, FD_WRITE); // x8 = func_ptrs[fd_write]
    a.mov(X0, X20); // mov x0, x20 (exec_env)
    a.mov_w(X1, 1); // mov w1, #1 (stdout)
    a.add(X2, X21, iovs); // add x2, x21, #iovs
    a.mov_w(X3, 1); // mov w3, #1 (one iovec)
    a.add(X4, X21, 0x150); // add x4, x21, #0x150 (nwritten)
    a.blr(X8); // blr x8: fd_write
}

fn two_pages(b: &mut ModuleBuilder) {
    b.memories = vec![(0, 65536, 2, 2)];
}

/// The two modules of the isolation test. The victim (session 1) puts a marker in both pages
/// of its linear memory and on its stack, writes its address record and then 16 KiB to a
/// 4 KiB ring, so the run pauses (OUTPUT_PENDING) with all its windows mapped; while it is
/// paused the attacker (session 2) loads from every recorded victim address and stores to
/// the writable ones, then touches the victim's second page; resumed, the victim exits 0 only
/// if every marker is unchanged (else `brk`).
fn isolation_cases() -> Vec<Case> {
    vec![
        Case {
            name: "isolation-victim",
            what: "marker in its memory and stack, address record out, paused on a full ring;                    checks the markers when resumed",
            expect: Expect::Isolation(ISOLATION_VICTIM),
            tweak: Some(two_pages),
            code: asm(|a| {
                prologue(a);
                a.mov(X22, 30); // mov x22, x30: the return stub
                a.word(0xd101_03ff); // sub sp, sp, #64: a frame holding the stack marker
                plant_victim_markers(a);
                write_stdout(a, 0x140);
                for _ in 0..4 {
                    write_stdout(a, 0x160);
                }
                check_victim_markers(a);
                a.word(0x9101_03ff); // add sp, sp, #64
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "isolation-attacker",
            what: "load from every victim window address (a leak of the marker is brk #1),                    store to the victim's stack and memory, then touch its second page",
            expect: Expect::Isolation(ISOLATION_ATTACKER),
            tweak: None,
            code: asm(|a| {
                marker(a); // x5 = marker
                a.movz(7, 0x0bad, 0); // movz x7, #0xbad: what the stores write
                let probes = [
                    Target::VictimCode,
                    Target::VictimData,
                    Target::VictimStack,
                    Target::VictimMemory,
                    Target::VictimStubs,
                ];
                for t in probes {
                    a.ldr_address(X1, t, 0); // ldr x1, =victim address
                    a.ldr(6, X1, 0); // ldr x6, [x1]
                    refuse_marker(a, 1);
                }
                for t in [Target::VictimStack, Target::VictimMemory] {
                    a.ldr_address(X1, t, 0); // ldr x1, =victim address
                    a.str(7, X1, 0); // str x7, [x1]
                }
                a.ldr_address(X1, Target::VictimMemory, VICTIM_SECOND_PAGE); // ldr x1, =page 2
                a.ldr(6, X1, 0); // ldr x6, [x1]
                refuse_marker(a, 1);
                a.str(7, X1, 0); // str x7, [x1]
                a.ret(); // ret
            }),
        },
    ]
}

fn code_cases() -> Vec<Case> {
    let ec = |s| Expect::Trap(None, s);
    let oob = Expect::Trap(Some(2), "out of bounds memory access");
    vec![
        Case {
            name: "read-text",
            what: "load from the payload's text",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Text, 0x100); // ldr x1, =text+0x100
                a.ldr(X2, X1, 0); // ldr x2, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "read-canary",
            what: "load the secret canary",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.ldr(X2, X1, 0); // ldr x2, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "read-rodata",
            what: "load from the payload's rodata",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Rodata, 0); // ldr x1, =rodata
                a.ldr(X2, X1, 0); // ldr x2, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "write-canary",
            what: "store over the canary",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0x40); // ldr x1, =canary+0x40
                a.str(X1, X1, 0); // str x1, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "write-data",
            what: "store into the payload's .data (session table, VA windows)",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Data, 0); // ldr x1, =data
                a.str(X1, X1, 0); // str x1, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "write-stack",
            what: "store into CPU 0's main stack",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Stacks, 0x8000); // ldr x1, =stacks+0x8000
                a.str(X1, X1, 0); // str x1, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "write-pool",
            what: "store into the pool (where the module's own copy and code live)",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Pool, 0x1000); // ldr x1, =pool+0x1000
                a.str(X1, X1, 0); // str x1, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "write-own-text",
            what: "store into its own code (EL0 RX)",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.word(0x1000_0001); // adr x1, .
                a.str(X1, X1, 0); // str x1, [x1]
                a.ret(); // ret
            }),
        },
        Case {
            name: "mrs-sctlr",
            what: "read SCTLR_EL1 (right after a fault: no stale FAR in the report)",
            expect: ec("instruction), IL 1, ISS 0x0000000, at no fault address"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd538_1000); // mrs x0, sctlr_el1
                a.ret(); // ret
            }),
        },
        Case {
            name: "msr-vbar",
            what: "point VBAR_EL1 at the canary",
            expect: ec("EC 0x00"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.word(0xd518_c001); // msr vbar_el1, x1
                a.ret(); // ret
            }),
        },
        Case {
            name: "msr-ttbr0",
            what: "replace the translation table base",
            expect: ec("EC 0x00"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.word(0xd518_2001); // msr ttbr0_el1, x1
                a.ret(); // ret
            }),
        },
        Case {
            name: "smc",
            what: "call EL3 directly",
            expect: ec("EC 0x00"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd400_0003); // smc #0
                a.ret(); // ret
            }),
        },
        Case {
            name: "hvc",
            what: "call a hypervisor",
            expect: ec("EC 0x00"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd400_0002); // hvc #0
                a.ret(); // ret
            }),
        },
        Case {
            name: "eret",
            what: "exception return from EL0",
            expect: ec("EC 0x00"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd69f_03e0); // eret
                a.ret(); // ret
            }),
        },
        Case {
            name: "at-s1e1r",
            what: "probe EL1 translations with AT",
            expect: ec("EC 0x00"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.word(0xd508_7801); // at s1e1r, x1
                a.ret(); // ret
            }),
        },
        Case {
            name: "mask-irq",
            what: "mask interrupts (then it could never be preempted)",
            expect: ec("EC 0x18"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd503_4fdf); // msr daifset, #0xf
                a.ret(); // ret
            }),
        },
        Case {
            name: "timer-off",
            what: "disable the normal world's preemption timer (CNTV_CTL_EL0)",
            expect: ec("EC 0x18"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd51b_e33f); // msr cntv_ctl_el0, xzr
                a.ret(); // ret
            }),
        },
        Case {
            name: "dc-zva",
            what: "zero the canary with DC ZVA",
            expect: ec("EC 0x18"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.word(0xd50b_7421); // dc zva, x1
                a.ret(); // ret
            }),
        },
        Case {
            name: "dc-civac",
            what: "clean and invalidate the canary's cache line from EL0",
            expect: ec("EC 0x18"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.word(0xd50b_7e21); // dc civac, x1
                a.ret(); // ret
            }),
        },
        Case {
            name: "pmu",
            what: "read the cycle counter and reset the PMU (PMCR_EL0)",
            expect: ec("EC 0x18"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd53b_9d00); // mrs x0, pmccntr_el0
                a.word(0xd51b_9c1f); // msr pmcr_el0, xzr
                a.ret(); // ret
            }),
        },
        Case {
            name: "wfi",
            what: "wait for interrupt at EL0",
            expect: ec("EC 0x01"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd503_207f); // wfi
                a.ret(); // ret
            }),
        },
        Case {
            name: "branch-text",
            what: "branch into the payload's text",
            expect: ec("EC 0x20"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Text, 0); // ldr x1, =text
                a.br(X1); // br x1
            }),
        },
        Case {
            name: "exec-data",
            what: "branch into its own exec_env (EL0 RW, XN)",
            expect: ec("EC 0x20"),
            tweak: None,
            code: asm(|a| {
                a.br(X0); // br x0
            }),
        },
        Case {
            name: "sp-payload",
            what: "move SP onto the canary and push",
            expect: ec("EC 0x24"),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0x1000); // ldr x1, =canary+4096
                a.add(SP, X1, 0); // mov sp, x1
                a.push_frame(); // stp x29, x30, [sp, #-16]!
                a.ret(); // ret
            }),
        },
        Case {
            name: "sp-payload-helper",
            what: "call a helper with SP pointing at the canary",
            expect: Expect::Exit(0),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.ldr_address(X1, Target::Canary, 0x1000); // ldr x1, =canary+4096
                a.add(SP, X1, 0); // mov sp, x1
                a.mov(X0, X19); // mov x0, x19 (instance)
                a.mov_w(X1, 0); // mov w1, #0 (grow by 0 pages)
                a.bl("aot_enlarge_memory"); // bl aot_enlarge_memory
                a.add(SP, X29, 0); // mov sp, x29
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "svc-unknown",
            what: "svc #0 with an entry id no stub has (0x7fffdead: an import index far past \
                   the module's two)",
            expect: ec("unknown runtime entry: import"),
            tweak: None,
            code: asm(|a| {
                a.movz(X16, 0xdead, 0); // movz x16, #0xdead
                a.movk(X16, 0x7fff, 1); // movk x16, #0x7fff, lsl #16
                a.word(0xd400_0001); // svc #0
                a.ret(); // ret
            }),
        },
        Case {
            name: "svc-imm",
            what: "svc with another immediate",
            expect: ec("unexpected svc #1"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd400_0021); // svc #1
                a.ret(); // ret
            }),
        },
        Case {
            name: "forge-base-fd_write",
            what: "forge memory_data (and its size and bounds) to the canary, then fd_write \
                   with iovecs at the canary",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.str(X1, X19, abi::MEM_DATA); // str x1, [x19, #memory_data]
                a.add(X2, X1, 0x1000); // add x2, x1, #4096
                a.str(X2, X19, abi::MEM_DATA_END); // str x2, [x19, #memory_data_end]
                a.movz(X2, 0x1, 2); // movz x2, #1, lsl #32 (4 GiB)
                a.str(X2, X19, abi::MEM_DATA_SIZE); // str x2, [x19, #memory_data_size]
                for off in abi::MEM_BOUND_CHECKS {
                    a.str(X2, X19, off); // str x2, [x19, #mem_bound_check_N]
                }
                load_import(a, FD_WRITE); // x8 = func_ptrs[fd_write]
                a.mov(X0, X20); // mov x0, x20 (exec_env)
                a.mov_w(X1, 1); // mov w1, #1 (stdout)
                a.ldr_address(X2, Target::Canary, 0); // ldr x2, =canary (iovecs)
                a.mov_w(X3, 1); // mov w3, #1 (one iovec)
                a.add(X4, X2, 0x10); // add x4, x2, #16 (nwritten)
                a.blr(X8); // blr x8: fd_write
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "forge-base-efault",
            what: "forge memory_data, get the real base from aot_check_app_addr_and_convert, \
                   then fd_write an iovec whose buffer is the canary: EFAULT, exit with it",
            expect: Expect::Exit(EFAULT),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.str(X1, X19, abi::MEM_DATA); // str x1, [x19, #memory_data]
                a.mov(X0, X19); // mov x0, x19 (instance)
                a.mov_w(X1, 0); // mov w1, #0 (not a string)
                a.movz(X2, 0, 0); // mov x2, #0 (app offset 0)
                a.movz(X3, 16, 0); // mov x3, #16 (size)
                a.ldr(X4, X20, abi::EXEC_ENV_ARGV_BUF); // ldr x4, [x20, #argv_buf] (out)
                a.bl("aot_check_app_addr_and_convert"); // bl aot_check_app_addr_and_convert
                a.ldr(X4, X20, abi::EXEC_ENV_ARGV_BUF); // ldr x4, [x20, #argv_buf]
                a.ldr(X21, X4, 0); // ldr x21, [x4]: the native address of offset 0
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.sub_reg(X1, X1, X21); // sub x1, x1, x21 (canary as an app offset)
                a.str_w(X1, X21, 0); // str w1, [x21] (iovec.buf)
                a.mov_w(X1, 64); // mov w1, #64
                a.str_w(X1, X21, 4); // str w1, [x21, #4] (iovec.len)
                load_import(a, FD_WRITE); // x8 = func_ptrs[fd_write]
                a.mov(X0, X20); // mov x0, x20 (exec_env)
                a.mov_w(X1, 1); // mov w1, #1 (stdout)
                a.mov(X2, X21); // mov x2, x21 (iovecs at offset 0)
                a.mov_w(X3, 1); // mov w3, #1
                a.add(X4, X21, 8); // add x4, x21, #8 (nwritten)
                a.blr(X8); // blr x8: fd_write -> errno in w0
                a.mov(X1, X0); // mov x1, x0 (exit code = errno)
                load_import(a, PROC_EXIT); // x8 = func_ptrs[proc_exit]
                a.mov(X0, X20); // mov x0, x20
                a.blr(X8); // blr x8: proc_exit(errno)
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "smash-exec-env",
            what: "overwrite the first 4 KiB of exec_env/instance with payload addresses, call \
                   a helper, return",
            expect: Expect::Exit(0),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.ldr_address(X3, Target::Text, 0); // ldr x3, =text
                a.mov(X4, X20); // mov x4, x20
                a.movz(X2, 256, 0); // mov x2, #256 (16 bytes a round)
                a.word(0xa881_0c81); // loop: stp x1, x3, [x4], #16
                a.word(0xf100_0442); // subs x2, x2, #1
                a.word(0x54ff_ffc1); // b.ne loop
                a.mov(X0, X19); // mov x0, x19 (the old instance pointer)
                a.mov_w(X1, 1); // mov w1, #1 (grow by a page: max is 1, fails)
                a.bl("aot_enlarge_memory"); // bl aot_enlarge_memory
                a.mov_w(X1, 0); // mov w1, #0
                a.bl("aot_enlarge_memory"); // bl aot_enlarge_memory (succeeds, rewrites the mirror)
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "smash-then-fd_write",
            what: "smash exec_env/instance, then fd_write with iovecs in the smashed block",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                load_import(a, FD_WRITE); // x8 = func_ptrs[fd_write]
                a.mov(X22, X8); // mov x22, x8
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.movz(X3, 0x1000, 0); // mov x3, #0x1000 (a length)
                a.mov(X4, X20); // mov x4, x20
                a.movz(X2, 256, 0); // mov x2, #256
                a.word(0xa881_0c81); // loop: stp x1, x3, [x4], #16
                a.word(0xf100_0442); // subs x2, x2, #1
                a.word(0x54ff_ffc1); // b.ne loop
                a.mov(X0, X20); // mov x0, x20
                a.mov_w(X1, 1); // mov w1, #1 (stdout)
                a.add(X2, X20, 0x80); // add x2, x20, #0x80 (iovecs: the smashed argv_buf)
                a.mov_w(X3, 4); // mov w3, #4
                a.add(X4, X20, 0x40); // add x4, x20, #0x40 (nwritten)
                a.blr(X22); // blr x22: fd_write
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "tpidr-set",
            what: "leave a payload address in TPIDR_EL0 for the next module",
            expect: Expect::Exit(0),
            tweak: None,
            code: asm(|a| {
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.word(0xd51b_d041); // msr tpidr_el0, x1
                a.ret(); // ret
            }),
        },
        Case {
            name: "tpidr-get",
            what: "read TPIDR_EL0 a previous module left (exit code = its low 32 bits)",
            expect: Expect::Exit(0),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.word(0xd53b_d041); // mrs x1, tpidr_el0
                load_import(a, PROC_EXIT); // x8 = func_ptrs[proc_exit]
                a.mov(X0, X20); // mov x0, x20
                a.blr(X8); // blr x8: proc_exit(tpidr_el0)
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "brk",
            what: "a breakpoint instruction (FAR is UNKNOWN: the report must not show a stale \
                   address)",
            expect: ec("EC 0x3c (BRK instruction), IL 1, ISS 0x0000000, at no fault"),
            tweak: None,
            code: asm(|a| {
                a.word(0xd420_0000); // brk #0
                a.ret(); // ret
            }),
        },
        Case {
            name: "memmove-to-canary",
            what: "the memmove helper with the canary as destination",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.add(X1, X20, 0x80); // add x1, x20, #0x80 (source: its own argv_buf)
                a.ldr_address(X0, Target::Canary, 0); // ldr x0, =canary
                a.movz(X2, 64, 0); // mov x2, #64
                a.bl("memmove"); // bl memmove
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "memmove-from-canary",
            what: "the memmove helper copying the canary into its own memory",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.add(X0, X20, 0x80); // add x0, x20, #0x80 (destination: its argv_buf)
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary
                a.movz(X2, 64, 0); // mov x2, #64
                a.bl("memmove"); // bl memmove
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "memmove-wrap",
            what: "the memmove helper with a length that wraps the address space",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.add(X0, X20, 0x80); // add x0, x20, #0x80
                a.add(X1, X20, 0x100); // add x1, x20, #0x100
                a.word(0x9280_01e2); // mov x2, #-16
                a.bl("memmove"); // bl memmove
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "memset-canary",
            what: "the memset helper on the canary",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.ldr_address(X0, Target::Canary, 0); // ldr x0, =canary
                a.mov_w(X1, 0); // mov w1, #0
                a.movz(X2, 4096, 0); // mov x2, #4096
                a.bl("memset"); // bl memset
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "convert-out-canary",
            what: "aot_check_app_addr_and_convert told to write its result over the canary",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.mov(X0, X19); // mov x0, x19
                a.mov_w(X1, 0); // mov w1, #0
                a.movz(X2, 0, 0); // mov x2, #0
                a.movz(X3, 16, 0); // mov x3, #16
                a.ldr_address(X4, Target::Canary, 0); // ldr x4, =canary (out)
                a.bl("aot_check_app_addr_and_convert"); // bl aot_check_app_addr_and_convert
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "invoke-native-argv",
            what: "aot_invoke_native of fd_write with its argument cells at the canary",
            expect: oob,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.mov(X0, X20); // mov x0, x20 (exec_env)
                a.mov_w(X1, FD_WRITE); // mov w1, #0 (import 0: fd_write)
                a.mov_w(X2, 4); // mov w2, #4 (cells)
                a.ldr_address(X3, Target::Canary, 0); // ldr x3, =canary (argv)
                a.bl("aot_invoke_native"); // bl aot_invoke_native
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "set-exception-canary",
            what: "aot_set_exception with the canary as the message",
            expect: ec("exception set by module code"),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.mov(X0, X19); // mov x0, x19
                a.ldr_address(X1, Target::Canary, 0); // ldr x1, =canary (message)
                a.bl("aot_set_exception"); // bl aot_set_exception
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "pc-misaligned",
            what: "branch to its own code + 2",
            expect: ec("EC 0x22"),
            tweak: None,
            code: asm(|a| {
                a.word(0x1000_0001); // adr x1, .
                a.add(X1, X1, 2); // add x1, x1, #2
                a.br(X1); // br x1
            }),
        },
        Case {
            name: "residue-write",
            what: "fill its linear memory and 32 KiB of stack (half the default native stack) \
                   with a marker (for residue-scan)",
            expect: Expect::Exit(0),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                memory_base(a);
                marker(a);
                a.mov(X4, X21); // mov x4, x21
                fill(a, 65536 / 16);
                a.add(X4, SP, 0); // mov x4, sp
                a.word(0xd140_2084); // sub x4, x4, #8, lsl #12
                fill(a, 32768 / 16);
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "residue-scan",
            what: "look for the previous module's marker in its own linear memory and stack \
                   (exit code = words found)",
            expect: Expect::Exit(0),
            tweak: None,
            code: asm(|a| {
                prologue(a);
                memory_base(a);
                marker(a);
                a.movz(7, 0, 0); // mov x7, #0
                a.mov(X4, X21); // mov x4, x21
                count(a, 65536 / 8);
                a.add(X4, SP, 0); // mov x4, sp
                a.word(0xd140_2084); // sub x4, x4, #8, lsl #12
                count(a, 32768 / 8);
                a.mov(X1, 7); // mov x1, x7
                load_import(a, PROC_EXIT); // x8 = func_ptrs[proc_exit]
                a.mov(X0, X20); // mov x0, x20
                a.blr(X8); // blr x8: proc_exit(found)
                a.pop_frame(); // ldp x29, x30, [sp], #16
                a.ret(); // ret
            }),
        },
        Case {
            name: "sleep-loop",
            what: "poll_oneoff on a 10 s monotonic clock, forever (the secure world sleeps in \
                   the SVC, not at EL0)",
            expect: Expect::Cancelled,
            tweak: None,
            code: asm(|a| {
                prologue(a);
                a.mov(X0, X19); // mov x0, x19
                a.mov_w(X1, 0); // mov w1, #0
                a.movz(X2, 0, 0); // mov x2, #0
                a.movz(X3, 192, 0); // mov x3, #192
                a.ldr(X4, X20, abi::EXEC_ENV_ARGV_BUF); // ldr x4, [x20, #argv_buf]
                a.bl("aot_check_app_addr_and_convert"); // bl aot_check_app_addr_and_convert
                a.ldr(X4, X20, abi::EXEC_ENV_ARGV_BUF); // ldr x4, [x20, #argv_buf]
                a.ldr(X21, X4, 0); // ldr x21, [x4]: native address of offset 0
                a.mov_w(X1, 1); // mov w1, #1 (CLOCK_MONOTONIC)
                a.str_w(X1, X21, 16); // str w1, [x21, #16] (subscription.clock.id)
                a.movz(X1, 0xe400, 0); // movz x1, #0xe400
                a.movk(X1, 0x540b, 1); // movk x1, #0x540b, lsl #16
                a.movk(X1, 0x2, 2); // movk x1, #0x2, lsl #32 (10^10 ns)
                a.str(X1, X21, 24); // str x1, [x21, #24] (subscription.clock.timeout)
                let top = a.here();
                load_import(a, POLL_ONEOFF); // x8 = func_ptrs[poll_oneoff]
                a.mov(X0, X20); // mov x0, x20
                a.mov(X1, X21); // mov x1, x21 (subscriptions)
                a.add(X2, X21, 64); // add x2, x21, #64 (events)
                a.mov_w(X3, 1); // mov w3, #1
                a.add(X4, X21, 128); // add x4, x21, #128 (nevents)
                a.blr(X8); // blr x8: poll_oneoff
                a.b_to(top); // b top
            }),
        },
        Case {
            name: "spin",
            what: "loop forever (b .)",
            expect: Expect::Cancelled,
            tweak: None,
            code: asm(|a| {
                a.word(0x1400_0000); // b .
            }),
        },
    ]
}

/// Container-level attacks: LOAD must refuse them cleanly (the payload relocates module code
/// in its own memory, so a relocation outside the image would write the payload).
fn load_cases() -> Vec<Case> {
    fn refused(
        name: &'static str,
        what: &'static str,
        expect: Expect,
        tweak: fn(&mut ModuleBuilder),
    ) -> Case {
        Case {
            name,
            what,
            expect,
            tweak: Some(tweak),
            code: asm(|a| {
                a.ret(); // ret
                a.ret(); // ret
            }),
        }
    }
    let bad = |msg| Expect::LoadRefused(Status::BadModule, msg);
    vec![
        refused(
            "reloc-past-text",
            "a CALL26 relocation just past the end of the code",
            bad(""),
            |b| reloc(b, 8, CALL26, "aot_enlarge_memory"),
        ),
        refused(
            "reloc-straddle",
            "a CALL26 relocation whose 4 bytes straddle the end of the code",
            bad(""),
            |b| reloc(b, 6, CALL26, "aot_enlarge_memory"),
        ),
        refused(
            "reloc-offset-huge",
            "a relocation at offset 2^64 - 4 (wraps to just before the code)",
            bad(""),
            |b| reloc(b, u64::MAX - 3, CALL26, "aot_enlarge_memory"),
        ),
        refused(
            "reloc-unknown-symbol",
            "a call to a symbol that is no runtime helper",
            bad(""),
            |b| reloc(b, 0, CALL26, "system"),
        ),
        refused(
            "reloc-data-past-section",
            "an ABS64 data relocation straddling the end of an 8-byte .rodata",
            bad(""),
            |b| {
                b.data_sections = vec![(String::from(".rodata"), vec![0; 8])];
                b.relocation_groups = vec![(
                    String::from(".rela.rodata"),
                    vec![(4, 0, 257, String::from(".text"))],
                )];
            },
        ),
        refused(
            "func-past-text",
            "_start's code offset 1 MiB past the end of the code",
            bad(""),
            |b| b.functions = vec![(0x10_0000, 0)],
        ),
        refused(
            "export-bad-index",
            "_start exported as function 99 of 4",
            bad(""),
            |b| b.exports = vec![(String::from("_start"), 0, 99)],
        ),
        refused(
            "memory-4gib",
            "an initial linear memory of 65536 pages (4 GiB) under an 8 MiB quota",
            Expect::LoadRefused(Status::QuotaTooSmall, ""),
            |b| b.memories = vec![(0, 65536, 65536, 65536)],
        ),
    ]
}

fn reloc(b: &mut ModuleBuilder, offset: u64, kind: u32, symbol: &str) {
    b.relocation_groups = vec![(
        String::from(".rela.text"),
        vec![(offset, 0, kind, String::from(symbol))],
    )];
}

/// The module around a case's code: one 64 KiB memory, imports
/// `wasi_snapshot_preview1.fd_write` (func 0), `proc_exit` (func 1) and `poll_oneoff`
/// (func 2), `_start` (func 3).
/// Returns the file and the file offsets of its patches.
pub fn build(case: &Case) -> (Vec<u8>, Vec<(usize, Patch)>) {
    let (code, patches, relocs) = case.code.finish();
    let mut b = ModuleBuilder::new(Arch::Aarch64);
    b.memories = vec![(0, 65536, 1, 1)];
    b.types = vec![
        (Vec::new(), Vec::new()),
        (vec![ValType::I32; 4], vec![ValType::I32]),
        (vec![ValType::I32], Vec::new()),
    ];
    let wasi = String::from("wasi_snapshot_preview1");
    b.import_funcs = vec![
        (1, wasi.clone(), String::from("fd_write")),
        (2, wasi.clone(), String::from("proc_exit")),
        (1, wasi, String::from("poll_oneoff")),
    ];
    b.code = code.clone();
    b.functions = vec![(0, 0)];
    b.exports = vec![(String::from("_start"), 0, 3)];
    if !relocs.is_empty() {
        b.relocation_groups = vec![(String::from(".rela.text"), relocs)];
    }
    if let Some(tweak) = case.tweak {
        tweak(&mut b);
    }
    let file = b.build();
    // The TEXT section body is `u32 literal_size (0)` then the code: find it.
    let start = file
        .windows(code.len() + 4)
        .position(|w| w[..4] == [0; 4] && w[4..] == code[..])
        .map(|p| p + 4)
        .expect("the code is in the file");
    let at = patches
        .iter()
        .map(|p| (start + p.code_offset, *p))
        .collect();
    (file, at)
}

/// The bundle the test client reads (QEMU preloads it into normal-world RAM).
///
/// ```text
/// 0    b"TZHOSTL1", u32 count, u32 offset of the first file
/// 16   count entries of ENTRY_SIZE bytes:
///      0   name, NUL-padded (32 bytes)
///      32  expected text in the trap message, NUL-padded (64 bytes; empty for exits)
///      96  u32 kind: 0 trap, 1 exit, 2 cancelled, 3 LOAD refused, 4 a module of the
///          isolation test (the value is its role)
///      100 u32 trap id (u32::MAX: a trap without one), exit code, or LOAD's status (low 32
///          bits)
///      104 u32 file offset in the bundle, u32 file length
///      112 u32 patch count (at most MAX_PATCHES = 8), u32 0
///      120 MAX_PATCHES x (u32 file offset of an 8-byte literal, u32 Target, u64 addend)
/// then the files, each 8-aligned.
/// ```
pub mod bundle {
    /// Magic at offset 0.
    pub const MAGIC: &[u8; 8] = b"TZHOSTL1";
    /// Bytes per entry.
    pub const ENTRY_SIZE: usize = 256;
    /// Patches per entry, at most.
    pub const MAX_PATCHES: usize = 8;
    /// Bytes of the name field.
    pub const NAME_LEN: usize = 32;
    /// Bytes of the message field.
    pub const MESSAGE_LEN: usize = 64;
}

/// Packs every case into one [`bundle`].
pub fn make_bundle(cases: &[Case]) -> Vec<u8> {
    use bundle::*;
    let header = 16 + ENTRY_SIZE * cases.len();
    let mut out = vec![0u8; header];
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&(cases.len() as u32).to_le_bytes());
    out[12..16].copy_from_slice(&(header as u32).to_le_bytes());
    for (i, case) in cases.iter().enumerate() {
        let (file, patches) = build(case);
        assert!(
            patches.len() <= MAX_PATCHES,
            "{}: too many patches",
            case.name
        );
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        let file_off = out.len();
        out.extend_from_slice(&file);
        let e = 16 + ENTRY_SIZE * i;
        let put = |out: &mut Vec<u8>, at: usize, b: &[u8]| {
            out[e + at..e + at + b.len()].copy_from_slice(b)
        };
        assert!(case.name.len() < NAME_LEN);
        put(&mut out, 0, case.name.as_bytes());
        let (kind, value, msg) = match case.expect {
            Expect::Trap(id, msg) => (0u32, id.unwrap_or(u32::MAX), msg),
            Expect::Exit(code) => (1, code, ""),
            Expect::Cancelled => (2, 0, ""),
            Expect::LoadRefused(status, msg) => (3, status.to_raw() as u32, msg),
            Expect::Isolation(role) => (4, role, ""),
        };
        assert!(msg.len() < MESSAGE_LEN);
        put(&mut out, 32, msg.as_bytes());
        put(&mut out, 96, &kind.to_le_bytes());
        put(&mut out, 100, &value.to_le_bytes());
        put(&mut out, 104, &(file_off as u32).to_le_bytes());
        put(&mut out, 108, &(file.len() as u32).to_le_bytes());
        put(&mut out, 112, &(patches.len() as u32).to_le_bytes());
        for (k, (off, p)) in patches.iter().enumerate() {
            let at = 120 + 16 * k;
            put(&mut out, at, &(*off as u32).to_le_bytes());
            put(&mut out, at + 4, &(p.target as u32).to_le_bytes());
            put(&mut out, at + 8, &p.addend.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_is_a_valid_container_with_start() {
        for case in code_cases().into_iter().chain(isolation_cases()) {
            let (file, patches) = build(&case);
            let m = tzwasm_aot_loader::parse(&file, Arch::Aarch64)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(m.import_funcs.len(), 3, "{}", case.name);
            for (off, p) in patches {
                let v = u64::from_le_bytes(file[off..off + 8].try_into().unwrap());
                assert_eq!(
                    v,
                    p.target.placeholder().wrapping_add(p.addend),
                    "{}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn literal_loads_reach_their_slot() {
        let mut a = Asm::default();
        a.ldr_address(1, Target::Canary, 8).ret();
        let (code, patches, _) = a.finish();
        // ldr x1, #8 (imm19 = 2): the slot after `ret`.
        assert_eq!(&code[..4], &0x5800_0041u32.to_le_bytes());
        assert_eq!(patches[0].code_offset, 8);
        let v = u64::from_le_bytes(code[8..16].try_into().unwrap());
        assert_eq!(v, Target::Canary.placeholder() + 8);
    }

    #[test]
    fn encodings_match_the_assembler() {
        // Checked against GNU as (aarch64-linux-gnu-as) output.
        let mut a = Asm::default();
        a.ldr(2, 1, 0) // f9400022 ldr x2, [x1]
            .str(1, 19, 0x178) // f900be61 str x1, [x19, #376]
            .ldr(19, 0, 0x10) // f9400813 ldr x19, [x0, #16]
            .mov(20, 0) // aa0003f4 mov x20, x0
            .add(31, 1, 0) // 9100003f mov sp, x1
            .add(29, 31, 0) // 910003fd mov x29, sp
            .br(1) // d61f0020 br x1
            .blr(8) // d63f0100 blr x8
            .movz(16, 0xdead, 0) // d29bd5b0 mov x16, #0xdead
            .movk(16, 0x7fff, 1) // f2affff0 movk x16, #0x7fff, lsl #16
            .mov_w(1, 1) // 52800021 mov w1, #1
            .add(4, 21, 8) // 910022a4 add x4, x21, #8
            .sub_reg(1, 1, 21) // cb150021 sub x1, x1, x21
            .str_w(1, 21, 4); // b90006a1 str w1, [x21, #4]
        let want = [
            0xf940_0022u32,
            0xf900_be61,
            0xf940_0813,
            0xaa00_03f4,
            0x9100_003f,
            0x9100_03fd,
            0xd61f_0020,
            0xd63f_0100,
            0xd29b_d5b0,
            0xf2af_fff0,
            0x5280_0021,
            0x9100_22a4,
            0xcb15_0021,
            0xb900_06a1,
        ];
        assert_eq!(a.words, want);
    }

    #[test]
    fn bundle_lists_every_case() {
        let cs = cases();
        let b = make_bundle(&cs);
        assert_eq!(&b[..8], bundle::MAGIC);
        assert_eq!(
            u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize,
            cs.len()
        );
        for (i, c) in cs.iter().enumerate() {
            let e = 16 + bundle::ENTRY_SIZE * i;
            let off = u32::from_le_bytes(b[e + 104..e + 108].try_into().unwrap()) as usize;
            let len = u32::from_le_bytes(b[e + 108..e + 112].try_into().unwrap()) as usize;
            assert_eq!(&b[off..off + len], &build(c).0[..]);
        }
    }
}
