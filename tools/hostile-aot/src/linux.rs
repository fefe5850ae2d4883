//! Modules of the Linux end-to-end tests (`qemu/linux/linux-test.sh`), run with the `tzwasm`
//! tool as a user would. Not part of the bare-metal bundle. This module owns:
//!
//! - The isolation test on Linux ([`isolation_victim`], [`isolation_attackers`]): the victim
//!   (session 1) puts a marker in both pages of its linear memory and on its stack, writes its
//!   address record (five little-endian u64: code, data, stack, memory, stubs, as the
//!   bare-metal victim's) to stdout and then 1 MiB more, far more than the tool's 16 KiB ring
//!   and a pipe hold, so with a reader that stops after the record the run stays paused
//!   (OUTPUT_PENDING) with everything of it mapped. One attacker per victim address, patched
//!   with the record by the guest script (each `.patch` file lists `FILE_OFFSET WORD ADDEND`,
//!   WORD indexing the record), loads from that address (reading the marker is a leak:
//!   `brk #1`), stores to it, and then does the same at the victim's second memory page,
//!   which its own one-page memory does not have, so every attacker ends in a trap. Resumed,
//!   the victim checks every marker (`brk` on a change) and prints
//!   [`VICTIM_OK`] on stderr.
//! - [`many_symbols`]: a module whose relocation table names very many distinct symbols, for
//!   "parser allocations are counted" (issue 11): its parse needs more memory than its file.

use super::reg::*;
use super::{
    asm, build, check_victim_markers, load_import, marker, plant_victim_markers, prologue,
    refuse_marker, two_pages, Asm, Case, Expect, Target, FD_WRITE, VICTIM_SECOND_PAGE,
};
use tzwasm_aot_loader::writer::ModuleBuilder;
use tzwasm_aot_loader::Arch;

/// What the victim prints on stderr when, resumed, it finds every marker unchanged.
pub const VICTIM_OK: &str = "isolation victim: markers unchanged\n";
/// Offset in the victim's linear memory where it builds [`VICTIM_OK`].
const MESSAGE_AT: u32 = 0x200;
/// 4 KiB writes after the record: 1 MiB in all.
const VICTIM_CHUNKS: u32 = 256;

/// `fd_write(exec_env, fd, iovs, 1, nwritten)`, like `write_stdout` for any descriptor.
fn write_fd(a: &mut Asm, fd: u32, iovs: u32) {
    load_import(a, FD_WRITE); // x8 = func_ptrs[fd_write]
    a.mov(X0, X20); // mov x0, x20 (exec_env)
    a.mov_w(X1, fd); // mov w1, #fd
    a.add(X2, X21, iovs); // add x2, x21, #iovs
    a.mov_w(X3, 1); // mov w3, #1 (one iovec)
    a.add(X4, X21, 0x150); // add x4, x21, #0x150 (nwritten)
    a.blr(X8); // blr x8: fd_write
}

/// Stores `text` at linear-memory offset `at` (x21 = offset 0), four bytes at a time.
fn store_text(a: &mut Asm, at: u32, text: &[u8]) {
    for (k, chunk) in text.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        let v = u32::from_le_bytes(w);
        a.movz(6, v & 0xffff, 0); // movz x6, #lo
        a.movk(6, v >> 16, 1); // movk x6, #hi, lsl #16
        a.str_w(6, X21, at + 4 * k as u32); // str w6, [x21, #at + 4k]
    }
}

/// The Linux victim (see the module docs).
pub fn isolation_victim() -> Case {
    Case {
        name: "isolation-victim-linux",
        what: "marker in both memory pages and on its stack, address record then 1 MiB to \
               stdout (paused on a full ring while nobody reads), checks the markers when \
               resumed and says so on stderr",
        expect: Expect::Isolation(0),
        tweak: Some(two_pages),
        code: asm(|a| {
            prologue(a);
            a.mov(X22, 30); // mov x22, x30: the return stub
            a.word(0xd101_03ff); // sub sp, sp, #64: the stack marker's frame
            a.str(23, SP, 8); // str x23, [sp, #8]: callee-saved, the loop counter
            plant_victim_markers(a);
            write_fd(a, 1, 0x140);
            a.movz(23, VICTIM_CHUNKS, 0); // mov x23, #chunks
            let top = a.here();
            write_fd(a, 1, 0x160);
            a.word(0xf100_06f7); // subs x23, x23, #1
            a.bne_to(top); // b.ne top
            check_victim_markers(a);
            store_text(a, MESSAGE_AT, VICTIM_OK.as_bytes());
            a.mov_w(6, MESSAGE_AT); // mov w6, #message
            a.str_w(6, X21, 0x170); // str w6, [x21, #0x170]
            a.mov_w(6, VICTIM_OK.len() as u32); // mov w6, #len
            a.str_w(6, X21, 0x174); // str w6, [x21, #0x174]
            write_fd(a, 2, 0x170);
            a.ldr(23, SP, 8); // ldr x23, [sp, #8]
            a.word(0x9101_03ff); // add sp, sp, #64
            a.pop_frame(); // ldp x29, x30, [sp], #16
            a.movz(X0, 0, 0); // mov x0, #0
            a.ret(); // ret
        }),
    }
}

