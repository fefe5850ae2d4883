//! Host runner for tzwasm's aot-loader (tests and tools only, std): a [`Platform`] over
//! Linux `mmap`/`mprotect`, the entry and trap-exit trampolines for x86-64 and aarch64, a
//! SIGSEGV/SIGBUS handler that turns faults in a module's linear-memory window or stack guard
//! into traps, and a WASI host over the process's stdout/stderr, clocks and `getrandom`.
//!
//! Control flow of one call ([`call`]):
//!
//! ```text
//! call ─ prepare_call ─ tzrt_enter: save callee-saved regs, host sp -> cell, switch to the
//!                       module stack, load argument registers, call the AOT function
//!   module code ─ bl PLT ─ per-instance stub (id, cell) ─ tzrt_common: switch to the host
//!                       stack below the saved regs, tzrt_dispatch -> Instance::dispatch
//!        ok:   back to module code with the result in x0/rax
//!        stop: tzrt_trap_exit(host sp): restore the saved regs, tzrt_enter returns 1
//!   fault in the window/guard ─ signal handler ─ pc := tzrt_trap_exit (same exit)
//! ```
//!
//! The stubs are per instance and read-only, so the instance context they carry cannot be
//! forged by module code; the same split is what the firmware does with `svc` stubs.

use std::cell::Cell;
use std::io::Write;
use std::sync::Once;

use tzwasm_aot_loader::layout::ExceptionId;
use tzwasm_aot_loader::module::FuncType;
use tzwasm_aot_loader::runtime::abi::CallRegs;
use tzwasm_aot_loader::runtime::{Entry, Instance, Platform, PlatformError, Stop, Trap, Value};
use tzwasm_aot_loader::wasi::{Errno, GuestMemory, WasiHost};

mod arch;

/// What the stubs and `tzrt_common` find through the per-instance literal (`#[repr(C)]`,
/// `host_sp` at offset 0 is read by assembly).
#[repr(C)]
#[derive(Debug, Default)]
pub struct HostCell {
    /// Stack pointer of the host side of the running call (where the saved registers are).
    pub host_sp: u64,
    /// The `Instance<HostPlatform>` (its context value).
    pub instance: u64,
    /// A fault trap recorded by the signal handler: exception id + 1, 0 = none.
    pub fault: u32,
}

/// A host-import id for `env.host_add` "(ii)i".
pub const HOST_ADD: u32 = 1;
/// A host-import id for `env.host_trap` "(i)".
pub const HOST_TRAP: u32 = 2;

/// WASI over the process: fds 1/2, the real clocks, `getrandom`, given args and environment.
#[derive(Debug, Default)]
pub struct HostWasi {
    args: Vec<&'static [u8]>,
    env: Vec<&'static [u8]>,
    /// fds 0..2 the module closed with `fd_close`.
    closed: [bool; 3],
}

impl HostWasi {
    /// WASI args (program name first) and `KEY=VALUE` environment entries.
    pub fn new(args: &[Vec<u8>], env: &[Vec<u8>]) -> Self {
        let leak = |v: &Vec<u8>| -> &'static [u8] { Box::leak(v.clone().into_boxed_slice()) };
        HostWasi {
            args: args.iter().map(leak).collect(),
            env: env.iter().map(leak).collect(),
            closed: [false; 3],
        }
    }
}

impl WasiHost for HostWasi {
    fn fd_is_open(&self, fd: u32) -> bool {
        !self.closed.get(fd as usize).copied().unwrap_or(false)
    }

    fn fd_closed(&mut self, fd: u32) {
        if let Some(c) = self.closed.get_mut(fd as usize) {
            *c = true;
        }
    }

    fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), Errno> {
        let r = match fd {
            1 => std::io::stdout()
                .write_all(bytes)
                .and_then(|_| std::io::stdout().flush()),
            2 => std::io::stderr().write_all(bytes),
            _ => return Err(Errno::BADF),
        };
        r.map_err(|_| Errno::IO)
    }

    fn clock_time_ns(&mut self, clock_id: u32) -> Option<u64> {
        let id = match clock_id {
            0 => libc::CLOCK_REALTIME,
            1 => libc::CLOCK_MONOTONIC,
            2 => libc::CLOCK_PROCESS_CPUTIME_ID,
            3 => libc::CLOCK_THREAD_CPUTIME_ID,
            _ => return None,
        };
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec to a valid pointer.
        if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
            return None;
        }
        Some(
            (ts.tv_sec as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(ts.tv_nsec as u64),
        )
    }

    fn clock_res_ns(&mut self, clock_id: u32) -> Option<u64> {
        (clock_id < 4).then_some(1)
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        // /dev/urandom rather than getrandom(2): under qemu-aarch64 7.2 the static musl
        // runner's getrandom reports success but leaves the buffer zero.
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(buf))
            .map_err(|_| Errno::IO)
    }

    fn args(&self) -> &[&[u8]] {
        &self.args
    }

    fn environ(&self) -> &[&[u8]] {
        &self.env
    }

    fn sleep_ns(&mut self, ns: u64) -> bool {
        std::thread::sleep(std::time::Duration::from_nanos(ns));
        true
    }

    /// The real file type of the process's fd, as WAMR reports it (a pipe or socket is a
    /// socket stream): wasi-libc buffers stdout by it, which decides what a trapping program
    /// has printed.
    fn fd_filetype(&self, fd: u32) -> u8 {
        use tzwasm_aot_loader::wasi::{
            FILETYPE_CHARACTER_DEVICE, FILETYPE_REGULAR_FILE, FILETYPE_SOCKET_STREAM,
            FILETYPE_UNKNOWN,
        };
        // SAFETY: fstat writes one `stat` to a valid pointer; a zeroed stat is a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if fd > 2 || unsafe { libc::fstat(fd as i32, &mut st) } != 0 {
            return FILETYPE_UNKNOWN;
        }
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => FILETYPE_REGULAR_FILE,
            libc::S_IFCHR => FILETYPE_CHARACTER_DEVICE,
            libc::S_IFDIR => 3,
            libc::S_IFBLK => 1,
            libc::S_IFIFO | libc::S_IFSOCK => FILETYPE_SOCKET_STREAM,
            _ => FILETYPE_UNKNOWN,
        }
    }
}

const STUB_SIZE: usize = 48;
/// Guard below each module stack: 1 MiB of address space, so even large frames of files
/// without stack checks land in it.
const STACK_GUARD: usize = 1 << 20;

/// The host [`Platform`].
pub struct HostPlatform {
    cell: Box<HostCell>,
    stub_page: u64,
    stub_used: usize,
    stub_pages: Vec<u64>,
    /// The WASI host.
    pub wasi: HostWasi,
    /// The stop recorded by the dispatcher before a non-local exit.
    pub pending: Option<Stop>,
}

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn mmap(len: usize, prot: i32, extra: i32) -> Result<u64, PlatformError> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing aliases
    // nothing.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | extra,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(PlatformError(format!(
            "mmap of {len} bytes failed: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(p as u64)
}

