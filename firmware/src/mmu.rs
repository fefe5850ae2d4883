//! The payload's address space and the module address spaces: builds the translation tables
//! for the image, the per-CPU stacks (with unmapped guard pages), the table pool, the static
//! pool and the secure UART, then turns the MMU on for each CPU; makes, installs and ends the
//! per-session module address spaces ([`UserSpace`]: own root, own ASID, table pages from the
//! secure pool). Uses the `tzwasm-mmu` crate, which enforces W^X.
//!
//! Every root is a level 0 table whose entry 0 links the payload's one level 1 table (global,
//! EL1-only mappings), so the payload runs the same in every space. A CPU has a module space
//! installed only while it works for that space's session; [`leave_user_space`] puts the
//! payload's own root (ASID 0, no window area) back before the CPU returns to the normal
//! world, and [`destroy_space`] before a space's tables and ASID are freed.

use crate::console::SECURE_UART_BASE;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use tzwasm_firmware::layout::{
    CPU_STACKS_SIZE, EXCEPTION_STACK_OFFSET, EXCEPTION_STACK_SIZE, MAIN_STACK_OFFSET, MAX_CPUS,
    PAGE_SIZE, STACK_SIZE, XLAT_PAGES,
};
use tzwasm_mmu::arch::{self, EnableOptions, HwTlb};
use tzwasm_mmu::{
    AddressSpace, AsidAllocator, Attributes, Error, FixedPool, PageTables, TableAllocator,
    TablePage,
};

/// Translation-table pages, in their own NOLOAD section (linker/bl32.ld).
#[unsafe(link_section = ".xlat")]
static mut XLAT_POOL: [TablePage; XLAT_PAGES] = [TablePage::ZERO; XLAT_PAGES];

/// GICv2 distributor and CPU interface on QEMU virt (used once interrupts are routed).
const GIC_BASE: u64 = 0x0800_0000;
const GIC_SIZE: u64 = 0x2_0000;

type Tables = PageTables<FixedPool<'static>, HwTlb>;

/// The payload's own tables (identity map: image, stacks, pools, devices, shared memory),
/// linked from every root. Only touched with the MMU (and so the caches and exclusive
/// monitors) on.
static TABLES: Mutex<Option<Tables>> = Mutex::new(None);

/// The payload's level 0 root (ASID 0): `TTBR0_EL1` when no module space is installed. Read
/// by secondary CPUs with their MMU and caches still off: a plain word, cleaned to memory by
/// the primary after writing it.
static ROOT_PA: AtomicU64 = AtomicU64::new(0);

/// The payload's level 1 table, which every module space's root links.
static KERNEL_L1: AtomicU64 = AtomicU64::new(0);

/// ASIDs of the module address spaces (8- or 16-bit, from `ID_AA64MMFR0_EL1`).
static ASIDS: Mutex<AsidAllocator> = Mutex::new(AsidAllocator::new(false));

/// A module address space: a session's S-EL0 windows, table pages from the secure pool.
pub type UserSpace = AddressSpace<PoolTables, HwTlb>;

/// Translation-table pages of one module space, each a 4 KiB page of the secure pool (so
/// they count in its usage, and the number of sessions is not bounded by `XLAT_PAGES`).
/// Identity-mapped: a page's PA is its address. `pages` (sorted) says which PAs are ours.
pub struct PoolTables {
    pages: alloc::vec::Vec<u64>,
    /// Whose quota the pages are charged to (the session that made the space).
    owner: tzwasm_firmware::pool::Owner,
}

fn page_layout() -> core::alloc::Layout {
    core::alloc::Layout::new::<TablePage>()
}

impl TableAllocator for PoolTables {
    fn allocate(&mut self) -> Option<u64> {
        self.pages.try_reserve(1).ok()?;
        let p = crate::heap::POOL.try_alloc_for(page_layout(), self.owner)?;
        let pa = p.as_ptr() as u64;
        // SAFETY: a fresh, page-aligned pool allocation of one page, identity-mapped RW
        // Normal memory, ours alone.
        unsafe { arch::zero_range(pa, PAGE_SIZE as u64) };
        let at = self.pages.binary_search(&pa).unwrap_or_else(|i| i);
        self.pages.insert(at, pa);
        Some(pa)
    }

    fn free(&mut self, pa: u64) {
        if let Ok(i) = self.pages.binary_search(&pa) {
            self.pages.remove(i);
            if let Some(p) = core::ptr::NonNull::new(pa as *mut u8) {
                // SAFETY: `pa` came from POOL.try_alloc_for with this layout and owner in
                // allocate().
                unsafe { crate::heap::POOL.free_for(p, page_layout(), self.owner) };
            }
        }
    }

