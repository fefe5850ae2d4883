//! The secure world's [`Platform`] for one instance ([`SecurePlatform`]): the instance's own
//! address space ([`crate::mmu::UserSpace`]: own root and ASID, nothing of any other session
//! mapped), the VA windows in it (code image, instance data, stack, linear memory, entry
//! stubs) with the pool pages mapped in each, the page of EL0 entry stubs that `svc` into
//! the payload, and fault addresses turned into (window, offset).
//!
//! Layout per instance: code image (EL0 RX / EL1 XN, data sections EL0 R), data block and
//! stack (EL0 RW, XN; an unmapped guard below the stack), linear memory in an 8 GiB window
//! with only the committed prefix mapped, and one page of entry stubs (EL0 RX). Every page
//! comes from the pool, charged to the session's account, and is zeroed before it is freed.

use super::text;
use super::wasi::RunWasi;
use crate::heap::POOL;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use tzwasm_aot_loader::module::FuncType;
use tzwasm_aot_loader::runtime::{Entry, Helper, Platform, PlatformError};
use tzwasm_aot_loader::wasi::{GuestMemory, WasiHost};
use tzwasm_firmware::pool::Owner;
use tzwasm_firmware::tee_imports::{self, TeeFunc};
use tzwasm_mmu::Attributes;

const PAGE: u64 = 4096;
/// x16 value of the return stub's `svc`: the export returned.
pub(super) const RETURN_ID: u64 = 0xffff_ffff;
/// Entry stubs: 16 bytes each (`movz x16; movk x16; svc #0; ret`), one page.
const STUB_SIZE: u64 = 16;
/// Bytes at the top of the stub page kept for the EL0 C library (`arch/el0_lib.S`: memmove,
/// memcpy and memset run as module code, not as an `svc`); the stubs fill the rest.
const LIB_AREA: u64 = tzwasm_firmware::layout::EL0_LIB_AREA as u64;

/// One pool allocation mapped somewhere for the module.
struct Region {
    va: u64,
    pa: u64,
    len: u64,
}

/// What a window holds (fault reports name it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WindowKind {
    Code,
    Data,
    Stack,
    Memory,
    Stubs,
}

impl WindowKind {
    fn name(self) -> &'static str {
        match self {
            WindowKind::Code => "code",
            WindowKind::Data => "instance data",
            WindowKind::Stack => "stack",
            WindowKind::Memory => "linear memory",
            WindowKind::Stubs => "entry stubs",
        }
    }
}

/// A reserved window and the regions mapped in it.
struct Window {
    kind: WindowKind,
    /// What `mmu::reserve_window` returned (2 MiB aligned).
    base: u64,
    /// `base` plus the window's colour: where its contents start.
    start: u64,
    regions: Vec<Region>,
}

/// Page offsets ("colours") of successive windows of a module, in pages: windows are 2 MiB
/// aligned, so without an offset the first pages of code, instance data, stack and linear
/// memory (where a C module keeps its hot globals) share their low 21 VA bits and compete
/// for the same TLB entries; QEMU's direct-mapped software TLB made modules run up to twice
/// as slow as under iwasm (docs/benchmarks-analysis.md), and set-associative hardware TLBs
/// and VIPT caches index by the same bits. 37 is coprime with every power of two.
const COLOUR_STRIDE_PAGES: u64 = 37;
const COLOURS: u64 = 512;