/// One attacker per victim address: (file name, the target, what it is).
pub fn isolation_attackers() -> Vec<(&'static str, Case)> {
    let probes: [(&'static str, Target, u64); 6] = [
        ("code", Target::VictimCode, 0),
        ("data", Target::VictimData, 0),
        ("stack", Target::VictimStack, 0),
        ("memory", Target::VictimMemory, 0),
        ("page2", Target::VictimMemory, VICTIM_SECOND_PAGE),
        ("stubs", Target::VictimStubs, 0),
    ];
    probes
        .into_iter()
        .map(|(what, target, addend)| {
            let code = asm(|a| {
                marker(a); // x5 = marker
                a.movz(7, 0x0bad, 0); // movz x7, #0xbad: what the stores write
                for (t, add) in [(target, addend), (Target::VictimMemory, VICTIM_SECOND_PAGE)] {
                    a.ldr_address(X1, t, add); // ldr x1, =victim address
                    a.ldr(6, X1, 0); // ldr x6, [x1]
                    refuse_marker(a, 1);
                    a.str(7, X1, 0); // str x7, [x1]
                }
                a.movz(X0, 0, 0); // mov x0, #0: no trap at all (a failure)
                a.ret(); // ret
            });
            (
                what,
                Case {
                    name: "isolation-attacker-linux",
                    what: "load from and store to one victim address, then its second page",
                    expect: Expect::Isolation(1),
                    tweak: None,
                    code,
                },
            )
        })
        .collect()
}

/// The `.patch` text of an attacker file: one `FILE_OFFSET WORD ADDEND` line (decimal) per
/// literal, WORD indexing the victim's address record.
pub fn patch_list(case: &Case) -> String {
    let (_, patches) = build(case);
    patches
        .iter()
        .map(|(off, p)| {
            format!(
                "{off} {} {}\n",
                p.target as u32 - Target::VictimCode as u32,
                p.addend
            )
        })
        .collect()
}

/// Distinct relocation symbols of [`many_symbols`]: about 3.4 MB of file (the tool shares at
/// most 4 MiB per program).
pub const MANY_SYMBOLS: usize = 90_000;

/// A module of about 3.4 MB whose one relocation group has one CALL26 relocation per distinct
/// symbol (`s0`, `s1`, ...), none of them a runtime helper: parsing it needs more memory than
/// the file itself (a symbol and its relocation record cost more parsed than in the file).
pub fn many_symbols() -> Vec<u8> {
    let mut b = ModuleBuilder::minimal(Arch::Aarch64);
    let relocs = (0..MANY_SYMBOLS)
        .map(|i| {
            (
                0,
                0,
                tzwasm_aot_loader::reloc::aarch64::CALL26,
                format!("s{i}"),
            )
        })
        .collect();
    b.relocation_groups
        .push((String::from(".rela.text"), relocs));
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_modules_parse_and_list_their_patches() {
        let (victim, _) = build(&isolation_victim());
        let m = tzwasm_aot_loader::parse(&victim, Arch::Aarch64).unwrap();
        assert_eq!(m.import_funcs.len(), 3);
        for (what, case) in isolation_attackers() {
            let (file, patches) = build(&case);
            tzwasm_aot_loader::parse(&file, Arch::Aarch64).unwrap();
            let list = patch_list(&case);
            assert_eq!(list.lines().count(), 2, "{what}");
            // The second literal is always the victim's second page (record word 3).
            let last = list.lines().last().unwrap();
            assert!(last.ends_with(" 3 65536"), "{what}: {last}");
            assert_eq!(patches.len(), 2);
        }
    }
}