    fn table(&self, pa: u64) -> Option<&TablePage> {
        self.pages.binary_search(&pa).ok()?;
        // SAFETY: `pa` is one of our pool pages (identity-mapped, aligned, live until freed
        // through &mut self).
        Some(unsafe { &*(pa as *const TablePage) })
    }

    fn table_mut(&mut self, pa: u64) -> Option<&mut TablePage> {
        self.pages.binary_search(&pa).ok()?;
        // SAFETY: as in table(); exclusive through &mut self.
        Some(unsafe { &mut *(pa as *mut TablePage) })
    }
}

impl Drop for PoolTables {
    fn drop(&mut self) {
        while let Some(&pa) = self.pages.last() {
            self.free(pa);
        }
    }
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __bss_end: u8;
    static __stacks_start: u8;
    static __pool_start: u8;
    static __pool_end: u8;
}

fn addr(sym: *const u8) -> u64 {
    sym as u64
}

fn build(pt: &mut Tables) -> Result<(), Error> {
    let text = addr(core::ptr::addr_of!(__text_start));
    let text_end = addr(core::ptr::addr_of!(__text_end));
    let rodata = addr(core::ptr::addr_of!(__rodata_start));
    let rodata_end = addr(core::ptr::addr_of!(__rodata_end));
    let data = addr(core::ptr::addr_of!(__data_start));
    let bss_end = addr(core::ptr::addr_of!(__bss_end));
    let stacks = addr(core::ptr::addr_of!(__stacks_start));
    let pool = addr(core::ptr::addr_of!(__pool_start));
    let pool_end = addr(core::ptr::addr_of!(__pool_end));
    let xlat = addr(core::ptr::addr_of!(XLAT_POOL).cast());

    pt.map_identity(text, text_end - text, Attributes::KERNEL_TEXT)?;
    pt.map_identity(rodata, rodata_end - rodata, Attributes::KERNEL_RODATA)?;
    pt.map_identity(data, bss_end - data, Attributes::KERNEL_DATA)?;
    for cpu in 0..MAX_CPUS as u64 {
        // The guard page below each stack stays unmapped.
        let block = stacks + cpu * CPU_STACKS_SIZE as u64;
        pt.map_identity(
            block + MAIN_STACK_OFFSET as u64,
            STACK_SIZE as u64,
            Attributes::KERNEL_DATA,
        )?;
        pt.map_identity(
            block + EXCEPTION_STACK_OFFSET as u64,
            EXCEPTION_STACK_SIZE as u64,
            Attributes::KERNEL_DATA,
        )?;
    }
    pt.map_identity(
        xlat,
        (XLAT_PAGES * PAGE_SIZE) as u64,
        Attributes::KERNEL_DATA,
    )?;
    pt.map_identity(pool, pool_end - pool, Attributes::KERNEL_DATA)?;
    pt.map_identity(
        SECURE_UART_BASE as u64,
        PAGE_SIZE as u64,
        Attributes::DEVICE,
    )?;
    pt.map_identity(GIC_BASE, GIC_SIZE, Attributes::DEVICE)?;
    Ok(())
}

/// Builds the tables and turns the MMU on for the primary CPU. Called once, MMU off. Returns
/// the number of table pages in use.
///
/// Its panics are boot failures, before the normal world exists (no input reaches them): the
/// panic handler records them and every later call answers FAILED.
#[allow(clippy::panic)]
pub fn init_primary() -> usize {
    let xlat = core::ptr::addr_of_mut!(XLAT_POOL);
    let base = xlat as u64;
    // SAFETY: nothing has been written to the pool yet, so discarding cache lines over it
    // loses nothing; afterwards the table walker sees what we write with caches off.
    unsafe { arch::invalidate_dcache_range(base, (XLAT_PAGES * PAGE_SIZE) as u64) };
    // SAFETY: this is the only reference ever made to XLAT_POOL, created once on the primary
    // CPU before any other CPU runs.
    let pages: &'static mut [TablePage] = unsafe { &mut *xlat };
    let mut pt = match PageTables::new(FixedPool::new(pages, base), HwTlb) {
        Ok(pt) => pt,
        Err(e) => panic!("cannot allocate the root table: {e}"),
    };
    if let Err(e) = build(&mut pt) {
        panic!("cannot build the payload's address space: {e}");
    }
    if let Err((va, e)) = pt.verify() {
        panic!("payload address space violates the MMU policy at {va:#x}: {e}");
    }
    let root = match pt.make_level0_root() {
        Ok(r) => r,
        Err(e) => panic!("cannot allocate the level 0 root: {e}"),
    };
    *ASIDS.lock() = AsidAllocator::new(arch::sixteen_bit_asids());
    KERNEL_L1.store(pt.root_pa(), Ordering::Release);
    // SAFETY: the tables identity-map the code, stacks, data and tables with the right
    // attributes (built above and verified), and the MMU is off on this CPU.
    unsafe { arch::enable(root, ENABLE) };
    ROOT_PA.store(root, Ordering::Release);
    arch::clean_dcache_range(ROOT_PA.as_ptr() as u64, 8);
    let used = pt.allocator().in_use();
    *TABLES.lock() = Some(pt);
    used
}

