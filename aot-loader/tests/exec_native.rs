//! End-to-end check of parse + image + relocation + instance layout on real wamrc output for
//! the host processor: the image is built into fresh memory (below 2 GiB on x86-64, which
//! the small code model's `R_X86_64_32S` needs), made executable, and its exports are called
//! natively with a hand-made exec_env and module instance. The runtime proper (helpers, traps,
//! WASI) is not involved; the only helper is a stub that records an exception id.
//!
//! On x86-64 this runs with `cargo test`; the aarch64 files run with
//! `cargo test --target aarch64-unknown-linux-musl` under qemu-aarch64 (see docs/aot-loader.md).
#![cfg(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
))]

use std::arch::asm;

use tzwasm_aot_loader::image;
use tzwasm_aot_loader::layout::{
    ExecEnv, InstanceLayout, MemoryInstance, ModuleInstance, ARGV_BUF_CELLS,
    MEMORY_INSTANCES_OFFSET,
};
use tzwasm_aot_loader::{parse, Arch};

const PROT_READ: u64 = 1;
const PROT_WRITE: u64 = 2;
const PROT_EXEC: u64 = 4;
const MAP_PRIVATE: u64 = 0x02;
const MAP_ANONYMOUS: u64 = 0x20;
#[cfg(target_arch = "x86_64")]
mod sys {
    pub const ARCH: super::Arch = super::Arch::X86_64;
    pub const SUFFIX: &str = "x86_64";
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    /// MAP_32BIT: keep the image in the low 2 GiB.
    pub const MAP_EXTRA: u64 = 0x40;