/// The secure world's [`Platform`].
pub struct SecurePlatform {
    /// The instance's address space, made with the first window (and ended with the
    /// platform, after every window is gone).
    space: Option<crate::mmu::UserSpace>,
    windows: Vec<Window>,
    stubs: Option<(u64, u64)>, // (EL0 VA, kernel alias PA) of the stub page
    /// The WASI host of the current run.
    pub wasi: RunWasi,
    /// What the `tzwasm` imports attest and seal under: the module's measurement and facts
    /// (set by LOAD before instantiation, once the file is measured).
    pub evidence: Option<crate::attestation::ModuleEvidence>,
    /// Where instantiation spent its time, in counter ticks (STATS page 3).
    pub ticks: InstantiateTicks,
    /// Where the run spent its time (STATS page 6).
    pub run_ticks: RunTicks,
    /// When the code image was handed out writable (the runtime relocates until seal_code).
    code_given_at: u64,
    /// Whose quota the module's pages and translation tables are charged to: the account
    /// of the session the CPU served when the platform was made (LOAD).
    owner: Owner,
    /// Pool pages set aside before instantiation ([`SecurePlatform::prepare`]), zeroed in
    /// pieces by LOAD; an allocation of exactly one's size takes it instead of allocating
    /// and zeroing in one go.
    prepared: Vec<Prepared>,
}

/// Pages set aside for a later allocation: `zeroed` of `len` bytes are zero already.
struct Prepared {
    pa: u64,
    len: u64,
    zeroed: u64,
}

/// Counter ticks of instantiation, as the platform sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct InstantiateTicks {
    /// Building the code image: copying sections and applying relocations (from alloc_code
    /// returning to seal_code being called).
    pub relocate: u64,
    /// Pool allocation, zeroing, mapping and sealing (cache maintenance, permission changes)
    /// of everything the module gets.
    pub memory: u64,
}

/// Counter ticks and calls of the module's run (over every RUN and RESUME), as the runner sees
/// them. Under QEMU's `-icount shift=0` a tick is 16 instructions (1 ns each, 62.5 MHz counter),
/// which is how `make bench` counts the instructions a run executes in the secure world.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunTicks {
    /// Inside the runner: from RUN's or RESUME's start of module work to its answer.
    pub secure: u64,
    /// Of those, at S-EL0 (module code, from each entry to the exception that ends it).
    pub el0: u64,
    /// Helper and import calls (SVCs) the runner served.
    pub svcs: u64,
}

fn err(what: &str) -> PlatformError {
    PlatformError(text(format_args!("{what}")))
}

/// `len` bytes of pool pages for the module, not zeroed yet, charged to `owner` (its
/// session's account).
fn alloc_raw(len: u64, owner: Owner) -> Result<u64, PlatformError> {
    let layout =
        Layout::from_size_align(len as usize, PAGE as usize).map_err(|_| err("bad size"))?;
    let p = POOL
        .try_alloc_for(layout, owner)
        .ok_or_else(|| err("session quota or secure pool exhausted"))?;
    Ok(p.as_ptr() as u64)
}

/// Zeroed pages for the module, charged to `owner` (its session's account).
fn alloc_pages(len: u64, owner: Owner) -> Result<u64, PlatformError> {
    let pa = alloc_raw(len, owner)?;
    // SAFETY: freshly allocated, identity-mapped RW Normal payload memory of `len` bytes.
    unsafe { tzwasm_mmu::arch::zero_range(pa, len) };
    Ok(pa)
}

fn free_pages(pa: u64, len: u64, owner: Owner) {
    free_pages_zeroed_by(pa, len, owner, Zeroing::CacheZero);
}

/// How freed pages are zeroed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Zeroing {
    /// `DC ZVA`, the fastest way.
    CacheZero,
    /// Ordinary stores: for pages that held code the module executed (its code image and
    /// entry stubs). QEMU TCG keeps its translations of a page that `DC ZVA` zeroed, and every
    /// later write to that page then takes its slow path: the next module whose stack or data
    /// landed there ran hardware-mode qsort at half speed (docs/benchmarks-analysis.md).
    /// Ordinary stores make it drop them. Silicon is indifferent.
    Stores,
}

