//! The loader fuzz harness: the whole load path of aot-loader for one input, without running
//! guest code. Parse (for both processors), the module's derived tables, the image plan,
//! instantiation on a heap-backed platform (relocation into the code image, data block,
//! linear memory, globals, tables, segments, `func_ptrs`), the start function lookup and
//! `prepare_call` of every exported function, then teardown, checking that every block the
//! platform handed out was given back exactly once.
//!
//! Shared by the cargo-fuzz target (`fuzz_targets/load.rs`) and the regression test over
//! saved crashing inputs (`aot-loader/tests/fuzz_regressions.rs`), which both include this
//! file with `#[path]`. Any panic here (including the platform's own checks) is a finding.

use std::alloc::{alloc_zeroed, dealloc, Layout};

use tzwasm_aot_loader::layout::InstanceLayout;
use tzwasm_aot_loader::module::{ExportKind, FuncType};
use tzwasm_aot_loader::runtime::{
    footprint_total, Entry, Instance, InstanceConfig, Platform, PlatformError, Value,
};
use tzwasm_aot_loader::wasi::{NullHost, WasiHost};
use tzwasm_aot_loader::{image, parse, Arch};

/// Page size the harness platform reports.
const PAGE: usize = 4096;
/// Largest single block the platform hands out; larger requests are refused like an
/// out-of-memory platform would (the quota below refuses most of them first).
const MAX_BLOCK: usize = 128 << 20;

/// Instance parameters: a small quota keeps hostile memory sizes cheap.
pub const CONFIG: InstanceConfig = InstanceConfig {
    heap_quota: 64 << 20,
    stack_size: 64 << 10,
    // The runtime's default window (8 GiB + 64 KiB); only the committed prefix is allocated.
    memory_window: (8 << 30) + (64 << 10),
    stack_guard_margin: 4096,
};

/// Code images in the low 2 GiB (`needs_low_address`: x86_64 small-code-model files, whose
/// `R_X86_64_32S` relocations need it), as the host runner maps them: an anonymous
/// `MAP_32BIT` mapping (these blocks are outside the sanitizer's view; the others are heap).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod low {
    use std::ffi::c_void;

    extern "C" {
        fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: i32,
            flags: i32,
            fd: i32,
            off: i64,
        ) -> *mut c_void;
        fn munmap(addr: *mut c_void, len: usize) -> i32;
    }

    const PROT_READ_WRITE: i32 = 0x3;
    const MAP_PRIVATE_ANONYMOUS_32BIT: i32 = 0x02 | 0x20 | 0x40;

    /// `len` zeroed bytes below 2 GiB.
    pub fn alloc(len: usize) -> Option<u64> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing aliases
        // nothing; the result is checked for MAP_FAILED.
        let p = unsafe {
            mmap(
                std::ptr::null_mut(),
                len.max(1),
                PROT_READ_WRITE,
                MAP_PRIVATE_ANONYMOUS_32BIT,
                -1,
                0,
            )
        };
        (p as isize != -1).then_some(p as u64)
    }

    /// Unmaps a block from [`alloc`].
    pub fn free(addr: u64, len: usize) {
        // SAFETY: `addr`/`len` are a live mapping made by `alloc`, unmapped once.
        unsafe { munmap(addr as *mut c_void, len.max(1)) };
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod low {
    /// No low mapping on this host: such images fail to build (a range error), as before.
    pub fn alloc(_len: usize) -> Option<u64> {
        None
    }
    /// Nothing is ever mapped.
    pub fn free(_addr: u64, _len: usize) {}
}

/// What the platform handed out and not yet got back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Window,
    Data,
    Stack,
    Code,
    /// A code image from [`low::alloc`].
    LowCode,
}

/// Heap-backed [`Platform`]: every block is a zeroed heap allocation of exactly the bytes the
/// contract says are accessible (a linear-memory window only its committed prefix), so an
/// access past them is a heap overflow the sanitizer reports. Frees are checked against the
/// live list (kind, address and length).
pub struct FuzzPlatform {
    live: Vec<(Kind, u64, usize)>,
    wasi: NullHost,
}

