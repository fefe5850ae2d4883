//! The payload's address space: builds the translation tables for the image, the per-CPU
//! stacks (with unmapped guard pages), the table pool, the static pool and the secure UART,
//! then turns the MMU on for each CPU. Uses the `tzwasm-mmu` crate, which enforces W^X.

use crate::console::SECURE_UART_BASE;
use spin::Mutex;
use tzwasm_firmware::layout::{
    CPU_STACKS_SIZE, EXCEPTION_STACK_OFFSET, EXCEPTION_STACK_SIZE, MAIN_STACK_OFFSET, MAX_CPUS,
    PAGE_SIZE, STACK_SIZE, XLAT_PAGES,
};
use tzwasm_mmu::arch::{self, EnableOptions, HwTlb};
use tzwasm_mmu::{Attributes, Error, FixedPool, PageTables, TablePage};

/// Translation-table pages, in their own NOLOAD section (linker/bl32.ld).
#[unsafe(link_section = ".xlat")]
static mut XLAT_POOL: [TablePage; XLAT_PAGES] = [TablePage::ZERO; XLAT_PAGES];

type Tables = PageTables<FixedPool<'static>, HwTlb>;

/// The one address space all CPUs share; later issues map shared memory and module text here.
static TABLES: Mutex<Option<Tables>> = Mutex::new(None);

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
    Ok(())
}

/// Builds the tables and turns the MMU on for the primary CPU. Called once, MMU off.
pub fn init_primary() {
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
    *TABLES.lock() = Some(pt);
    // SAFETY: the tables identity-map the code, stacks, data and tables with the right
    // attributes (built above and verified), and the MMU is off on this CPU.
    unsafe { arch::enable(root, EnableOptions::default()) };
    log::info!(
        "MMU on: {} of {XLAT_PAGES} table pages used",
        TABLES.lock().as_ref().map_or(0, |t| t.allocator().in_use())
    );
}

/// Turns the MMU on for a secondary CPU with the primary's tables.
pub fn init_secondary() {
    let root = TABLES.lock().as_ref().map(|t| t.root_pa());
    match root {
        // SAFETY: the primary built and verified these tables; this CPU's MMU is off.
        Some(root) => unsafe { arch::enable(root, EnableOptions::default()) },
        None => panic!("secondary CPU started before the primary built the tables"),
    }
}