fn free_pages_zeroed_by(pa: u64, len: u64, owner: Owner, zeroing: Zeroing) {
    // SAFETY: `pa` was returned by alloc_raw(len, owner) (or alloc_pages) and nothing maps it
    // any more.
    unsafe {
        match zeroing {
            Zeroing::CacheZero => tzwasm_mmu::arch::zero_range(pa, len),
            Zeroing::Stores => core::ptr::write_bytes(pa as *mut u8, 0, len as usize),
        }
        if let (Some(p), Ok(layout)) = (
            core::ptr::NonNull::new(pa as *mut u8),
            Layout::from_size_align(len as usize, PAGE as usize),
        ) {
            POOL.free_for(p, layout, owner);
        }
    }
}

fn round_up(v: u64) -> u64 {
    v.div_ceil(PAGE) * PAGE
}

impl SecurePlatform {
    /// The page of EL0 entry stubs (made on first use): (EL0 VA, physical address). Slot 0 is
    /// the return stub every call returns through.
    pub(super) fn stub_page(&mut self) -> Option<(u64, u64)> {
        let owner = self.owner;
        if let Some(s) = self.stubs {
            return Some(s);
        }
        let pa = alloc_pages(PAGE, owner).ok()?;
        let space = match self.space() {
            Ok(s) => s,
            Err(_) => {
                free_pages(pa, PAGE, owner);
                return None;
            }
        };
        let Ok(va) = space.reserve(PAGE).map(|w| w.base) else {
            free_pages(pa, PAGE, owner);
            return None;
        };
        let mut regions = Vec::new();
        if self.windows.try_reserve(1).is_err() || regions.try_reserve_exact(1).is_err() {
            free_pages(pa, PAGE, owner);
            if let Some(space) = self.space.as_mut() {
                let _ = space.release(va);
            }
            return None;
        }
        let Some(space) = self.space.as_mut() else {
            free_pages(pa, PAGE, owner);
            return None;
        };
        if space.map(va, pa, PAGE, Attributes::USER_TEXT).is_err() {
            free_pages(pa, PAGE, owner);
            let _ = space.release(va);
            return None;
        }
        regions.push(Region { va, pa, len: PAGE });
        self.windows.push(Window {
            kind: WindowKind::Stubs,
            base: va,
            start: va,
            regions,
        });
        write_stub(pa, 0, RETURN_ID);
        let (lib, _, _) = crate::arch::el0_lib();
        let lib = lib.get(..LIB_AREA as usize).unwrap_or(lib);
        // SAFETY: the last LIB_AREA bytes of the stub page, which the payload maps RW at its
        // physical address; `lib` is at most LIB_AREA bytes of the image's rodata (el0_lib.S
        // checks its size when it is assembled).
        unsafe {
            core::ptr::copy_nonoverlapping(
                lib.as_ptr(),
                (pa + PAGE - LIB_AREA) as *mut u8,
                lib.len(),
            )
        };
        crate::mmu::clean_code(va, PAGE);
        crate::mmu::invalidate_icache();
        self.stubs = Some((va, pa));
        Some((va, pa))
    }

    /// A platform with no mappings yet; LOAD instantiates with it, RUN configures its WASI.
    pub fn new() -> Self {
        Self {
            space: None,
            windows: Vec::new(),
            stubs: None,
            wasi: RunWasi::new(),
            evidence: None,
            ticks: InstantiateTicks::default(),
            run_ticks: RunTicks::default(),
            code_given_at: 0,
            owner: POOL.owner_now(),
            prepared: Vec::new(),
        }
    }

    /// Sets aside `len` bytes (rounded up to pages) of pool pages for a later allocation of
    /// that size (LOAD prepares the code image, data block, stack and initial linear memory
    /// from the module's footprint), charged to the platform's owner;
    /// [`Self::zero_prepared`] zeroes them in pieces.
    pub fn prepare(&mut self, len: u64) -> Result<(), PlatformError> {
        let len = round_up(len);
        if len == 0 {
            return Ok(());
        }
        self.prepared
            .try_reserve(1)
            .map_err(|_| err("secure pool exhausted"))?;
        let pa = alloc_raw(len, self.owner)?;
        self.prepared.push(Prepared { pa, len, zeroed: 0 });
        Ok(())
    }