impl FuzzPlatform {
    /// A platform with nothing handed out.
    pub fn new() -> Self {
        FuzzPlatform {
            live: Vec::new(),
            wasi: NullHost,
        }
    }

    fn get(&mut self, kind: Kind, len: usize) -> Result<u64, PlatformError> {
        if len > MAX_BLOCK {
            return Err(PlatformError(format!("harness: {len} bytes refused")));
        }
        let layout = Layout::from_size_align(len.max(1), PAGE)
            .map_err(|_| PlatformError("harness: bad layout".into()))?;
        // SAFETY: the layout has a non-zero size and a power-of-two alignment.
        let p = unsafe { alloc_zeroed(layout) };
        if p.is_null() {
            return Err(PlatformError("harness: out of memory".into()));
        }
        self.live.push((kind, p as u64, len.max(1)));
        Ok(p as u64)
    }

    fn put(&mut self, kind: Kind, addr: u64) {
        let i = self
            .live
            .iter()
            .position(|&(k, a, _)| k == kind && a == addr)
            .unwrap_or_else(|| panic!("free of {kind:?} block {addr:#x} that is not live"));
        let (k, a, len) = self.live.swap_remove(i);
        release(k, a, len);
    }

    fn has(&self, kind: Kind, addr: u64) -> bool {
        self.live.iter().any(|&(k, a, _)| k == kind && a == addr)
    }

    fn code_len(&self, addr: u64) -> usize {
        if self.has(Kind::LowCode, addr) {
            self.len_of(Kind::LowCode, addr)
        } else {
            self.len_of(Kind::Code, addr)
        }
    }

    fn len_of(&self, kind: Kind, addr: u64) -> usize {
        self.live
            .iter()
            .find(|&&(k, a, _)| k == kind && a == addr)
            .map(|&(_, _, l)| l)
            .unwrap_or_else(|| panic!("{kind:?} block {addr:#x} is not live"))
    }
}

impl Default for FuzzPlatform {
    fn default() -> Self {
        Self::new()
    }
}

/// Gives back a block that was just removed from the live list.
fn release(kind: Kind, addr: u64, len: usize) {
    if kind == Kind::LowCode {
        low::free(addr, len);
        return;
    }
    let layout = Layout::from_size_align(len, PAGE).expect("layout of a live block");
    // SAFETY: `addr` came from `alloc_zeroed` with this layout and is freed once (it was just
    // removed from the live list).
    unsafe { dealloc(addr as *mut u8, layout) };
}

impl Drop for FuzzPlatform {
    fn drop(&mut self) {
        let leaked = std::mem::take(&mut self.live);
        for &(k, a, len) in &leaked {
            release(k, a, len);
        }
        assert!(
            leaked.is_empty(),
            "instance teardown left blocks allocated: {leaked:x?}"
        );
    }
}