/// Turns the MMU on for a secondary CPU with the primary's tables. Takes no lock: with the MMU
/// off, memory is Device memory, where exclusive accesses are not reliable.
///
/// Panics only if TF-A starts a secondary CPU before the primary booted (a boot-order bug,
/// not input).
#[allow(clippy::panic)]
pub fn init_secondary() {
    let root = ROOT_PA.load(Ordering::Acquire);
    if root == 0 {
        panic!("secondary CPU started before the primary built the tables");
    }
    // SAFETY: the primary built and verified these tables; this CPU's MMU is off.
    unsafe { arch::enable(root, ENABLE) };
}

/// How every CPU turns its MMU on: W^X backstop, level 0 roots with ASIDs.
const ENABLE: EnableOptions = EnableOptions {
    wxn: true,
    address_spaces: true,
};

/// A new, empty module address space with a fresh ASID; its table pages are charged to
/// `owner` (the session's account; the kernel's for TEST_EL0).
pub fn new_space(owner: tzwasm_firmware::pool::Owner) -> Result<UserSpace, Error> {
    let asid = ASIDS.lock().allocate().ok_or(Error::AsidsExhausted)?;
    let kernel_l1 = KERNEL_L1.load(Ordering::Acquire);
    let tables = PoolTables {
        pages: alloc::vec::Vec::new(),
        owner,
    };
    AddressSpace::new(tables, HwTlb, asid, kernel_l1).inspect_err(|_| {
        ASIDS.lock().release(asid, &mut HwTlb);
    })
}

/// Installs `space` on this CPU (if it is not installed already): from here until
/// [`leave_user_space`], EL0 on this CPU sees only that space's windows, and the payload
/// reaches them at their window VAs.
pub fn activate(space: &UserSpace) {
    let ttbr = space.ttbr();
    if arch::ttbr0() != ttbr {
        // SAFETY: the space's root links the payload's tables (AddressSpace::new), and the
        // space stays alive while installed: it is uninstalled before it is destroyed
        // (destroy_space) and before this CPU leaves the secure world (leave_user_space).
        unsafe { arch::install_ttbr0(ttbr) };
    }
    note_installed(ttbr);
}

/// The module space each CPU has installed (its `TTBR0_EL1` value; 0: the payload's own), so
/// that [`destroy_space`] can check no CPU still walks the tables it frees.
static INSTALLED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

fn note_installed(ttbr: u64) {
    if let Some(slot) = INSTALLED.get(crate::arch::current_cpu()) {
        slot.store(ttbr, Ordering::Release);
    }
}

/// For crash reports: this CPU's `TTBR0_EL1` and the payload's own root.
pub fn crash_facts() -> (u64, u64) {
    (arch::ttbr0(), ROOT_PA.load(Ordering::Relaxed))
}

/// Puts the payload's own root (ASID 0, nothing in the window area) back on this CPU.
/// Called before every return to the normal world, so no CPU keeps a session's space
/// installed while it is not working for that session.
pub fn leave_user_space() {
    let root = ROOT_PA.load(Ordering::Relaxed);
    if root != 0 && arch::ttbr0() != root {
        // SAFETY: the payload's own root, built at boot and never freed.
        unsafe { arch::install_ttbr0(root) };
    }
    note_installed(0);
}