    /// Zeroes up to `budget` more bytes of the prepared pages; true once all are zero.
    pub fn zero_prepared(&mut self, budget: u64) -> bool {
        let mut left = budget;
        for p in self.prepared.iter_mut() {
            let n = (p.len - p.zeroed).min(left);
            if n > 0 {
                // SAFETY: [pa + zeroed, + n) lies inside pool pages this platform owns and
                // nothing maps yet (identity-mapped RW Normal payload memory).
                unsafe { tzwasm_mmu::arch::zero_range(p.pa + p.zeroed, n) };
                p.zeroed += n;
                left -= n;
            }
        }
        self.prepared.iter().all(|p| p.zeroed == p.len)
    }

    /// Prepared, fully zeroed pages of exactly `len` bytes, if there are.
    fn take_prepared(&mut self, len: u64) -> Option<u64> {
        let i = self
            .prepared
            .iter()
            .position(|p| p.len == len && p.zeroed == len)?;
        Some(self.prepared.swap_remove(i).pa)
    }

    /// Gives back the prepared pages no allocation took.
    pub fn release_prepared(&mut self) {
        let owner = self.owner;
        for p in self.prepared.drain(..) {
            free_pages(p.pa, p.len, owner);
        }
    }

    /// The instance's address space (made on first use), installed on this CPU: the payload
    /// writes code and data through the windows' VAs, and the module runs in it.
    fn space(&mut self) -> Result<&mut crate::mmu::UserSpace, PlatformError> {
        if self.space.is_none() {
            let s = crate::mmu::new_space(self.owner).map_err(|e| match e {
                tzwasm_mmu::Error::AsidsExhausted => err("no ASID left"),
                _ => err("secure pool exhausted (address space)"),
            })?;
            self.space = Some(s);
        }
        let s = self.space.as_mut().ok_or_else(|| err("no address space"))?;
        crate::mmu::activate(s);
        Ok(s)
    }

    /// Leaves `ticks` out of the relocation time ([`InstantiateTicks::relocate`], measured
    /// from `alloc_code` to `seal_code`): time the CPU spent elsewhere between two pieces of
    /// an instantiation that was interrupted.
    pub fn exclude_from_relocation(&mut self, ticks: u64) {
        self.code_given_at = self.code_given_at.wrapping_add(ticks);
    }

    /// Installs the instance's address space on this CPU, if it has one.
    pub fn activate(&self) {
        if let Some(s) = self.space.as_ref() {
            crate::mmu::activate(s);
        }
    }

    /// Whether `pc` lies in the EL0 C library at the top of the stub page (a fault there is
    /// the module's memmove/memcpy/memset given memory it does not own).
    pub fn in_el0_lib(&self, pc: u64) -> bool {
        self.stubs
            .is_some_and(|(va, _)| pc >= va + PAGE - LIB_AREA && pc < va + PAGE)
    }

    /// Where `va` lies, as the normal world may see it: the window kind and the offset from
    /// the start of its contents, never the secure VA itself.
    pub fn describe(&self, va: u64) -> String {
        let hit = self.windows.iter().find(|w| {
            self.space
                .as_ref()
                .and_then(|s| s.find(va))
                .is_some_and(|sw| sw.base == w.base)
        });
        match hit {
            Some(w) if va >= w.start => {
                text(format_args!("{} +{:#x}", w.kind.name(), va - w.start))
            }
            Some(w) => text(format_args!("{} -{:#x}", w.kind.name(), w.start - va)),
            None => text(format_args!("an address outside the module's windows")),
        }
    }