// SAFETY: every block is a fresh zeroed heap allocation of at least the requested size,
// exclusively owned until its `free_*`. A window is only its committed prefix (the contract's
// "rest faults" becomes a sanitizer report), and it cannot grow, so `commit_memory` beyond it
// is refused. No guest code ever runs: `seal_code` has nothing to do and entry addresses are
// made-up numbers that are never called.
unsafe impl Platform for FuzzPlatform {
    fn page_size(&self) -> usize {
        PAGE
    }
    fn reserve_memory(&mut self, _reserve: u64, commit: u64) -> Result<u64, PlatformError> {
        let len = usize::try_from(commit)
            .map_err(|_| PlatformError("harness: commit too large".into()))?;
        self.get(Kind::Window, len)
    }
    fn commit_memory(&mut self, base: u64, _old: u64, new: u64) -> Result<(), PlatformError> {
        if new <= self.len_of(Kind::Window, base) as u64 {
            Ok(())
        } else {
            Err(PlatformError("harness: windows do not grow".into()))
        }
    }
    fn release_memory(&mut self, base: u64, _reserve: u64) {
        self.put(Kind::Window, base)
    }
    fn alloc_data(&mut self, len: usize) -> Result<u64, PlatformError> {
        self.get(Kind::Data, len)
    }
    fn free_data(&mut self, addr: u64, len: usize) {
        assert!(len <= self.len_of(Kind::Data, addr), "free_data length");
        self.put(Kind::Data, addr)
    }
    fn alloc_stack(&mut self, len: usize) -> Result<u64, PlatformError> {
        self.get(Kind::Stack, len)
    }
    fn free_stack(&mut self, low: u64, len: usize) {
        assert!(len <= self.len_of(Kind::Stack, low), "free_stack length");
        self.put(Kind::Stack, low)
    }
    fn alloc_code(&mut self, len: usize, low_address: bool) -> Result<u64, PlatformError> {
        if !low_address {
            return self.get(Kind::Code, len);
        }
        if len > MAX_BLOCK {
            return Err(PlatformError(format!("harness: {len} bytes refused")));
        }
        let a = low::alloc(len).ok_or_else(|| PlatformError("harness: no low memory".into()))?;
        self.live.push((Kind::LowCode, a, len.max(1)));
        Ok(a)
    }
    fn seal_code(&mut self, addr: u64, rx_len: usize, len: usize) -> Result<(), PlatformError> {
        let have = self.code_len(addr);
        assert!(rx_len <= len && len <= have, "seal_code outside the image");
        Ok(())
    }
    fn free_code(&mut self, addr: u64, len: usize) {
        assert!(len <= self.code_len(addr), "free_code length");
        let kind = if self.has(Kind::LowCode, addr) {
            Kind::LowCode
        } else {
            Kind::Code
        };
        self.put(kind, addr)
    }
    fn entry_address(&mut self, _ctx: u64, entry: Entry) -> Option<u64> {
        Some(0x7000_0000_0000 + 64 * u64::from(entry.to_id()))
    }
    fn wasi_host(&mut self) -> &mut dyn WasiHost {
        &mut self.wasi
    }
    fn resolve_import(&mut self, _module: &str, name: &str, _ty: &FuncType) -> Option<u32> {
        // Half of the non-WASI imports bound to a host function, the rest left unlinked, so
        // both kinds of binding are instantiated.
        name.len().is_multiple_of(2).then_some(1)
    }
}

/// Runs the load path over `data` for each processor. Returns how far it got for the last
/// processor that parsed (0 = parsed by neither, 1 = parsed, 2 = instantiated).
pub fn load(data: &[u8]) -> u32 {
    let mut reached = 0;
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let Ok(m) = parse(data, arch) else {
            continue;
        };
        reached = 1;
        // The module's derived tables, as the runtime and the firmware use them.
        let _ = m.global_layout();
        let _ = m.runtime_symbols(data);
        let _ = InstanceLayout::of(&m);
        let _ = footprint_total(&m, &CONFIG, PAGE);
        for page in [4096u32, 65536] {
            let _ = image::plan(&m, page);
        }
        let Ok(mut inst) = Instance::new(&m, data, FuzzPlatform::new(), CONFIG) else {
            continue;
        };
        reached = 2;
        let _ = inst.start_function();
        for e in &m.exports {
            if e.kind != ExportKind::Func {
                continue;
            }
            let Some(idx) = inst.export_func(&e.name) else {
                continue;
            };
            let Some(ty) = inst.func_type(idx) else {
                continue;
            };
            let args: Vec<Value> = ty.params.iter().map(|&t| Value::from_bits(t, 0)).collect();
            let _ = inst.prepare_call(idx, &args);
        }
    }
    reached
}

/// What [`load`] did with `data`, per processor that parses it (for test messages).
pub fn explain(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        match parse(data, arch) {
            Err(_) => {}
            Ok(m) => match Instance::new(&m, data, FuzzPlatform::new(), CONFIG) {
                Ok(_) => out.push(format!("{arch}: instantiated")),
                Err(e) => out.push(format!("{arch}: instantiate: {e}")),
            },
        }
    }
    out
}
