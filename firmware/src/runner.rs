//! Running a WAMR AOT module in the secure world: the `tzwasm-aot-loader` runtime with a
//! [`Platform`] that maps everything the module can touch as S-EL0 memory in VA windows of
//! the instance's own address space ([`crate::mmu::UserSpace`]: own root and ASID, nothing of
//! any other session mapped), EL0 entry stubs that `svc` into the payload, and the SVC/fault
//! loop around [`crate::el0::run`]. Faults are reported as (window, offset), never as secure
//! virtual addresses.
//!
//! Layout per instance: code image (EL0 RX / EL1 XN, data sections EL0 R), data block and
//! stack (EL0 RW, XN; an unmapped guard below the stack), linear memory in an 8 GiB window
//! with only the committed prefix mapped, and one page of entry stubs (EL0 RX). Every page
//! comes from the pool and is zeroed before it is freed.
//!
//! LOAD instantiates with it (session.rs). TEST_RUN (test builds) also runs `_start`, with
//! the module's stdout/stderr going to the secure log until RUN and the output ring exist.

use crate::heap::POOL;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};
use tzwasm_aot_loader::module::FuncType;
use tzwasm_aot_loader::runtime::abi::{self, CallRegs};
use tzwasm_aot_loader::runtime::{
    Entry, Instance, InstanceConfig, Platform, PlatformError, Stop, Trap, Value,
};
use tzwasm_aot_loader::wasi::{Errno, WasiHost};
use tzwasm_aot_loader::{parse, Arch};
use tzwasm_firmware::pool::Owner;
use tzwasm_firmware::user::{UserContext, UserExit, PSTATE_EL0_PREEMPTIBLE};
use tzwasm_mmu::Attributes;
use tzwasm_smc::ring::{Producer, Stream};

const PAGE: u64 = 4096;
/// x16 value of the return stub's `svc`: the export returned.
const RETURN_ID: u64 = 0xffff_ffff;
/// Entry stubs: 16 bytes each (`movz x16; movk x16; svc #0; ret`), one page.
const STUB_SIZE: u64 = 16;

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

/// The module's WASI view of the world for one run: its arguments and environment (copied
/// into secure memory), and where its stdout/stderr go: the run's output ring in shared
/// memory, or (TEST_RUN) the secure log, line by line.
pub struct RunWasi {
    /// Backing store of `args`/`env` (never reallocated while they point into it).
    store: Vec<u8>,
    args: Vec<&'static [u8]>,
    env: Vec<&'static [u8]>,
    producer: Option<Producer<'static>>,
    /// fds 0..2 the module closed.
    closed: [bool; 3],
    /// Output the payload itself adds after the module returned (an export's results), still
    /// to go into the ring.
    tail: Vec<u8>,
    line: [Vec<u8>; 2],
    /// Bytes written to stdout and stderr.
    pub written: [u64; 2],
    /// Counter-ns deadline of a `poll_oneoff` sleep that a pending interrupt cut short: the
    /// re-issued call sleeps until it, not for its whole timeout again.
    sleep_until: Option<u64>,
    /// The last Pending answer came from a cut-short sleep, not from a full ring.
    sleep_cut: bool,
}

impl RunWasi {
    fn new() -> Self {
        Self {
            store: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            producer: None,
            closed: [false; 3],
            tail: Vec::new(),
            line: [Vec::new(), Vec::new()],
            written: [0; 2],
            sleep_until: None,
            sleep_cut: false,
        }
    }

    /// Whether the last Pending answer was a sleep cut short by a pending interrupt (then the
    /// run returns INTERRUPTED, not OUTPUT_PENDING); clears the mark.
    fn take_sleep_cut(&mut self) -> bool {
        core::mem::take(&mut self.sleep_cut)
    }

