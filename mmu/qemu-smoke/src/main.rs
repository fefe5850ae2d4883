//! Bare-metal smoke test of `tzwasm_mmu::arch` on QEMU `virt` (cortex-a57, NS-EL1): builds an
//! identity map of this image with guard page, turns the MMU on and checks on the emulated
//! CPU what the host tests cannot: register values, translation and permission faults,
//! VA != PA windows, the relocate -> protect -> `sync_icache_range` -> run sequence, and that
//! `unmap` really removes TLB entries. Prints one line per check and `N passed, M failed`,
//! then PSCI SYSTEM_OFF.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::fmt::Write;
use tzwasm_mmu::arch::{self, EnableOptions, HwTlb};
use tzwasm_mmu::{regs, Attributes, FixedPool, PageTables, TablePage, PAGE_SIZE};

/// The upper half of this test's 39-bit space (single level 1 root): VA != PA there.
const HIGH_HALF: u64 = 1 << 38;

// Entry: stack, bss, vectors, main. The only handled exception is a synchronous one at the
// current EL (SPx): it records ESR/FAR and resumes after the faulting load/store, or at the
// caller (x30) for an instruction abort. Clobbers x9-x11, which every faulting asm block
// below declares.
global_asm!(
    r#"
.section .text.boot
.global _start
_start:
    ldr x0, =__stack_top
    mov sp, x0
    ldr x0, =__bss_start
    ldr x1, =__bss_end
1:  cmp x0, x1
    b.ge 2f
    str xzr, [x0], #8
    b 1b
2:  adr x0, vectors
    msr vbar_el1, x0
    isb
    bl main
3:  wfe
    b 3b

.balign 2048
vectors:
    .rept 4
    .balign 128
    b .
    .endr
    .balign 128
    mrs x9, esr_el1
    adrp x10, LAST_ESR
    str x9, [x10, :lo12:LAST_ESR]
    mrs x11, far_el1
    adrp x10, LAST_FAR
    str x11, [x10, :lo12:LAST_FAR]
    lsr x9, x9, #26
    cmp x9, #0x21
    b.ne 4f
    msr elr_el1, x30
    eret
4:  mrs x10, elr_el1
    add x10, x10, #4
    msr elr_el1, x10
    eret
    .rept 11
    .balign 128
    b .
    .endr
"#
);

#[unsafe(no_mangle)]
static mut LAST_ESR: u64 = 0;
#[unsafe(no_mangle)]
static mut LAST_FAR: u64 = 0;

const UART0: usize = 0x0900_0000;
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
const EC_IABT_CUR: u64 = 0x21;
const EC_DABT_CUR: u64 = 0x25;
const FSC_TRANSLATION_L3: u64 = 0b00_0111;

struct Uart;
impl Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            // SAFETY: PL011 data register of QEMU virt's UART0, mapped Device (or MMU off).
            unsafe { core::ptr::write_volatile(UART0 as *mut u32, b as u32) };
        }
        Ok(())
    }
}

static mut POOL: [TablePage; 16] = [TablePage::ZERO; 16];

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
    static __guard: u8;
    static __stack_bottom: u8;
    static __stack_top: u8;
    static __scratch: u8;
}

/// (ESR, FAR) of the last exception since the previous call, (0, _) if none.
fn take_fault() -> (u64, u64) {
    // SAFETY: single CPU; the handler writes these only synchronously with our own accesses.
    unsafe {
        let e = core::ptr::read_volatile(&raw const LAST_ESR);
        let f = core::ptr::read_volatile(&raw const LAST_FAR);
        core::ptr::write_volatile(&raw mut LAST_ESR, 0);
        (e, f)
    }
}

fn load(va: u64) -> u64 {
    let v: u64;
    // SAFETY: a fault is caught and skipped by the vector (x0 keeps 0xbad then).
    unsafe {
        asm!("mov x0, #0xbad", "ldr x0, [{a}]", a = in(reg) va, out("x0") v,
             out("x9") _, out("x10") _, out("x11") _)
    };
    v
}