    /// Allocates `len` bytes, maps them at `offset` inside a new window of `reserve` bytes;
    /// the time it takes counts as memory work ([`InstantiateTicks::memory`]).
    fn window_with(
        &mut self,
        kind: WindowKind,
        reserve: u64,
        offset: u64,
        len: u64,
        attrs: Attributes,
    ) -> Result<u64, PlatformError> {
        let t0 = crate::arch::counter();
        let r = self.new_window(kind, reserve, offset, len, attrs);
        self.ticks.memory += crate::arch::counter().wrapping_sub(t0);
        r
    }

    fn new_window(
        &mut self,
        kind: WindowKind,
        reserve: u64,
        offset: u64,
        len: u64,
        attrs: Attributes,
    ) -> Result<u64, PlatformError> {
        let owner = self.owner;
        let mut regions = Vec::new();
        if self.windows.try_reserve(1).is_err() || regions.try_reserve_exact(1).is_err() {
            return Err(err("allocate memory failed"));
        }
        let colour = (self.windows.len() as u64 * COLOUR_STRIDE_PAGES % COLOURS) * PAGE;
        let pa = if len > 0 {
            match self.take_prepared(len) {
                Some(pa) => pa,
                None => alloc_pages(len, owner)?,
            }
        } else {
            0
        };
        let space = match self.space() {
            Ok(s) => s,
            Err(e) => {
                if len > 0 {
                    free_pages(pa, len, owner);
                }
                return Err(e);
            }
        };
        let base = match space.reserve(reserve + colour) {
            Ok(w) => w.base,
            Err(_) => {
                if len > 0 {
                    free_pages(pa, len, owner);
                }
                return Err(err("no VA window left"));
            }
        };
        let start = base + colour;
        let mut w = Window {
            kind,
            base,
            start,
            regions,
        };
        if len > 0 {
            if space.map(start + offset, pa, len, attrs).is_err() {
                free_pages(pa, len, owner);
                let _ = space.release(base);
                return Err(err("cannot map module memory"));
            }
            w.regions.push(Region {
                va: start + offset,
                pa,
                len,
            });
        }
        self.windows.push(w);
        Ok(start + offset)
    }

    fn drop_window_containing(&mut self, va: u64) {
        let owner = self.owner;
        if let Some(i) = self
            .windows
            .iter()
            .position(|w| w.start == va || w.regions.iter().any(|r| r.va == va))
        {
            let w = self.windows.swap_remove(i);
            let Some(space) = self.space.as_mut() else {
                return;
            };
            let zeroing = match w.kind {
                WindowKind::Code | WindowKind::Stubs => Zeroing::Stores,
                _ => Zeroing::CacheZero,
            };
            for r in w.regions {
                // A page still mapped must not go back to the pool: if the unmap fails
                // (it cannot for a region we mapped), the page is leaked instead.
                if space.unmap(r.va, r.len).is_ok() {
                    free_pages_zeroed_by(r.pa, r.len, owner, zeroing);
                }
            }
            let _ = space.release(w.base);
        }
    }

    /// Cleans the relocated code to the point of unification, makes its text EL0 RX and the
    /// rest EL0 read-only, and invalidates the instruction caches.
    fn seal(&mut self, addr: u64, rx_len: usize, len: usize) -> Result<(), PlatformError> {
        let rx = round_up(rx_len as u64);
        let total = round_up(len as u64);
        let space = self.space()?;
        crate::mmu::clean_code(addr, total);
        if rx > 0 {
            space
                .protect(addr, rx, Attributes::USER_TEXT)
                .map_err(|_| err("seal"))?;
        }
        if total > rx {
            space
                .protect(addr + rx, total - rx, Attributes::USER_RODATA)
                .map_err(|_| err("seal"))?;
        }
        crate::mmu::invalidate_icache();
        Ok(())
    }

    /// Unmaps, zeroes and frees everything.
    fn release_all(&mut self) {
        while let Some(w) = self.windows.first() {
            let start = w.start;
            self.drop_window_containing(start);
        }
    }
}