    /// Sets the run's arguments and environment (copied) and its output ring.
    pub fn configure<'b>(
        &mut self,
        args: impl Iterator<Item = &'b [u8]> + Clone,
        env: impl Iterator<Item = &'b [u8]> + Clone,
        producer: Option<Producer<'static>>,
    ) -> Result<(), ()> {
        let total: usize = args.clone().chain(env.clone()).map(<[u8]>::len).sum();
        let mut store = Vec::new();
        store.try_reserve_exact(total).map_err(|_| ())?;
        let mut spans = Vec::new();
        spans
            .try_reserve_exact(args.clone().count() + env.clone().count())
            .map_err(|_| ())?;
        for s in args.clone().chain(env.clone()) {
            spans.push((store.len(), s.len()));
            store.extend_from_slice(s);
        }
        self.args.clear();
        self.env.clear();
        let nargs = args.count();
        self.args.try_reserve_exact(nargs).map_err(|_| ())?;
        self.env
            .try_reserve_exact(spans.len() - nargs)
            .map_err(|_| ())?;
        self.store = store;
        for (i, &(at, len)) in spans.iter().enumerate() {
            // SAFETY: `store` is owned by self, never reallocated or mutated until the next
            // configure(), which clears these slices first; they never outlive self (the
            // 'static is internal: only handed out through &self).
            let slice: &'static [u8] =
                unsafe { core::slice::from_raw_parts(self.store.as_ptr().add(at), len) };
            if i < nargs {
                self.args.push(slice);
            } else {
                self.env.push(slice);
            }
        }
        self.producer = producer;
        self.closed = [false; 3];
        self.written = [0; 2];
        Ok(())
    }

    /// Queues bytes for stdout after the module's own output; false if there is no memory
    /// for them.
    pub fn queue_stdout(&mut self, bytes: &[u8]) -> bool {
        if self.tail.try_reserve(bytes.len()).is_err() {
            return false;
        }
        self.tail.extend_from_slice(bytes);
        true
    }

    /// Moves as much of the queued output into the ring (or the log) as fits; true when
    /// nothing is left.
    pub fn flush_tail(&mut self) -> bool {
        if self.tail.is_empty() {
            return true;
        }
        let mut tail = core::mem::take(&mut self.tail);
        let n = self.writable(1).min(tail.len());
        if n > 0 && self.write(1, tail.get(..n).unwrap_or_default()).is_err() {
            return true; // a faulted ring: the output is lost, as the module's own would be
        }
        // In place: no allocation on the way out.
        tail.drain(..n);
        self.tail = tail;
        self.tail.is_empty()
    }

    /// Marks the end of the run's output and drops the ring.
    pub fn finish(&mut self) {
        if let Some(p) = self.producer.as_mut() {
            p.finish();
        }
        self.producer = None;
        self.flush(Stream::Stdout);
        self.flush(Stream::Stderr);
    }

    fn flush(&mut self, stream: Stream) {
        let line = stream.of_mut(&mut self.line);
        if !line.is_empty() {
            let text = String::from_utf8_lossy(line);
            log::info!("[module {}] {text}", stream.name());
            line.clear();
        }
    }
}

impl WasiHost for RunWasi {
    fn fd_is_open(&self, fd: u32) -> bool {
        !self.closed.get(fd as usize).copied().unwrap_or(false)
    }

    fn fd_closed(&mut self, fd: u32) {
        if let Some(c) = self.closed.get_mut(fd as usize) {
            *c = true;
        }
    }

    fn writable(&mut self, fd: u32) -> usize {
        match (Stream::from_fd(fd), self.producer.as_mut()) {
            // A ring the normal world corrupted takes nothing, ever: let the write fail
            // (EIO) instead of pausing forever.
            (Some(_), Some(p)) if p.fault().is_some() => usize::MAX,
            (Some(stream), Some(p)) => p.space(stream),
            _ => usize::MAX,
        }
    }

    fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), Errno> {
        let Some(stream) = Stream::from_fd(fd) else {
            return Err(Errno::BADF);
        };
        let written = stream.of_mut(&mut self.written);
        if let Some(p) = self.producer.as_mut() {
            let n = p.write(stream, bytes);
            *written += n as u64;
            return if n == bytes.len() {
                Ok(())
            } else {
                Err(Errno::IO)
            };
        }
        *written += bytes.len() as u64;
        for &b in bytes {
            if b == b'\n' {
                self.flush(stream);
            } else {
                if stream.of_mut(&mut self.line).try_reserve(1).is_err() {
                    self.flush(stream);
                }
                let line = stream.of_mut(&mut self.line);
                if line.try_reserve(1).is_ok() {
                    line.push(b);
                }
            }
        }
        Ok(())
    }

    fn clock_time_ns(&mut self, clock_id: u32) -> Option<u64> {
        match clock_id {
            // Realtime: the RTC read at cold boot plus the secure counter since then.
            0 => crate::platform::realtime_ns(ticks_to_ns, crate::arch::counter()),
            // Monotonic: the secure physical counter, which the normal world cannot change.
            1 => Some(counter_ns()),
            // Test builds: the most CPUs seen running module code at once.
            tzwasm_smc::call::TEST_CLOCK_PEAK_RUNS if cfg!(feature = "test-hooks") => {
                Some(RUNS_PEAK.load(Ordering::Acquire))
            }
            _ => None,
        }
    }

    fn clock_res_ns(&mut self, clock_id: u32) -> Option<u64> {
        (clock_id <= 1).then(|| 1_000_000_000u64.div_ceil(crate::arch::counter_freq().max(1)))
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        crate::platform::random(buf);
        Ok(())
    }

    fn sleep_ns(&mut self, ns: u64) -> bool {
        // Spins on the secure counter with interrupts masked, so it watches for a pending
        // normal-world interrupt itself: then it gives up the CPU (the run returns
        // INTERRUPTED) and keeps its deadline for the re-issued call.
        let end = *self
            .sleep_until
            .get_or_insert_with(|| counter_ns().saturating_add(ns));
        while counter_ns() < end {
            if crate::arch::irq_pending() {
                self.sleep_cut = true;
                return false;
            }
            core::hint::spin_loop();
        }
        self.sleep_until = None;
        true
    }

    fn interrupt_pending(&mut self) -> bool {
        // Long helpers and random_get ask between chunks (the helpers through the
        // platform's default, which asks here).
        crate::arch::irq_pending()
    }

    fn args(&self) -> &[&[u8]] {
        &self.args
    }

    fn environ(&self) -> &[&[u8]] {
        &self.env
    }
}

fn ticks_to_ns(ticks: u64) -> u64 {
    let f = crate::arch::counter_freq().max(1);
    ((u128::from(ticks) * 1_000_000_000) / u128::from(f)) as u64
}

fn counter_ns() -> u64 {
    ticks_to_ns(crate::arch::counter())
}