fn store(va: u64, val: u64) {
    // SAFETY: as for `load`; the test only writes its own scratch pages or faulting VAs.
    unsafe {
        asm!("str {v}, [{a}]", a = in(reg) va, v = in(reg) val,
             out("x9") _, out("x10") _, out("x11") _)
    };
}

fn call(va: u64) -> u64 {
    let v: u64;
    // SAFETY: the code at `va` is `mov x0, #imm; ret` or faults back to us via x30.
    unsafe {
        asm!("mov x0, #0xbad", "blr {f}", f = in(reg) va, out("x0") v,
             out("x9") _, out("x10") _, out("x11") _, out("x30") _)
    };
    v
}

struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    fn check(&mut self, name: &str, ok: bool, detail: u64) {
        let _ = writeln!(
            Uart,
            "{} {name} ({detail:#x})",
            if ok { "ok  " } else { "FAIL" }
        );
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }
}

fn ec(esr: u64) -> u64 {
    esr >> 26
}

fn permission_fault(esr: u64) -> bool {
    esr & 0b11_1100 == 0b00_1100
}

fn translation_fault(esr: u64) -> bool {
    esr & 0b11_1100 == 0b00_0100
}

#[unsafe(no_mangle)]
extern "C" fn main() -> ! {
    let r = &mut Report {
        passed: 0,
        failed: 0,
    };
    let sym = |p: *const u8| p as u64;
    let (text, text_end) = (sym(&raw const __text_start), sym(&raw const __text_end));
    let (ro, ro_end) = (sym(&raw const __rodata_start), sym(&raw const __rodata_end));
    let (data, data_end) = (sym(&raw const __data_start), sym(&raw const __data_end));
    let guard = sym(&raw const __guard);
    let (stack, stack_top) = (sym(&raw const __stack_bottom), sym(&raw const __stack_top));
    let scratch = sym(&raw const __scratch);

    let pool = &raw mut POOL;
    let pool_pa = pool as u64;
    // SAFETY: nothing was written to the pool yet.
    unsafe { arch::invalidate_dcache_range(pool_pa, 16 * PAGE_SIZE) };
    // SAFETY: the only reference ever made to POOL.
    let pages: &'static mut [TablePage] = unsafe { &mut *pool };
    let mut pt = PageTables::new(FixedPool::new(pages, pool_pa), HwTlb).unwrap();
    pt.map_identity(text, text_end - text, Attributes::KERNEL_TEXT)
        .unwrap();
    if ro_end > ro {
        pt.map_identity(ro, ro_end - ro, Attributes::KERNEL_RODATA)
            .unwrap();
    }
    pt.map_identity(data, data_end - data, Attributes::KERNEL_DATA)
        .unwrap();
    pt.map_identity(stack, stack_top - stack, Attributes::KERNEL_DATA)
        .unwrap();
    pt.map_identity(UART0 as u64, PAGE_SIZE, Attributes::DEVICE)
        .unwrap();
    pt.map_identity(scratch, PAGE_SIZE, Attributes::KERNEL_DATA)
        .unwrap();
    r.check(
        "tables verify",
        pt.verify().is_ok(),
        pt.allocator().in_use() as u64,
    );

    // SAFETY: the map covers this code, its stack, data, the pool (in .bss) and the UART.
    unsafe { arch::enable(pt.root_pa(), EnableOptions::default()) };
    let (sctlr, tcr, mair): (u64, u64, u64);
    // SAFETY: reading system registers at EL1.
    unsafe {
        asm!("mrs {}, sctlr_el1", out(reg) sctlr);
        asm!("mrs {}, tcr_el1", out(reg) tcr);
        asm!("mrs {}, mair_el1", out(reg) mair);
    }
    r.check(
        "SCTLR_EL1 as computed: M C I SA SA0 WXN, A=0",
        sctlr == regs::sctlr_el1(true),
        sctlr,
    );
    r.check(
        "TCR_EL1 as computed (cortex-a57: 44-bit PARange)",
        tcr == regs::tcr_el1(0b100),
        tcr,
    );
    r.check("MAIR_EL1", mair == tzwasm_mmu::MAIR_EL1_VALUE, mair);

    store(scratch, 0x1234_5678);
    r.check(
        "data page read/write",
        load(scratch) == 0x1234_5678 && take_fault().0 == 0,
        load(scratch),
    );

    let v = load(guard);
    let (e, f) = take_fault();
    r.check(
        "guard page: translation fault, level 3",
        ec(e) == EC_DABT_CUR && e & 0x3f == FSC_TRANSLATION_L3 && f == guard && v == 0xbad,
        e,
    );
    store(text, 0);
    let (e, _) = take_fault();
    r.check(
        "text write: permission fault",
        ec(e) == EC_DABT_CUR && permission_fault(e),
        e,
    );
    if ro_end > ro {
        store(ro, 0);
        let (e, _) = take_fault();
        r.check(
            "rodata write: permission fault",
            ec(e) == EC_DABT_CUR && permission_fault(e),
            e,
        );
    }

    // A window VA aliasing the scratch page's PA (VA != PA).
    let win = HIGH_HALF + 0x20_0000;
    pt.map(win, scratch, PAGE_SIZE, Attributes::KERNEL_DATA)
        .unwrap();
    r.check(
        "window alias reads PA's data",
        load(win) == 0x1234_5678,
        load(win),
    );
    store(win + 8, 0xfeed);
    r.check(
        "window alias write visible at PA",
        load(scratch + 8) == 0xfeed,
        load(scratch + 8),
    );

    // Module-text sequence: write RW, protect to executable, sync the I-cache, run.
    let code = HIGH_HALF + 0x40_0000;
    pt.map(
        code,
        scratch + PAGE_SIZE,
        PAGE_SIZE,
        Attributes::KERNEL_DATA,
    )
    .unwrap();
    store(code, 0xd65f_03c0_d280_0540); // mov x0, #42; ret
    let v = call(code);
    let (e, _) = take_fault();
    r.check(
        "exec from RW page: permission fault",
        ec(e) == EC_IABT_CUR && permission_fault(e) && v == 0xbad,
        e,
    );
    pt.protect(code, PAGE_SIZE, Attributes::KERNEL_TEXT)
        .unwrap();
    arch::sync_icache_range(code, 8);
    let v = call(code);
    r.check(
        "patched code runs after protect + sync_icache_range",
        v == 42 && take_fault().0 == 0,
        v,
    );
    store(code, 1);
    let (e, _) = take_fault();
    r.check(
        "executable page not writable",
        ec(e) == EC_DABT_CUR && permission_fault(e),
        e,
    );
    pt.protect(code, PAGE_SIZE, Attributes::KERNEL_DATA)
        .unwrap();
    store(code, 0xd65f_03c0_d280_00e0); // mov x0, #7; ret
    pt.protect(code, PAGE_SIZE, Attributes::KERNEL_TEXT)
        .unwrap();
    arch::sync_icache_range(code, 8);
    let v = call(code);
    r.check(
        "re-patched code runs (stale I-cache/TLB dropped)",
        v == 7,
        v,
    );

    // Unmap after use: the cached translation must be gone.
    let _ = load(win);
    pt.unmap(win, PAGE_SIZE).unwrap();
    let v = load(win);
    let (e, _) = take_fault();
    r.check(
        "unmapped window faults (TLB invalidated)",
        ec(e) == EC_DABT_CUR && translation_fault(e) && v == 0xbad,
        e,
    );

    // NS=1 mapping (this test runs in the Non-secure world, where NS is ignored).
    let ns = scratch + 2 * PAGE_SIZE;
    pt.map_identity(ns, PAGE_SIZE, Attributes::NS_SHARED)
        .unwrap();
    store(ns, 99);
    r.check("NS_SHARED page read/write", load(ns) == 99, load(ns));
    r.check("tables still verify", pt.verify().is_ok(), 0);

    let _ = writeln!(Uart, "{} passed, {} failed", r.passed, r.failed);
    power_off()
}

fn power_off() -> ! {
    // SAFETY: PSCI SYSTEM_OFF through QEMU virt's HVC conduit; does not return.
    unsafe { asm!("hvc #0", in("x0") PSCI_SYSTEM_OFF, options(noreturn)) }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = writeln!(Uart, "panic: {info}");
    power_off()
}