// SAFETY: every address returned maps fresh, zeroed pool pages with the permissions the
// trait asks for (EL0 data RW+XN, code RW for EL1 until sealed EL0 RX, stack with an unmapped
// guard below), committed memory grows in place inside its reserved window, and the stubs
// `svc` into the payload, which calls Instance::dispatch for the instance (see run()).
unsafe impl Platform for SecurePlatform {
    fn page_size(&self) -> usize {
        PAGE as usize
    }

    fn reserve_memory(&mut self, reserve: u64, commit: u64) -> Result<u64, PlatformError> {
        let commit = round_up(commit);
        self.window_with(
            WindowKind::Memory,
            reserve,
            0,
            commit,
            Attributes::USER_DATA,
        )
    }

    fn commit_memory(&mut self, base: u64, old: u64, new: u64) -> Result<(), PlatformError> {
        let owner = self.owner;
        let (old, new) = (round_up(old), round_up(new));
        if new <= old {
            return Ok(());
        }
        let len = new - old;
        match self.windows.iter_mut().find(|w| w.start == base) {
            Some(w) => w
                .regions
                .try_reserve(1)
                .map_err(|_| err("allocate memory failed"))?,
            None => return Err(err("unknown memory window")),
        }
        let pa = alloc_pages(len, owner)?;
        if self
            .space()
            .and_then(|s| {
                s.map(base + old, pa, len, Attributes::USER_DATA)
                    .map_err(|_| err("map"))
            })
            .is_err()
        {
            free_pages(pa, len, owner);
            return Err(err("cannot map grown memory"));
        }
        match self.windows.iter_mut().find(|w| w.start == base) {
            Some(w) => {
                w.regions.push(Region {
                    va: base + old,
                    pa,
                    len,
                });
                Ok(())
            }
            None => {
                if let Some(s) = self.space.as_mut() {
                    if s.unmap(base + old, len).is_ok() {
                        free_pages(pa, len, owner);
                    }
                }
                Err(err("unknown memory window"))
            }
        }
    }

    fn release_memory(&mut self, base: u64, _reserve: u64) {
        self.drop_window_containing(base);
    }

    fn alloc_data(&mut self, len: usize) -> Result<u64, PlatformError> {
        let len = round_up(len as u64);
        self.window_with(WindowKind::Data, len, 0, len, Attributes::USER_DATA)
    }

    fn free_data(&mut self, addr: u64, _len: usize) {
        self.drop_window_containing(addr);
    }

    fn stack_guard(&self) -> usize {
        PAGE as usize * 16
    }

    fn alloc_stack(&mut self, len: usize) -> Result<u64, PlatformError> {
        let len = round_up(len as u64);
        let guard = self.stack_guard() as u64;
        self.window_with(
            WindowKind::Stack,
            guard + len,
            guard,
            len,
            Attributes::USER_DATA,
        )
    }

    fn free_stack(&mut self, low: u64, _len: usize) {
        self.drop_window_containing(low);
    }

    fn alloc_code(&mut self, len: usize, _low: bool) -> Result<u64, PlatformError> {
        let len = round_up(len as u64);
        // EL1 RW while the runtime relocates it; seal_code makes it EL0 RX.
        let addr = self.window_with(WindowKind::Code, len, 0, len, Attributes::KERNEL_DATA)?;
        // The entry stubs now, while a failure can still say it is out of memory: relocation
        // asks entry_address for helper stubs, where no memory would read as a helper tzwasm
        // does not provide.
        if self.stub_page().is_none() {
            self.drop_window_containing(addr);
            return Err(err("allocate memory failed (entry stubs)"));
        }
        self.code_given_at = crate::arch::counter();
        Ok(addr)
    }

    fn seal_code(&mut self, addr: u64, rx_len: usize, len: usize) -> Result<(), PlatformError> {
        let t0 = crate::arch::counter();
        self.ticks.relocate += t0.wrapping_sub(self.code_given_at);
        let r = self.seal(addr, rx_len, len);
        self.ticks.memory += crate::arch::counter().wrapping_sub(t0);
        r
    }