    /// Raw Linux syscall with six arguments.
    ///
    /// # Safety
    /// The caller must pass a syscall and arguments that do not violate Rust's memory model.
    pub unsafe fn syscall6(nr: u64, a: [u64; 6]) -> u64 {
        let ret: u64;
        // SAFETY: the Linux x86-64 syscall ABI: number in rax, args in rdi, rsi, rdx, r10,
        // r8, r9; rcx and r11 are clobbered. The caller guarantees the call itself is sound.
        unsafe {
            super::asm!("syscall", inlateout("rax") nr => ret, in("rdi") a[0], in("rsi") a[1],
                 in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
                 lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    /// x86 keeps instruction fetch coherent with stores.
    pub fn sync_icache(_addr: u64, _len: u64) {}
}

#[cfg(target_arch = "aarch64")]
mod sys {
    pub const ARCH: super::Arch = super::Arch::Aarch64;
    pub const SUFFIX: &str = "aarch64";
    pub const MMAP: u64 = 222;
    pub const MPROTECT: u64 = 226;
    pub const MAP_EXTRA: u64 = 0;

    /// Raw Linux syscall with six arguments.
    ///
    /// # Safety
    /// The caller must pass a syscall and arguments that do not violate Rust's memory model.
    pub unsafe fn syscall6(nr: u64, a: [u64; 6]) -> u64 {
        let ret: u64;
        // SAFETY: the Linux aarch64 syscall ABI: number in x8, args in x0..x5, result in x0.
        // The caller guarantees the call itself is sound.
        unsafe {
            super::asm!("svc #0", in("x8") nr, inlateout("x0") a[0] => ret, in("x1") a[1],
                 in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5], options(nostack));
        }
        ret
    }

    /// Cleans D-cache lines to the point of unification and invalidates the I-cache for
    /// freshly written code (line sizes from CTR_EL0, which Linux lets EL0 read).
    pub fn sync_icache(addr: u64, len: u64) {
        let ctr: u64;
        // SAFETY: reading CTR_EL0 has no side effects.
        unsafe { super::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
        let dline = 4u64 << ((ctr >> 16) & 0xf);
        let iline = 4u64 << (ctr & 0xf);
        let end = addr + len;
        let mut a = addr & !(dline - 1);
        while a < end {
            // SAFETY: cache maintenance by VA on our own mapped code range.
            unsafe { super::asm!("dc cvau, {}", in(reg) a, options(nostack)) };
            a += dline;
        }
        // SAFETY: barrier only.
        unsafe { super::asm!("dsb ish", options(nostack)) };
        let mut a = addr & !(iline - 1);
        while a < end {
            // SAFETY: cache maintenance by VA on our own mapped code range.
            unsafe { super::asm!("ic ivau, {}", in(reg) a, options(nostack)) };
            a += iline;
        }
        // SAFETY: barriers only.
        unsafe { super::asm!("dsb ish", "isb", options(nostack)) };
    }
}

use sys::syscall6;

/// Anonymous RW mapping (in the low 2 GiB on x86-64).
fn map_code(len: usize) -> &'static mut [u8] {
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | sys::MAP_EXTRA;
    // SAFETY: mmap(NULL, len, RW, flags, -1, 0) creates a fresh mapping that aliases nothing;
    // it is leaked for the rest of the test process.
    let addr = unsafe {
        syscall6(
            sys::MMAP,
            [0, len as u64, PROT_READ | PROT_WRITE, flags, u64::MAX, 0],
        )
    };
    assert!(addr < (1 << 47), "mmap failed: {addr:#x}");
    if sys::ARCH == Arch::X86_64 {
        assert!(addr < (1 << 31), "not in the low 2 GiB: {addr:#x}");
    }
    // SAFETY: the mapping is `len` bytes, readable and writable, and owned by nobody else.
    unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

fn protect(addr: u64, len: u64, prot: u64) {
    // SAFETY: changes protection of pages of our own leaked mapping; nothing in Rust holds a
    // reference that is written through after the text part becomes read-only.
    let r = unsafe { syscall6(sys::MPROTECT, [addr, len, prot, 0, 0, 0]) };
    assert_eq!(r, 0, "mprotect");
}

thread_local! {
    /// The last exception id generated code reported, per thread: the test harness runs the
    /// tests in parallel, and each test's module runs on that test's thread.
    static LAST_EXCEPTION: std::cell::Cell<u32> = const { std::cell::Cell::new(u32::MAX) };
}

extern "C" fn set_exception_with_id(_inst: u64, id: u32) {
    LAST_EXCEPTION.with(|e| e.set(id));
}

fn expected(i: i32) -> i32 {
    let sel = match i {
        0 => 7,
        1 => 300,
        2 => 5,
        _ => 44,
    };
    sel + 1000 + 55 + (f64::from(i) * 1.5) as i32
}

fn run_file(name: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let m = parse(&bytes, sys::ARCH).unwrap();
    let layout = image::plan(&m, 4096).unwrap();
    let img = map_code(layout.total_len as usize);
    let base = img.as_ptr() as u64;
    let helper = set_exception_with_id as *const () as u64;
    image::build(&m, &bytes, &layout, img, base, &mut |n| {
        (n == "aot_set_exception_with_id").then_some(helper)
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    sys::sync_icache(base, u64::from(layout.rx_len));
    protect(base, u64::from(layout.rx_len), PROT_READ | PROT_EXEC);
    protect(
        base + u64::from(layout.rx_len),
        u64::from(layout.total_len - layout.rx_len),
        PROT_READ,
    );

    // Module instance block: header, memory 0, globals.
    let il = InstanceLayout::of(&m).unwrap();
    let mut block = vec![0u64; (il.extra as usize + 64) / 8];
    let inst_addr = block.as_mut_ptr() as u64;
    let mut linear = vec![0u8; m.memories[0].init_bytes() as usize];
    let header = ModuleInstance {
        memory_count: 1,
        global_data: inst_addr + il.global_data,
        global_data_size: il.global_data_size as u32,
        ..Default::default()
    };
    let mut mem = MemoryInstance {
        module_type: 1,
        num_bytes_per_page: m.memories[0].num_bytes_per_page,
        max_page_count: m.memories[0].max_page_count,
        ..Default::default()
    };
    mem.set_size(linear.as_mut_ptr() as u64, m.memories[0].init_page_count);
    let bytes_of = |block: &mut [u64], off: usize, src: &[u8]| {
        // SAFETY: `block` is a plain u64 buffer; viewing it as bytes is always valid.
        let b = unsafe {
            std::slice::from_raw_parts_mut(block.as_mut_ptr() as *mut u8, block.len() * 8)
        };
        b[off..off + src.len()].copy_from_slice(src);
    };
    // SAFETY: ModuleInstance and MemoryInstance are repr(C) with only integer fields and no
    // padding bytes that matter, so viewing them as bytes is sound.
    let hdr_bytes = unsafe {
        std::slice::from_raw_parts(
            &header as *const _ as *const u8,
            std::mem::size_of::<ModuleInstance>(),
        )
    };
    bytes_of(&mut block, 0, hdr_bytes);
    // SAFETY: as above.
    let mem_bytes = unsafe {
        std::slice::from_raw_parts(
            &mem as *const _ as *const u8,
            std::mem::size_of::<MemoryInstance>(),
        )
    };
    bytes_of(&mut block, MEMORY_INSTANCES_OFFSET, mem_bytes);
    bytes_of(&mut block, il.globals[0] as usize, &1000i32.to_le_bytes());

    let mut argv = [0u32; ARGV_BUF_CELLS];
    let mut env = ExecEnv {
        module_inst: inst_addr,
        argv_buf: argv.as_mut_ptr() as u64,
        native_stack_boundary: 0,
        aux_stack_boundary: 0,
        aux_stack_bottom: u64::MAX,
        ..Default::default()
    };
    let run = m.export("run").unwrap().index;
    let off = layout
        .func_offset(&m, run - m.import_funcs.len() as u32)
        .unwrap();
    type Run = extern "C" fn(*mut ExecEnv, i32) -> i32;
    // SAFETY: `base + off` is the relocated, executable entry of `run`, an AOT function with
    // the C signature i32 (exec_env*, i32); exec_env, the instance and linear memory above
    // outlive the calls.
    let f: Run = unsafe { std::mem::transmute::<u64, Run>(base + u64::from(off)) };
    for i in 0..6 {
        LAST_EXCEPTION.with(|e| e.set(u32::MAX));
        assert_eq!(f(&mut env, i), expected(i), "{name}: run({i})");
        assert_eq!(
            LAST_EXCEPTION.with(|e| e.get()),
            u32::MAX,
            "{name}: unexpected trap"
        );
        // run stored its argument at linear address 64.
        assert_eq!(i32::from_le_bytes(linear[64..68].try_into().unwrap()), i);
    }
    // i32::MAX * 1.5 does not fit i32: `i32.trunc_f64_s` calls aot_set_exception_with_id
    // (through the PLT) with id 3, integer overflow, and the function returns.
    LAST_EXCEPTION.with(|e| e.set(u32::MAX));
    let _ = f(&mut env, i32::MAX);
    assert_eq!(LAST_EXCEPTION.with(|e| e.get()), 3, "{name}: trap id");
    drop(block);
}

#[test]
fn small_code_model_runs() {
    run_file(&format!("exec.{}.aot", sys::SUFFIX));
}

#[test]
fn software_bounds_checks_file_runs() {
    run_file(&format!("exec.{}.bc1.aot", sys::SUFFIX));
}

#[test]
fn large_code_model_runs() {
    run_file(&format!("exec.{}.s0.aot", sys::SUFFIX));
}
