//! The payload's address space: builds the translation tables for the image, the per-CPU
//! stacks (with unmapped guard pages), the table pool, the static pool and the secure UART,
//! then turns the MMU on for each CPU. Uses the `tzwasm-mmu` crate, which enforces W^X.

use crate::console::SECURE_UART_BASE;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;
use tzwasm_firmware::layout::{
    CPU_STACKS_SIZE, EXCEPTION_STACK_OFFSET, EXCEPTION_STACK_SIZE, MAIN_STACK_OFFSET, MAX_CPUS,
    PAGE_SIZE, STACK_SIZE, XLAT_PAGES,
};
use tzwasm_mmu::arch::{self, EnableOptions, HwTlb};
use tzwasm_mmu::{Attributes, Error, FixedPool, PageTables, TablePage, VaWindows};

/// Translation-table pages, in their own NOLOAD section (linker/bl32.ld).
#[unsafe(link_section = ".xlat")]
static mut XLAT_POOL: [TablePage; XLAT_PAGES] = [TablePage::ZERO; XLAT_PAGES];

/// GICv2 distributor and CPU interface on QEMU virt (used once interrupts are routed).
const GIC_BASE: u64 = 0x0800_0000;
const GIC_SIZE: u64 = 0x2_0000;

type Tables = PageTables<FixedPool<'static>, HwTlb>;

/// The one address space all CPUs share; later issues map shared memory and module text here.
/// Only touched with the MMU (and so the caches and exclusive monitors) on.
static TABLES: Mutex<Option<Tables>> = Mutex::new(None);

/// VA windows (VA != PA) for S-EL0 mappings: module text, data, stacks.
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_EL0 now; module loading next
static WINDOWS: Mutex<VaWindows<32>> = Mutex::new(VaWindows::new());

/// Root table address for secondary CPUs, which read it with their MMU and caches still off:
/// a plain word, cleaned to memory by the primary after writing it.
static ROOT_PA: AtomicU64 = AtomicU64::new(0);

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
    let root = pt.root_pa();
    // SAFETY: the tables identity-map the code, stacks, data and tables with the right
    // attributes (built above and verified), and the MMU is off on this CPU.
    unsafe { arch::enable(root, EnableOptions::default()) };
    ROOT_PA.store(root, Ordering::Release);
    arch::clean_dcache_range(ROOT_PA.as_ptr() as u64, 8);
    let used = pt.allocator().in_use();
    *TABLES.lock() = Some(pt);
    used
}

/// Turns the MMU on for a secondary CPU with the primary's tables. Takes no lock: with the MMU
/// off, memory is Device memory, where exclusive accesses are not reliable.
pub fn init_secondary() {
    let root = ROOT_PA.load(Ordering::Acquire);
    if root == 0 {
        panic!("secondary CPU started before the primary built the tables");
    }
    // SAFETY: the primary built and verified these tables; this CPU's MMU is off.
    unsafe { arch::enable(root, EnableOptions::default()) };
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

/// Maps `len` bytes of secure memory at `pa` (page-aligned, owned by the caller) into a fresh
/// VA window with `attrs` (a USER_* preset); returns the window's base VA.
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_EL0 now; module loading next
pub fn map_window(pa: u64, len: u64, attrs: Attributes) -> Result<u64, Error> {
    let window = WINDOWS.lock().reserve(len)?;
    let mut guard = TABLES.lock();
    let Some(pt) = guard.as_mut() else {
        return Err(Error::InvalidRange);
    };
    if let Err(e) = pt.map(window.base, pa, len, attrs) {
        let _ = WINDOWS.lock().release(window.base);
        return Err(e);
    }
    Ok(window.base)
}

/// Unmaps a window made by [`map_window`] (TLBs invalidated) and releases its VA range.
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_EL0 now; module loading next
pub fn unmap_window(va: u64, len: u64) -> Result<(), Error> {
    if let Some(pt) = TABLES.lock().as_mut() {
        pt.unmap(va, len)?;
    }
    WINDOWS.lock().release(va).map(|_| ())
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
/// Reserves an unmapped VA window of at least `len` bytes (guard gaps around it); its base.
pub fn reserve_window(len: u64) -> Result<u64, Error> {
    WINDOWS.lock().reserve(len).map(|w| w.base)
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; LOAD/RUN next
/// Releases a window reserved by [`reserve_window`] (whatever is still mapped in it must have
/// been unmapped first).
pub fn release_window(va: u64) -> Result<(), Error> {
    WINDOWS.lock().release(va).map(|_| ())
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; LOAD/RUN next
/// Maps `[pa, pa + len)` at `va` (inside a reserved window) with `attrs`.
pub fn map_at(va: u64, pa: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.map(va, pa, len, attrs)
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; LOAD/RUN next
/// Changes the permissions of a mapped range (W^X still enforced by the table builder).
pub fn protect(va: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.protect(va, len, attrs)
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; LOAD/RUN next
/// Unmaps `[va, va + len)` (TLBs invalidated).
pub fn unmap(va: u64, len: u64) -> Result<(), Error> {
    let mut guard = TABLES.lock();
    let pt = guard.as_mut().ok_or(Error::InvalidRange)?;
    pt.unmap(va, len)
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