    fn free_code(&mut self, addr: u64, _len: usize) {
        self.drop_window_containing(addr);
    }

    fn entry_address(&mut self, _ctx: u64, entry: Entry) -> Option<u64> {
        let (va, pa) = self.stub_page()?;
        // The C library routines run at EL0 from the top of the stub page (module code that
        // can reach only the module's own pages), with no `svc`.
        let (_, memmove, memset) = crate::arch::el0_lib();
        let lib = va + PAGE - LIB_AREA;
        match entry {
            Entry::Helper(Helper::Memmove | Helper::Memcpy) => return Some(lib + memmove as u64),
            Entry::Helper(Helper::Memset) => return Some(lib + memset as u64),
            _ => {}
        }
        // Slot 0 is the return stub; entries follow in id order of first use.
        let id = u64::from(entry.to_id());
        let slots = (PAGE - LIB_AREA) / STUB_SIZE;
        // SAFETY: the stub page is ours, identity-mapped RW for EL1 at `pa`.
        let words = unsafe { core::slice::from_raw_parts(pa as *const u32, (PAGE / 4) as usize) };
        let mut free = None;
        for slot in 1..slots {
            let Some(&[w0, w1]) = words.get((slot * 4) as usize..(slot * 4 + 2) as usize) else {
                break;
            };
            if w0 == 0 {
                free = Some(slot);
                break;
            }
            if decode_stub_id(w0, w1) == id {
                return Some(va + slot * STUB_SIZE);
            }
        }
        let slot = free?;
        write_stub(pa, slot, id);
        self.activate();
        crate::mmu::clean_code(va, PAGE);
        crate::mmu::invalidate_icache();
        Some(va + slot * STUB_SIZE)
    }

    fn wasi_host(&mut self) -> &mut dyn WasiHost {
        &mut self.wasi
    }

    fn resolve_import(&mut self, module: &str, name: &str, ty: &FuncType) -> Option<u32> {
        tee_imports::lookup(module, name, ty).map(TeeFunc::id)
    }

    fn call_import(
        &mut self,
        id: u32,
        memory: &mut GuestMemory<'_>,
        args: &[u64],
        results: &mut [u64],
    ) -> Result<(), String> {
        let (Some(func), Some(evidence)) = (TeeFunc::from_id(id), self.evidence.as_ref()) else {
            return Err(text(format_args!("host import {id} not provided")));
        };
        let mut services = crate::attestation::ModuleServices { evidence };
        let errno = tee_imports::call(func, &mut services, memory, args);
        if let Some(r) = results.first_mut() {
            *r = u64::from(errno.0);
        }
        Ok(())
    }
}

/// `movz x16, #lo; movk x16, #hi, lsl #16; svc #0; ret` at stub `slot` of the page at `pa`.
fn write_stub(pa: u64, slot: u64, id: u64) {
    let lo = (id & 0xffff) as u32;
    let hi = ((id >> 16) & 0xffff) as u32;
    let code = [
        0xd280_0010 | (lo << 5),
        0xf2a0_0010 | (hi << 5),
        0xd400_0001,
        0xd65f_03c0,
    ];
    for (i, w) in code.iter().enumerate() {
        // SAFETY: slot < (PAGE - LIB_AREA) / STUB_SIZE, so the 16 bytes lie in the stub page, which the
        // payload maps RW at its physical address.
        unsafe {
            core::ptr::write_volatile((pa + slot * STUB_SIZE + 4 * i as u64) as *mut u32, *w)
        };
    }
}

fn decode_stub_id(movz: u32, movk: u32) -> u64 {
    u64::from((movz >> 5) & 0xffff) | (u64::from((movk >> 5) & 0xffff) << 16)
}

impl Drop for SecurePlatform {
    fn drop(&mut self) {
        self.release_prepared();
        self.release_all();
        if let Some(space) = self.space.take() {
            crate::mmu::destroy_space(space);
        }
    }
}
