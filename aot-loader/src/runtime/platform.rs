//! What the embedder provides: memory, code pages, the entry points generated code calls,
//! the WASI host and other host imports.

use alloc::string::String;
use core::fmt;

use crate::module::FuncType;
use crate::runtime::Helper;
use crate::wasi::{GuestMemory, WasiHost};

/// An address generated code calls through the PLT or `func_ptrs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A runtime helper (`aot_set_exception_with_id`, `memmove`, ...).
    Helper(Helper),
    /// Imported function `n` (called directly by the code when wamrc knew its signature).
    Import(u32),
}

impl Entry {
    /// A compact number for stubs: helpers are `0..HELPERS.len()`, imports `0x1_0000 + n`.
    pub fn to_id(self) -> u32 {
        match self {
            Entry::Helper(h) => h as u32,
            Entry::Import(n) => 0x1_0000u32.saturating_add(n),
        }
    }

    /// Decodes [`Entry::to_id`] (`None` for numbers no entry has).
    pub fn from_id(id: u64) -> Option<Entry> {
        let id = u32::try_from(id).ok()?;
        if id >= 0x1_0000 {
            Some(Entry::Import(id - 0x1_0000))
        } else {
            Helper::from_index(id).map(Entry::Helper)
        }
    }
}

/// A platform refusal (out of memory, address space, or a mapping failure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformError(pub String);

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The embedder: the host runner (mmap/mprotect, signals) or the firmware (page tables, EL0).
///
/// # Safety
///
/// [`crate::runtime::Instance`] writes through the addresses this trait returns and hands
/// them to module code, so an implementation must guarantee:
/// * `alloc_data`, `alloc_stack` and `alloc_code` return zeroed, writable, exclusively owned
///   memory of the requested size, valid until the matching `free_*`;
/// * `reserve_memory` returns a window of `reserve` bytes whose first `commit` bytes are
///   zeroed and writable and the rest faults; `commit_memory` makes more of it writable in
///   place (zeroed), without moving it;
/// * after `seal_code` the code range is executable and not writable;
/// * `entry_address` returns code that, when called by generated code with the C signature of
///   the helper or import, ends up in [`crate::runtime::Instance::dispatch`] for the instance
///   whose context value was given, and returns its result (or leaves the run on a stop).
///   The exceptions are `memmove`, `memcpy` and `memset`: a platform may instead return code
///   that performs the C function itself with no more privilege than module code (the secure
///   world runs them at S-EL0, where only the module's own pages are reachable), reporting a
///   fault in it as "out of bounds memory access".
pub unsafe trait Platform {
    /// Page size for code and memory protection (4 KiB .. 64 KiB, power of two).
    fn page_size(&self) -> usize;

    /// Reserves a linear-memory window of `reserve` bytes with the first `commit` accessible.
    fn reserve_memory(&mut self, reserve: u64, commit: u64) -> Result<u64, PlatformError>;
    /// Makes `[old, new)` of the window at `base` accessible (grow in place).
    fn commit_memory(&mut self, base: u64, old: u64, new: u64) -> Result<(), PlatformError>;
    /// Releases a window.
    fn release_memory(&mut self, base: u64, reserve: u64);

    /// Zeroed memory module code may read and write (exec_env, instance, tables, func_ptrs).
    fn alloc_data(&mut self, len: usize) -> Result<u64, PlatformError>;
    /// Frees [`Platform::alloc_data`] memory.
    fn free_data(&mut self, addr: u64, len: usize);

    /// Bytes below each stack that fault ([`Platform::alloc_stack`]'s guard); a fault there is
    /// "native stack overflow". Larger guards catch larger frames in files without stack
    /// checks.
    fn stack_guard(&self) -> usize {
        64 << 10
    }

    /// A native stack of `len` usable bytes `[low, low + len)` with a guard of
    /// [`Platform::stack_guard`] bytes below `low` that faults; returns `low`.
    fn alloc_stack(&mut self, len: usize) -> Result<u64, PlatformError>;
    /// Frees a stack.
    fn free_stack(&mut self, low: u64, len: usize);

    /// Writable memory for a code image (in the low 2 GiB if `low_address`).
    fn alloc_code(&mut self, len: usize, low_address: bool) -> Result<u64, PlatformError>;
    /// Makes `[addr, addr + rx_len)` read+execute and the rest of the image read-only, with
    /// whatever cache maintenance the processor needs.
    fn seal_code(&mut self, addr: u64, rx_len: usize, len: usize) -> Result<(), PlatformError>;
    /// Frees a code image.
    fn free_code(&mut self, addr: u64, len: usize);

    /// The address generated code calls for `entry` of the instance identified by `ctx` (the
    /// value the embedder will need to find the instance again), or `None` if the platform
    /// does not provide it.
    fn entry_address(&mut self, ctx: u64, entry: Entry) -> Option<u64>;

    /// The WASI host (output, clocks, entropy, args, environment).
    fn wasi_host(&mut self) -> &mut dyn WasiHost;

    /// Whether the embedder wants the CPU back now (the secure world: a normal-world
    /// interrupt is pending). Long helpers ask between chunks and stop with
    /// [`Stop::Interrupted`](crate::runtime::Stop::Interrupted). Default: what the WASI host
    /// says ([`WasiHost::interrupt_pending`], never by default).
    fn interrupt_pending(&mut self) -> bool {
        self.wasi_host().interrupt_pending()
    }

    /// A host function for a non-WASI import, by an id of the platform's choosing.
    fn resolve_import(&mut self, module: &str, name: &str, ty: &FuncType) -> Option<u32> {
        let _ = (module, name, ty);
        None
    }

    /// Calls host import `id` with wasm values (i32 zero-extended, floats as bits) and stores
    /// its results; `Err(message)` traps with that message.
    fn call_import(
        &mut self,
        id: u32,
        memory: &mut GuestMemory<'_>,
        args: &[u64],
        results: &mut [u64],
    ) -> Result<(), String> {
        let _ = (id, memory, args, results);
        Err(crate::fallible::string("host import not provided").unwrap_or_default())
    }
}