/// Ends `space`: uninstalls it from this CPU, invalidates its ASID on every CPU, frees its
/// table pages and only then returns the ASID. Its windows should be unmapped (pages freed
/// by their owner) already; whatever tables remain are freed anyway.
pub fn destroy_space(space: UserSpace) {
    if arch::ttbr0() == space.ttbr() {
        leave_user_space();
    }
    // The session machine releases a CPU's space before it releases the session
    // (`Engine::release_cpu`), so no other CPU can have it installed here. Should one still,
    // its tables are leaked rather than freed under it (the pool checks then show the leak).
    if let Some(cpu) = INSTALLED
        .iter()
        .position(|slot| slot.load(Ordering::Acquire) == space.ttbr())
    {
        log::error!(
            "address space {:#x} is still installed on CPU {cpu}: its tables are leaked, not freed",
            space.ttbr()
        );
        core::mem::forget(space);
        return;
    }
    drop(space.destroy(&mut ASIDS.lock()));
}

/// Maps `[pa, pa + len)` of normal-world memory (NS=1, never executable) for the duration of
/// `f`, which sees it as bytes, then unmaps it. For data the payload reads once (the DTB).
pub fn with_ns_mapping<R>(pa: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> Result<R, Error> {
    let page = PAGE_SIZE as u64;
    let base = pa & !(page - 1);
    let end = pa
        .checked_add(len)
        .and_then(|e| e.checked_next_multiple_of(page))
        .ok_or(Error::InvalidRange)?;
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.map_identity(base, end - base, Attributes::NS_SHARED)?;
    // SAFETY: the range was just mapped readable for EL1 and stays mapped until the unmap
    // below; nothing else in the payload writes it.
    let bytes = unsafe { core::slice::from_raw_parts(pa as *const u8, len as usize) };
    let r = f(bytes);
    pt.unmap(base, end - base)?;
    Ok(r)
}

/// Makes instructions written through the payload's own mapping of `[va, va + len)` visible
/// to instruction fetch through any other mapping of the same memory: clean the data cache to
/// the point of unification, then invalidate all instruction caches (Inner Shareable).
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_EL0 now; module loading next
pub fn publish_code(va: u64, len: u64) {
    arch::clean_dcache_range(va, len);
    // SAFETY: instruction-cache invalidation has no effect on data.
    unsafe { core::arch::asm!("ic ialluis", "dsb ish", "isb", options(nostack)) };
}

/// Maps a registered normal-world range at VA == PA: NS=1, Normal write-back (the attributes
/// Linux uses for RAM), EL1 RW, never executable.
pub fn map_ns_shared(pa: u64, len: u64) -> Result<(), Error> {
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.map_identity(pa, len, Attributes::NS_SHARED)
}

/// Unmaps a range mapped by [`map_ns_shared`].
pub fn unmap_ns_shared(pa: u64, len: u64) -> Result<(), Error> {
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.unmap(pa, len)
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; LOAD/RUN next
/// Cleans the data cache over `[va, va + len)` (code just written through that mapping) to
/// the point of unification.
pub fn clean_code(va: u64, len: u64) {
    arch::clean_dcache_range(va, len);
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; LOAD/RUN next
/// Invalidates all instruction caches of the Inner Shareable domain.
pub fn invalidate_icache() {
    // SAFETY: instruction-cache invalidation has no effect on data.
    unsafe { core::arch::asm!("dsb ish", "ic ialluis", "dsb ish", "isb", options(nostack)) };
}

/// Maps one page of normal-world MMIO at `pa` (NS=1, Device-nGnRE, EL1 RW, never executable)
/// for the duration of `f`, then unmaps it. For reading a platform device once at boot.
pub fn with_ns_device<R>(pa: u64, f: impl FnOnce(u64) -> R) -> Result<R, Error> {
    let attrs = Attributes {
        non_secure: true,
        ..Attributes::DEVICE
    };
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.map_identity(pa, PAGE_SIZE as u64, attrs)?;
    let r = f(pa);
    pt.unmap(pa, PAGE_SIZE as u64)?;
    Ok(r)
}

/// Maps the secure page at `pa` (NS=0, Device-nGnRE, EL1 read-only, never executable) for the
/// duration of `f`, then unmaps it (the unmap invalidates its TLB entries). For the device
/// page in secure flash, read once at boot (only by an image with attestation).
#[cfg(feature = "attestation")]
pub fn with_secure_page_ro<R>(pa: u64, f: impl FnOnce(u64) -> R) -> Result<R, Error> {
    let attrs = Attributes {
        access: tzwasm_mmu::Access::KernelRo,
        ..Attributes::DEVICE
    };
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.map_identity(pa, PAGE_SIZE as u64, attrs)?;
    let r = f(pa);
    pt.unmap(pa, PAGE_SIZE as u64)?;
    arch::flush_tlb_range(pa, PAGE_SIZE as u64);
    Ok(r)
}