/// The secure world's [`Platform`].
pub struct SecurePlatform {
    /// The instance's address space, made with the first window (and ended with the
    /// platform, after every window is gone).
    space: Option<crate::mmu::UserSpace>,
    windows: Vec<Window>,
    stubs: Option<(u64, u64)>, // (EL0 VA, kernel alias PA) of the stub page
    /// The WASI host of the current run.
    pub wasi: RunWasi,
    /// Where instantiation spent its time, in counter ticks (STATS page 3).
    pub ticks: InstantiateTicks,
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

/// A message formatted without aborting: empty if the pool (or the session's quota) cannot
/// hold it. Every message on a path the normal world or a module reaches is made with it.
pub fn text(args: core::fmt::Arguments<'_>) -> String {
    tzwasm_aot_loader::fallible::format(args).unwrap_or_default()
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
    // SAFETY: `pa` was returned by alloc_raw(len, owner) (or alloc_pages) and nothing maps it
    // any more.
    unsafe {
        tzwasm_mmu::arch::zero_range(pa, len);
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
    fn stub_page(&mut self) -> Option<(u64, u64)> {
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
            ticks: InstantiateTicks::default(),
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

    /// Installs the instance's address space on this CPU, if it has one.
    pub fn activate(&self) {
        if let Some(s) = self.space.as_ref() {
            crate::mmu::activate(s);
        }
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
            for r in w.regions {
                // A page still mapped must not go back to the pool: if the unmap fails
                // (it cannot for a region we mapped), the page is leaked instead.
                if space.unmap(r.va, r.len).is_ok() {
                    free_pages(r.pa, r.len, owner);
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
        // Slot 0 is the return stub; entries follow in id order of first use.
        let id = u64::from(entry.to_id());
        let slots = PAGE / STUB_SIZE;
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

    fn resolve_import(&mut self, _module: &str, _name: &str, _ty: &FuncType) -> Option<u32> {
        None
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
        // SAFETY: slot < PAGE / STUB_SIZE, so the 16 bytes lie in the stub page, which the
        // payload maps RW at its physical address.
        unsafe {
            core::ptr::write_volatile((pa + slot * STUB_SIZE + 4 * i as u64) as *mut u32, *w)
        };
    }
}

fn decode_stub_id(movz: u32, movk: u32) -> u64 {
    u64::from((movz >> 5) & 0xffff) | (u64::from((movk >> 5) & 0xffff) << 16)
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; RUN next
/// What a run ended with.
pub enum Outcome {
    /// `_start` returned or called proc_exit.
    Exit(u32),
    /// A trap: WAMR id (if any) and its message.
    Trap(Option<u32>, String),
    /// The file did not load or instantiate.
    LoadError(String),
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; RUN next
/// Loads `file` (an aarch64 AOT image, already copied into secure memory) and runs its
/// `_start` at S-EL0.
pub fn run_command(file: &[u8]) -> (Outcome, [u64; 2]) {
    let module = match parse(file, Arch::Aarch64) {
        Ok(m) => m,
        Err(e) => return (Outcome::LoadError(text(format_args!("{e}"))), [0; 2]),
    };
    let config = InstanceConfig {
        heap_quota: 8 << 20,
        stack_size: 256 << 10,
        ..Default::default()
    };
    let mut inst = match Instance::new(&module, file, SecurePlatform::new(), config) {
        Ok(i) => i,
        Err(e) => return (Outcome::LoadError(text(format_args!("{e}"))), [0; 2]),
    };
    let name: &[u8] = b"module";
    if inst
        .platform
        .wasi
        .configure([name].into_iter(), [].into_iter(), None)
        .is_err()
    {
        return (
            Outcome::LoadError(text(format_args!("out of memory"))),
            [0; 2],
        );
    }
    let outcome = match start(&mut inst, None).and_then(|mut cur| {
        match resume(&mut inst, &mut cur) {
            Step::Finished(r) => r,
            Step::Paused => Err(Trap::Message(text(format_args!("paused without a ring"))).into()),
            Step::Interrupted => Err(Trap::Message(text(format_args!("interrupted"))).into()),
        }
    }) {
        Ok(()) => Outcome::Exit(0),
        Err(Stop::Exit(code)) => Outcome::Exit(code),
        Err(Stop::Trap(t)) => Outcome::Trap(t.id().map(|i| i as u32), text(format_args!("{t}"))),
        Err(Stop::Pending | Stop::Interrupted) => {
            Outcome::Trap(None, text(format_args!("paused without a ring")))
        }
    };
    inst.platform.wasi.finish();
    let written = inst.platform.wasi.written;
    drop(inst);
    (outcome, written)
}

/// Where a run stands after [`resume`] returns.
pub enum Step {
    /// The function returned (`Ok`), exited or trapped.
    Finished(Result<(), Stop>),
    /// The output ring is full: `ctx` is saved with the pending call to be issued again.
    Paused,
    /// A normal-world interrupt arrived while module code ran: `ctx` is saved where it was
    /// interrupted.
    Interrupted,
}

/// What a RUN calls after the start function.
enum Next {
    /// Nothing: the call in `ctx` is the last one.
    Nothing,
    /// The WASI command's `_start`.
    Command,
    /// An export with its parsed arguments.
    Export(u32, Vec<Value>),
}

/// A run in progress: the module's registers, what is running, and what follows (the
/// module's start function, if it has one, runs first).
pub struct Cursor {
    /// The module thread's registers.
    pub ctx: UserContext,
    /// The export running now, whose results are printed when it returns.
    export: Option<u32>,
    next: Next,
}

fn enter(
    inst: &mut Instance<'_, SecurePlatform>,
    index: u32,
    args: &[Value],
) -> Result<UserContext, Stop> {
    let regs = inst.prepare_call(index, args)?;
    let ret_stub = inst.platform.stub_page().map(|(va, _)| va).ok_or_else(|| {
        Stop::Trap(Trap::Message(text(format_args!(
            "allocate memory failed (entry stubs)"
        ))))
    })?;
    let mut ctx = UserContext::new(regs.func, regs.sp, &regs.int);
    for (q, v) in ctx.q.iter_mut().zip(regs.vec.iter()) {
        *q = u128::from(v[0]) | (u128::from(v[1]) << 64);
    }
    ctx.x[30] = ret_stub;
    ctx.pstate = PSTATE_EL0_PREEMPTIBLE;
    Ok(ctx)
}

fn main_index(inst: &Instance<'_, SecurePlatform>) -> Result<u32, Stop> {
    inst.export_func("_start").ok_or_else(|| {
        Stop::Trap(Trap::Message(text(format_args!(
            "module exports no _start"
        ))))
    })
}

/// Prepares a run: the module's start function (if any), then `_start` (`export` = None) or
/// the export named with its parameters as text (parsed as iwasm's `-f` does).
pub fn start(
    inst: &mut Instance<'_, SecurePlatform>,
    export: Option<(&str, &[&str])>,
) -> Result<Cursor, Stop> {
    // Preparing a call writes the module's exec_env and stack through their windows.
    inst.platform.activate();
    let next = match export {
        None => {
            main_index(inst)?;
            Next::Command
        }
        Some((name, params)) => {
            let index = inst.export_func(name).ok_or_else(|| {
                Stop::Trap(Trap::Message(text(format_args!(
                    "lookup function {name} failed"
                ))))
            })?;
            let ty = inst
                .func_type(index)
                .ok_or_else(|| Stop::Trap(Trap::Message(text(format_args!("bad export type")))))?;
            let args = abi::parse_args(ty, params).map_err(|m| Stop::Trap(Trap::Message(m)))?;
            Next::Export(index, args)
        }
    };
    let mut cur = Cursor {
        ctx: UserContext::new(0, 0, &[]),
        export: None,
        next,
    };
    match inst.start_function() {
        Some(f) => cur.ctx = enter(inst, f, &[])?,
        None => advance(inst, &mut cur)?,
    }
    Ok(cur)
}

/// Sets up the next call of the run.
fn advance(inst: &mut Instance<'_, SecurePlatform>, cur: &mut Cursor) -> Result<(), Stop> {
    match core::mem::replace(&mut cur.next, Next::Nothing) {
        Next::Nothing => {}
        Next::Command => cur.ctx = enter(inst, main_index(inst)?, &[])?,
        Next::Export(index, args) => {
            cur.ctx = enter(inst, index, &args)?;
            cur.export = Some(index);
        }
    }
    Ok(())
}

/// Runs a prepared run until it returns, stops, or has to wait for the output ring. When an
/// export returns, its results are printed on stdout as iwasm prints them.
pub fn resume(inst: &mut Instance<'_, SecurePlatform>, cur: &mut Cursor) -> Step {
    inst.platform.activate();
    loop {
        match resume_ctx(inst, &mut cur.ctx) {
            Step::Finished(Ok(())) if !matches!(cur.next, Next::Nothing) => {
                if let Err(stop) = advance(inst, cur) {
                    return Step::Finished(Err(stop));
                }
            }
            Step::Finished(Ok(())) => {
                if let Some(index) = cur.export.take() {
                    let q0 = cur.ctx.q[0];
                    let regs = CallRegs {
                        ret_int: [cur.ctx.x[0], cur.ctx.x[1]],
                        ret_vec: [q0 as u64, (q0 >> 64) as u64],
                        ..CallRegs::default()
                    };
                    let line = inst
                        .finish_call(index, &regs)
                        .and_then(|r| Ok(abi::format_results(&r)?));
                    match line {
                        Ok(line) => {
                            let wasi = &mut inst.platform.wasi;
                            if !(wasi.queue_stdout(line.as_bytes()) && wasi.queue_stdout(b"\n")) {
                                return Step::Finished(Err(Trap::Message(text(format_args!(
                                    "allocate memory failed"
                                )))
                                .into()));
                            }
                        }
                        Err(stop) => return Step::Finished(Err(stop)),
                    }
                }
                return Step::Finished(Ok(()));
            }
            other => return other,
        }
    }
}

/// Runs module code from `ctx` at S-EL0, serving helper and import SVCs, until the call
/// returns, stops, or has to wait for the output ring.
fn resume_ctx(inst: &mut Instance<'_, SecurePlatform>, ctx: &mut UserContext) -> Step {
    // The module runs in its own address space, which also stays installed while the payload
    // serves its SVCs (helpers reach module memory through the windows' VAs).
    inst.platform.activate();
    loop {
        match crate::el0::run(ctx) {
            UserExit::Svc { imm: 0 } => {
                let id = ctx.x[16];
                if id == RETURN_ID {
                    return Step::Finished(Ok(()));
                }
                let args: [u64; 8] = ctx.x[..8].try_into().unwrap_or([0; 8]);
                match inst.dispatch(id, &args) {
                    Ok(v) => ctx.x[0] = v,
                    Err(Stop::Interrupted) => {
                        // A long helper stopped between chunks for a pending normal-world
                        // interrupt; the instance keeps its progress. Rewinding to the `svc`
                        // re-issues the same call with the same registers on RESUME, and it
                        // continues where it stopped.
                        ctx.pc -= 4;
                        return Step::Interrupted;
                    }
                    Err(Stop::Pending) => {
                        // Issue the same `svc` again on resume: the stub's registers are
                        // all still in ctx, and the call had no effect.
                        ctx.pc -= 4;
                        if inst.platform.wasi.take_sleep_cut() {
                            return Step::Interrupted;
                        }
                        return Step::Paused;
                    }
                    Err(stop) => return Step::Finished(Err(stop)),
                }
            }
            UserExit::Svc { imm } => {
                return Step::Finished(Err(Trap::Message(text(format_args!(
                    "unexpected svc #{imm}"
                )))
                .into()))
            }
            UserExit::Fault { esr, far } => {
                return Step::Finished(Err(inst.fault(far).unwrap_or_else(|| {
                    let at = if esr.far_valid() {
                        inst.platform.describe(far)
                    } else {
                        text(format_args!("no fault address"))
                    };
                    Trap::Message(text(format_args!("module fault: {esr}, at {at}"))).into()
                })))
            }
            UserExit::Interrupt => return Step::Interrupted,
            UserExit::Fatal { kind } => {
                return Step::Finished(Err(Trap::Message(text(format_args!(
                    "fatal exception kind {kind}"
                )))
                .into()))
            }
        }
    }
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

/// CPUs executing module code right now.
pub static RUNS_NOW: AtomicU64 = AtomicU64::new(0);
/// The most CPUs seen executing module code at once since boot (STATS page 4; test builds
/// let a module read it through `clock_time_get`).
pub static RUNS_PEAK: AtomicU64 = AtomicU64::new(0);

/// Module code runs between these: counts the CPUs doing so at once.
pub fn running<R>(f: impl FnOnce() -> R) -> R {
    let now = RUNS_NOW.fetch_add(1, Ordering::AcqRel) + 1;
    RUNS_PEAK.fetch_max(now, Ordering::AcqRel);
    let r = f();
    RUNS_NOW.fetch_sub(1, Ordering::AcqRel);
    r
}