fn protect(addr: u64, len: usize, prot: i32) -> Result<(), PlatformError> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: changes protection of pages of a mapping this platform owns; nothing in Rust
    // holds references into them across the change.
    let r = unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot) };
    if r != 0 {
        return Err(PlatformError(format!(
            "mprotect failed: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

fn unmap(addr: u64, len: usize) {
    // SAFETY: unmaps a mapping this platform created and no longer uses.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

fn round_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

impl HostPlatform {
    /// A platform with this WASI host.
    pub fn new(wasi: HostWasi) -> Self {
        HostPlatform {
            cell: Box::default(),
            stub_page: 0,
            stub_used: 0,
            stub_pages: Vec::new(),
            wasi,
            pending: None,
        }
    }

    fn add_stub(&mut self, id: u64) -> Result<u64, PlatformError> {
        let pg = page();
        if self.stub_page == 0 || self.stub_used + STUB_SIZE > pg {
            // Fallible, so that allocation fault injection (tests/alloc_faults.rs) sees an
            // error rather than an abort.
            self.stub_pages
                .try_reserve(1)
                .map_err(|_| PlatformError(String::new()))?;
            let p = mmap(pg, libc::PROT_READ | libc::PROT_WRITE, 0)?;
            self.stub_pages.push(p);
            self.stub_page = p;
            self.stub_used = 0;
        }
        let addr = self.stub_page + self.stub_used as u64;
        protect(self.stub_page, pg, libc::PROT_READ | libc::PROT_WRITE)?;
        let code = arch::stub(id, &*self.cell as *const HostCell as u64);
        // SAFETY: [addr, addr + STUB_SIZE) lies in the stub page, writable right now.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), addr as *mut u8, code.len()) };
        arch::sync_icache(addr, STUB_SIZE as u64);
        protect(self.stub_page, pg, libc::PROT_READ | libc::PROT_EXEC)?;
        self.stub_used += STUB_SIZE;
        Ok(addr)
    }
}

impl Drop for HostPlatform {
    fn drop(&mut self) {
        for &p in &self.stub_pages {
            unmap(p, page());
        }
    }
}

// SAFETY: every allocation is a fresh anonymous mapping (zeroed, exclusively owned) of at
// least the requested size; memory windows are PROT_NONE beyond the committed prefix and
// grow in place with mprotect; code is RW until seal_code makes it RX/R; entry stubs jump to
// tzrt_common, which calls Instance::dispatch for the instance in the cell.
unsafe impl Platform for HostPlatform {
    fn page_size(&self) -> usize {
        page()
    }

    fn reserve_memory(&mut self, reserve: u64, commit: u64) -> Result<u64, PlatformError> {
        let base = mmap(reserve as usize, libc::PROT_NONE, 0)?;
        protect(
            base,
            round_up(commit, page() as u64) as usize,
            libc::PROT_READ | libc::PROT_WRITE,
        )?;
        Ok(base)
    }

    fn commit_memory(&mut self, base: u64, old: u64, new: u64) -> Result<(), PlatformError> {
        let pg = page() as u64;
        let from = round_up(old, pg);
        let to = round_up(new, pg);
        if to > from {
            protect(
                base + from,
                (to - from) as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            )?;
        }
        Ok(())
    }

    fn release_memory(&mut self, base: u64, reserve: u64) {
        unmap(base, reserve as usize);
    }

    fn alloc_data(&mut self, len: usize) -> Result<u64, PlatformError> {
        mmap(len, libc::PROT_READ | libc::PROT_WRITE, 0)
    }

    fn free_data(&mut self, addr: u64, len: usize) {
        unmap(addr, len);
    }

    fn stack_guard(&self) -> usize {
        STACK_GUARD
    }

    fn alloc_stack(&mut self, len: usize) -> Result<u64, PlatformError> {
        let base = mmap(len + STACK_GUARD, libc::PROT_NONE, 0)?;
        protect(
            base + STACK_GUARD as u64,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
        )?;
        Ok(base + STACK_GUARD as u64)
    }

    fn free_stack(&mut self, low: u64, len: usize) {
        unmap(low - STACK_GUARD as u64, len + STACK_GUARD);
    }

    fn alloc_code(&mut self, len: usize, low_address: bool) -> Result<u64, PlatformError> {
        let extra = if low_address { arch::MAP_LOW } else { 0 };
        mmap(len, libc::PROT_READ | libc::PROT_WRITE, extra)
    }

    fn seal_code(&mut self, addr: u64, rx_len: usize, len: usize) -> Result<(), PlatformError> {
        arch::sync_icache(addr, rx_len as u64);
        protect(addr, rx_len, libc::PROT_READ | libc::PROT_EXEC)?;
        protect(addr + rx_len as u64, len - rx_len, libc::PROT_READ)
    }

    fn free_code(&mut self, addr: u64, len: usize) {
        unmap(addr, len);
    }

    fn entry_address(&mut self, ctx: u64, entry: Entry) -> Option<u64> {
        self.cell.instance = ctx;
        self.add_stub(u64::from(entry.to_id())).ok()
    }

    fn wasi_host(&mut self) -> &mut dyn WasiHost {
        &mut self.wasi
    }

    fn resolve_import(&mut self, module: &str, name: &str, ty: &FuncType) -> Option<u32> {
        use tzwasm_aot_loader::module::ValType::I32;
        match (module, name) {
            ("env", "host_add") if ty.params == [I32, I32] && ty.results == [I32] => Some(HOST_ADD),
            ("env", "host_trap") if ty.params == [I32] && ty.results.is_empty() => Some(HOST_TRAP),
            _ => None,
        }
    }

    fn call_import(
        &mut self,
        id: u32,
        _memory: &mut GuestMemory<'_>,
        args: &[u64],
        results: &mut [u64],
    ) -> Result<(), String> {
        match id {
            HOST_ADD => {
                let a = args.first().copied().unwrap_or(0) as u32;
                let b = args.get(1).copied().unwrap_or(0) as u32;
                if let Some(r) = results.first_mut() {
                    *r = u64::from(a.wrapping_add(b));
                }
                Ok(())
            }
            HOST_TRAP => Err(format!(
                "host_trap({}) called",
                args.first().copied().unwrap_or(0) as u32 as i32
            )),
            _ => Err("unknown host import".into()),
        }
    }
}

/// The instance type the host runs.
pub type HostInstance<'m> = Instance<'m, HostPlatform>;

/// Result of `tzrt_dispatch`, returned in x0/x1 (rax/rdx).
#[repr(C)]
pub struct DispatchRet {
    value: u64,
    status: u64,
}

/// Called by `tzrt_common` on the host stack: `regs` holds the integer argument registers,
/// `module_sp` the module's stack pointer at the call (stack arguments above it).
extern "C" fn tzrt_dispatch(
    cell: *mut HostCell,
    id: u64,
    regs: *const u64,
    module_sp: u64,
) -> DispatchRet {
    // SAFETY: `cell` is the literal of a stub this platform generated; it points to the
    // HostCell of a live instance, whose `instance` field is that Instance<HostPlatform>
    // (set by entry_address). The instance is running (inside `call`), which accesses it only
    // through the same raw pointer while module code runs.
    let inst = unsafe { &mut *((*cell).instance as *mut HostInstance<'static>) };
    let mut args = [0u64; 16];
    let nregs = arch::INT_ARG_REGS;
    // SAFETY: tzrt_common stored `nregs` registers at `regs`.
    let r = unsafe { std::slice::from_raw_parts(regs, nregs) };
    args[..nregs].copy_from_slice(r);
    let (low, high) = inst.stack();
    let first = module_sp + arch::STACK_ARGS_OFFSET;
    for (k, slot) in args[nregs..].iter_mut().enumerate() {
        let a = first + 8 * k as u64;
        if a >= low && a + 8 <= high {
            // SAFETY: inside this instance's native stack (checked).
            *slot = unsafe { std::ptr::read(a as *const u64) };
        }
    }
    match inst.dispatch(id, &args) {
        Ok(value) => DispatchRet { value, status: 0 },
        Err(stop) => {
            inst.platform.pending = Some(stop);
            DispatchRet {
                value: 0,
                status: 1,
            }
        }
    }
}

thread_local! {
    /// The instance running on this thread (0 = none): for the signal handler.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    static ALT_STACK: Cell<bool> = const { Cell::new(false) };
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    let cur = CURRENT.with(|c| c.get());
    if cur != 0 {
        // SAFETY: the kernel passes a valid siginfo for SIGSEGV/SIGBUS.
        let addr = unsafe { (*info).si_addr() } as u64;
        // SAFETY: CURRENT is set only while `call` runs module code of this live instance.
        let inst = unsafe { &*(cur as *const HostInstance<'static>) };
        if let Some(Stop::Trap(Trap::Exception(id))) = inst.fault(addr) {
            let cell = &*inst.platform.cell as *const HostCell as *mut HostCell;
            // SAFETY: the cell belongs to the running instance; the interrupted code is
            // module code, which never touches it.
            unsafe { (*cell).fault = id as u32 + 1 };
            // SAFETY: uctx is the kernel's ucontext for this signal; redirecting the
            // interrupted thread to tzrt_trap_exit with the saved host sp abandons only
            // module frames.
            unsafe { arch::redirect_to_trap_exit(uctx, (*cell).host_sp, 1) };
            return;
        }
    }
    // Not a module fault: default action on return (the access faults again).
    // SAFETY: resetting a signal disposition.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

fn install_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: a zeroed sigaction with a valid handler, SA_SIGINFO | SA_ONSTACK.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_fault as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
    ALT_STACK.with(|a| {
        if !a.get() {
            let len = 256 << 10;
            if let Ok(p) = mmap(len, libc::PROT_READ | libc::PROT_WRITE, 0) {
                let ss = libc::stack_t {
                    ss_sp: p as *mut libc::c_void,
                    ss_flags: 0,
                    ss_size: len,
                };
                // SAFETY: installs a leaked, per-thread alternate signal stack.
                unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) };
                a.set(true);
            }
        }
    });
}

/// Calls function `index` (imports first) of `inst` with `args`.
pub fn call(inst: &mut HostInstance<'_>, index: u32, args: &[Value]) -> Result<Vec<Value>, Stop> {
    install_handlers();
    let p: *mut HostInstance<'_> = inst;
    // SAFETY: `p` comes from the exclusive borrow above; during the run every access (this
    // function, tzrt_dispatch, the signal handler) goes through it.
    let mut regs: CallRegs = unsafe { (*p).prepare_call(index, args)? };
    // SAFETY: as above.
    let cell: *mut HostCell = unsafe { &mut *(*p).platform.cell };
    // SAFETY: as above; the cell must name this instance (it may have moved since stubs were
    // made only if the Box moved, which it cannot).
    unsafe {
        (*cell).instance = p as u64;
        (*cell).fault = 0;
        (*p).platform.pending = None;
    }
    let prev = CURRENT.with(|c| c.replace(p as u64));
    // SAFETY: regs describes a call of a relocated, sealed AOT function of this instance with
    // the exec_env, stack and arguments prepare_call set up; the trampoline saves and
    // restores every callee-saved register and returns 0, or 1 after a non-local exit.
    let status = unsafe { arch::tzrt_enter(&mut regs, cell) };
    CURRENT.with(|c| c.set(prev));
    if status == 0 {
        // SAFETY: as above.
        return unsafe { (*p).finish_call(index, &regs) };
    }
    // SAFETY: as above.
    unsafe {
        if let Some(stop) = (*p).platform.pending.take() {
            return Err(stop);
        }
        let f = (*cell).fault;
        Err(ExceptionId::from_u32(f.wrapping_sub(1))
            .map(Stop::from)
            .unwrap_or_else(|| Stop::Trap(Trap::Message("unknown trap".into()))))
    }
}

pub use tzwasm_aot_loader::runtime::abi::{fmt_g7, format_results};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g7_matches_printf() {
        assert_eq!(fmt_g7(1.5), "1.5");
        assert_eq!(fmt_g7(-3.375), "-3.375");
        assert_eq!(fmt_g7(0.30000000000000004), "0.3");
        assert_eq!(fmt_g7(1e10), "1e+10");
        assert_eq!(fmt_g7(1234567.0), "1234567");
        assert_eq!(fmt_g7(12345678.0), "1.234568e+07");
        assert_eq!(fmt_g7(0.0001), "0.0001");
        assert_eq!(fmt_g7(0.00001234), "1.234e-05");
        assert_eq!(fmt_g7(-0.0), "-0");
        assert_eq!(fmt_g7(f64::INFINITY), "inf");
        assert_eq!(fmt_g7(9.9999999), "10");
    }
}
