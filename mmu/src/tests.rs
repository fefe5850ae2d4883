//! Host tests of the descriptor encoding, the W^X policy, the table builder and windows.

use crate::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
const POOL_PA: u64 = 0x0e80_0000;
/// The upper half of a 39-bit `PageTables` space (VA != PA there), for builder tests.
const HIGH_HALF: u64 = 1 << 38;

/// W^X oracle on raw descriptor bits, independent of `Attributes`.
fn raw_policy_ok(d: u64) -> bool {
    let ap_ro = d & (1 << 7) != 0;
    let ap_el0 = d & (1 << 6) != 0;
    let pxn = d & (1 << 53) != 0;
    let uxn = d & (1 << 54) != 0;
    let ns = d & (1 << 5) != 0;
    let attr_idx = (d >> 2) & 0b111;
    let el1_w = !ap_ro;
    let el0_w = !ap_ro && ap_el0;
    let el1_x = !pxn;
    let el0_x = !uxn;
    let writable = el1_w || el0_w;
    let exec = el1_x || el0_x;
    let device = attr_idx == 1;
    let forbidden = [
        writable && exec,
        el0_w && !pxn, // EL0-writable must be PXN too
        ns && exec,
        device && exec,
        el1_x && ap_el0, // EL1 never executes EL0-accessible memory
    ];
    !forbidden.contains(&true) && d & (1 << 10) != 0 && d & 0b11 == 0b11 // AF, valid page
}

fn all_attrs() -> Vec<Attributes> {
    let mut v = Vec::new();
    for memory in [
        MemoryType::Normal,
        MemoryType::NormalNonCacheable,
        MemoryType::Device,
    ] {
        for access in [
            Access::KernelRo,
            Access::KernelRw,
            Access::UserRo,
            Access::UserRw,
        ] {
            for exec in [Exec::Never, Exec::Kernel, Exec::User] {
                for non_secure in [false, true] {
                    v.push(Attributes {
                        memory,
                        access,
                        exec,
                        non_secure,
                    });
                }
            }
        }
    }
    v
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Publish,
    Invalidate(u64, u64),
    InvalidateAsid(u16, u64, u64),
    FlushAsid(u16),
    Alloc(u64),
    Free(u64),
}

type Log = Rc<RefCell<Vec<Event>>>;

struct RecTlb(Log);
impl TlbMaintenance for RecTlb {
    fn publish(&mut self) {
        self.0.borrow_mut().push(Event::Publish);
    }
    fn invalidate(&mut self, va: u64, len: u64) {
        self.0.borrow_mut().push(Event::Invalidate(va, len));
    }
}

/// Host fake allocator: a `FixedPool` that logs allocations and frees.
struct RecPool<'a>(FixedPool<'a>, Log);
impl TableAllocator for RecPool<'_> {
    fn allocate(&mut self) -> Option<u64> {
        let pa = self.0.allocate()?;
        self.1.borrow_mut().push(Event::Alloc(pa));
        Some(pa)
    }
    fn free(&mut self, pa: u64) {
        self.1.borrow_mut().push(Event::Free(pa));
        self.0.free(pa)
    }
    fn table(&self, pa: u64) -> Option<&TablePage> {
        self.0.table(pa)
    }
    fn table_mut(&mut self, pa: u64) -> Option<&mut TablePage> {
        self.0.table_mut(pa)
    }
}

/// Tables whose allocator and TLB hook both log to `log`.
fn recorded<'a>(pool: &'a mut [TablePage], log: &Log) -> PageTables<RecPool<'a>, RecTlb> {
    PageTables::new(
        RecPool(FixedPool::new(pool, POOL_PA), log.clone()),
        RecTlb(log.clone()),
    )
    .unwrap()
}

fn pages(n: usize) -> Vec<TablePage> {
    vec![TablePage::ZERO; n]
}

fn new_pt(pool: &mut [TablePage]) -> PageTables<FixedPool<'_>, ()> {
    PageTables::new(FixedPool::new(pool, POOL_PA), ()).unwrap()
}

fn snapshot<A: TableAllocator, T: TlbMaintenance>(pt: &PageTables<A, T>) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    pt.for_each_page(|va, d| {
        m.insert(va, d);
    })
    .unwrap();
    m
}

// ---------------------------------------------------------------------------------------
// Encodings

#[test]
fn mair_value() {
    assert_eq!(MAIR_EL1_VALUE, 0x0044_04FF);
    assert_eq!(MAIR_EL1_VALUE & 0xFF, 0xFF); // idx 0: Normal WB RAWA inner+outer
    assert_eq!((MAIR_EL1_VALUE >> 8) & 0xFF, 0x04); // idx 1: Device-nGnRE
    assert_eq!((MAIR_EL1_VALUE >> 16) & 0xFF, 0x44); // idx 2: Normal NC
}

/// Descriptors worked out by hand from the Arm ARM's stage 1 page descriptor layout:
/// [1:0]=0b11 page, [4:2] AttrIndx, [5] NS, [7:6] AP[2:1], [9:8] SH, [10] AF, [53] PXN,
/// [54] UXN.
#[test]
fn descriptor_bits_exact() {
    let cases = [
        // AP=10 (EL1 RO), SH=11, AF, UXN only.
        (
            Attributes::KERNEL_TEXT,
            0x0e10_0000,
            0x0040_0000_0e10_0783u64,
        ),
        // AP=10, SH=11, AF, PXN+UXN.
        (
            Attributes::KERNEL_RODATA,
            0x0e14_0000,
            0x0060_0000_0e14_0783,
        ),
        // AP=00 (EL1 RW), SH=11, AF, PXN+UXN.
        (Attributes::KERNEL_DATA, 0x0e16_0000, 0x0060_0000_0e16_0703),
        // AttrIndx=1 (bits 4:2 = 001), SH=00, AF, AP=00, PXN+UXN.
        (Attributes::DEVICE, 0x0904_0000, 0x0060_0000_0904_0407),
        // NS (bit 5), SH=11, AF, AP=00, PXN+UXN.
        (Attributes::NS_SHARED, 0x4800_0000, 0x0060_0000_4800_0723),
        // AP=11 (EL1+EL0 RO), SH=11, AF, PXN only.
        (Attributes::USER_TEXT, 0x0ea0_0000, 0x0020_0000_0ea0_07c3),
        // AP=11, PXN+UXN.
        (Attributes::USER_RODATA, 0x0ea0_1000, 0x0060_0000_0ea0_17c3),
        // AP=01 (EL1+EL0 RW), PXN+UXN.
        (Attributes::USER_DATA, 0x0e90_0000, 0x0060_0000_0e90_0743),
        // AttrIndx=2 (bits 4:2 = 010).
        (
            Attributes::secure(
                MemoryType::NormalNonCacheable,
                Access::KernelRw,
                Exec::Never,
            ),
            0x0e20_0000,
            0x0060_0000_0e20_070b,
        ),
        // High output address: bits [47:12] all used.
        (
            Attributes::KERNEL_DATA,
            0xffff_ffff_f000,
            0x0060_ffff_ffff_f703,
        ),
    ];
    for (attrs, pa, want) in cases {
        assert_eq!(attrs.page_descriptor(pa), want, "{attrs:?}");
        assert_eq!(Attributes::decode(want), Some(attrs));
        assert!(attrs.check().is_ok());
        assert!(raw_policy_ok(want));
    }
}

#[test]
fn presets_pass_policy() {
    for a in [
        Attributes::KERNEL_TEXT,
        Attributes::KERNEL_RODATA,
        Attributes::KERNEL_DATA,
        Attributes::DEVICE,
        Attributes::NS_SHARED,
        Attributes::USER_TEXT,
        Attributes::USER_RODATA,
        Attributes::USER_DATA,
    ] {
        assert_eq!(a.check(), Ok(()), "{a:?}");
    }
}

/// Every combination: `check` accepts exactly what the raw-bit oracle calls safe, and
/// encode/decode round-trip.
#[test]
fn policy_matches_raw_oracle_exhaustively() {
    let mut accepted = 0;
    for a in all_attrs() {
        let d = a.page_descriptor(0x1234_5000);
        assert_eq!(Attributes::decode(d), Some(a));
        assert_eq!(d & desc::OA_MASK, 0x1234_5000);
        assert_eq!(a.check().is_ok(), raw_policy_ok(d), "{a:?} {d:#x}");
        accepted += a.check().is_ok() as u32;
    }
    // 3 memory types x 4 accesses x 2 NS never-executable, + Normal/NC secure: KernelRo
    // with Kernel or User exec, UserRo with User exec.
    assert_eq!(accepted, 3 * 4 * 2 + 2 * 3);
}

#[test]
fn policy_errors() {
    use Attributes as A;
    let cases = [
        (A::KERNEL_DATA.with_exec(Exec::Kernel), Error::WriteExecute),
        // EL0-writable + EL1-executable: PAN is not enough.
        (A::USER_DATA.with_exec(Exec::Kernel), Error::WriteExecute),
        // EL1-writable + EL0-executable.
        (A::KERNEL_DATA.with_exec(Exec::User), Error::WriteExecute),
        (A::USER_DATA.with_exec(Exec::User), Error::WriteExecute),
        (
            A {
                non_secure: true,
                ..A::KERNEL_TEXT
            },
            Error::NonSecureExecute,
        ),
        (
            A {
                non_secure: true,
                ..A::USER_TEXT
            },
            Error::NonSecureExecute,
        ),
        (
            A {
                memory: MemoryType::Device,
                ..A::KERNEL_TEXT
            },
            Error::DeviceExecute,
        ),
        (
            A {
                memory: MemoryType::Device,
                ..A::USER_TEXT
            },
            Error::DeviceExecute,
        ),
        (
            A::USER_RODATA.with_exec(Exec::Kernel),
            Error::KernelExecUserPage,
        ),
    ];
    for (a, e) in cases {
        assert_eq!(a.check(), Err(e), "{a:?}");
    }
}

#[test]
fn decode_rejects_foreign_descriptors() {
    assert_eq!(Attributes::decode(0), None);
    // Block/reserved encoding (bits[1:0] = 01).
    assert_eq!(
        Attributes::decode(Attributes::KERNEL_DATA.page_descriptor(0x1000) & !2),
        None
    );
    // AttrIndx 5 is not ours.
    assert_eq!(Attributes::decode(0x0060_0000_0000_0417), None);
    // Executable at both ELs is never written.
    assert_eq!(Attributes::decode(0x0000_0000_0000_0783), None);
}

#[test]
fn register_values() {
    use crate::regs::*;
    assert_eq!(T0SZ, 25);
    // PARange 0b100 (44 bits, Cortex-A57): IPS=100.
    let tcr = tcr_el1(0b100);
    assert_eq!(tcr & 0x3f, 25); // T0SZ
    assert_eq!((tcr >> 7) & 1, 0); // EPD0: walks enabled
    assert_eq!((tcr >> 8) & 3, 1); // IRGN0 WBWA
    assert_eq!((tcr >> 10) & 3, 1); // ORGN0 WBWA
    assert_eq!((tcr >> 12) & 3, 3); // SH0 inner
    assert_eq!((tcr >> 14) & 3, 0); // TG0 4K
    assert_eq!((tcr >> 22) & 1, 0); // A1: ASID from TTBR0
    assert_eq!((tcr >> 23) & 1, 1); // EPD1
    assert_eq!((tcr >> 30) & 3, 2); // TG1 4K
    assert_eq!((tcr >> 32) & 7, 0b100); // IPS
    assert_eq!((tcr >> 36) & 1, 0); // AS: 8-bit ASID
    assert_eq!((tcr >> 37) & 3, 0); // TBI0/1 off
    assert_eq!(tcr, 0x0000_0004_8099_3519);
    // 52-bit PARange is capped to 48 bits.
    assert_eq!((tcr_el1(0b110) >> 32) & 7, 0b101);

    let s = sctlr_el1(false);
    assert_eq!(s, 0x30d0_181d);
    assert_eq!(s & sctlr::A, 0, "alignment checks must stay off");
    assert_eq!(sctlr_el1(true), 0x30d8_181d);
}

// ---------------------------------------------------------------------------------------
// Builder

#[test]
fn map_query_identity_and_offset() {
    let mut pool = pages(16);
    let mut pt = new_pt(&mut pool);
    pt.map_identity(0x0e10_0000, 0x4000, Attributes::KERNEL_TEXT)
        .unwrap();
    pt.map(HIGH_HALF, 0x0e90_0000, 0x2000, Attributes::USER_DATA)
        .unwrap();
    let m = pt.query(0x0e10_1234).unwrap();
    assert_eq!(
        m,
        Mapping {
            pa: 0x0e10_1234,
            attrs: Attributes::KERNEL_TEXT
        }
    );
    let m = pt.query(HIGH_HALF + 0x1ff8).unwrap();
    assert_eq!(
        m,
        Mapping {
            pa: 0x0e90_1ff8,
            attrs: Attributes::USER_DATA
        }
    );
    assert_eq!(pt.query(0x0e10_4000), None);
    assert_eq!(pt.query(0x0e0f_f000), None);
    assert_eq!(pt.query(HIGH_HALF + 0x2000), None);
    assert_eq!(pt.query(VA_LIMIT), None);
    assert_eq!(pt.query(u64::MAX), None);
    // Root + (L2 + L3) for each of the two regions.
    assert_eq!(pt.allocator().in_use(), 5);
    assert_eq!(pt.verify(), Ok(()));
}

#[test]
fn root_table_layout() {
    let mut pool = pages(8);
    let mut pt = new_pt(&mut pool);
    assert_eq!(pt.root_pa(), POOL_PA);
    pt.map_identity(0x0904_0000, PAGE_SIZE, Attributes::DEVICE)
        .unwrap();
    let root = pt.allocator().table(pt.root_pa()).unwrap().0;
    // 0x0904_0000 -> L1 index 0, L2 index 72, L3 index 64.
    assert_eq!(root[0], (POOL_PA + 0x1000) | 0b11);
    assert!(root[1..].iter().all(|&d| d == 0));
    let l2 = pt.allocator().table(POOL_PA + 0x1000).unwrap().0;
    assert_eq!(l2[72], (POOL_PA + 0x2000) | 0b11);
    let l3 = pt.allocator().table(POOL_PA + 0x2000).unwrap().0;
    assert_eq!(l3[64], 0x0060_0000_0904_0407);
    assert_eq!(l3.iter().filter(|&&d| d != 0).count(), 1);
}

#[test]
fn argument_errors_change_nothing() {
    let mut pool = pages(8);
    let mut pt = new_pt(&mut pool);
    pt.map_identity(0x0e10_0000, 0x2000, Attributes::KERNEL_DATA)
        .unwrap();
    let before = snapshot(&pt);
    let k = Attributes::KERNEL_DATA;
    assert_eq!(pt.map(0x1001, 0x1000, 0x1000, k), Err(Error::Misaligned));
    assert_eq!(pt.map(0x1000, 0x1001, 0x1000, k), Err(Error::Misaligned));
    assert_eq!(pt.map(0x1000, 0x1000, 0x1001, k), Err(Error::Misaligned));
    assert_eq!(pt.map(0x1000, 0x1000, 0, k), Err(Error::InvalidRange));
    assert_eq!(
        pt.map(VA_LIMIT - 0x1000, 0, 0x2000, k),
        Err(Error::InvalidRange)
    );
    assert_eq!(pt.map(VA_LIMIT, 0, 0x1000, k), Err(Error::InvalidRange));
    assert_eq!(
        pt.map(u64::MAX - 0xfff, 0, 0x1000, k),
        Err(Error::InvalidRange)
    );
    assert_eq!(
        pt.map(0x1000, PA_LIMIT - 0x1000, 0x2000, k),
        Err(Error::InvalidRange)
    );
    assert_eq!(
        pt.map(0x1000, u64::MAX - 0xfff, 0x1000, k),
        Err(Error::InvalidRange)
    );
    assert_eq!(pt.unmap(0x1000, 0), Err(Error::InvalidRange));
    assert_eq!(pt.unmap(0x0e10_0800, 0x1000), Err(Error::Misaligned));
    assert_eq!(pt.protect(0x0e10_0000, 0x1800, k), Err(Error::Misaligned));
    // Overlap: the whole call is refused, and the first mapped VA is named.
    assert_eq!(
        pt.map_identity(0x0e0f_e000, 0x4000, k),
        Err(Error::AlreadyMapped(0x0e10_0000))
    );
    assert_eq!(
        pt.map(0x0e10_1000, 0x5000_0000, 0x1000, k),
        Err(Error::AlreadyMapped(0x0e10_1000))
    );
    // Unmap / protect with a hole.
    assert_eq!(
        pt.unmap(0x0e10_0000, 0x3000),
        Err(Error::NotMapped(0x0e10_2000))
    );
    assert_eq!(
        pt.unmap(0x0e0f_f000, 0x2000),
        Err(Error::NotMapped(0x0e0f_f000))
    );
    assert_eq!(
        pt.protect(0x0e10_1000, 0x2000, Attributes::KERNEL_RODATA),
        Err(Error::NotMapped(0x0e10_2000))
    );
    assert_eq!(pt.unmap(5 * GIB, 0x1000), Err(Error::NotMapped(5 * GIB)));
    assert_eq!(snapshot(&pt), before);
    assert_eq!(pt.allocator().in_use(), 3);
}

#[test]
fn wx_requests_refused_by_map_and_protect() {
    let mut pool = pages(8);
    let mut pt = new_pt(&mut pool);
    pt.map_identity(0x0e10_0000, 0x1000, Attributes::KERNEL_DATA)
        .unwrap();
    pt.map_identity(0x4000_0000, 0x1000, Attributes::NS_SHARED)
        .unwrap();
    pt.map_identity(0x0904_0000, 0x1000, Attributes::DEVICE)
        .unwrap();
    let before = snapshot(&pt);
    for a in all_attrs().into_iter().filter(|a| a.check().is_err()) {
        let e = a.check().unwrap_err();
        assert_eq!(pt.map_identity(0x0e20_0000, 0x1000, a), Err(e));
        for va in [0x0e10_0000, 0x4000_0000, 0x0904_0000] {
            assert_eq!(pt.protect(va, 0x1000, a), Err(e));
        }
    }
    assert_eq!(
        pt.map_identity(
            0x4000_1000,
            0x1000,
            Attributes::NS_SHARED
                .with_access(Access::UserRo)
                .with_exec(Exec::User)
        ),
        Err(Error::NonSecureExecute)
    );
    assert_eq!(snapshot(&pt), before);
}

#[test]
fn protect_keeps_type_and_ns() {
    let mut pool = pages(8);
    let mut pt = new_pt(&mut pool);
    pt.map_identity(0x4000_0000, 0x1000, Attributes::NS_SHARED)
        .unwrap();
    pt.map_identity(0x0e10_0000, 0x1000, Attributes::KERNEL_DATA)
        .unwrap();
    assert_eq!(
        pt.protect(0x4000_0000, 0x1000, Attributes::KERNEL_RODATA),
        Err(Error::TypeChange(0x4000_0000))
    );
    assert_eq!(
        pt.protect(0x0e10_0000, 0x1000, Attributes::DEVICE),
        Err(Error::TypeChange(0x0e10_0000))
    );
    // NS read-only is a permission change.
    let ns_ro = Attributes {
        access: Access::KernelRo,
        ..Attributes::NS_SHARED
    };
    pt.protect(0x4000_0000, 0x1000, ns_ro).unwrap();
    assert_eq!(pt.query(0x4000_0000).unwrap().attrs, ns_ro);
}

#[test]
fn aot_text_lifecycle() {
    let log: Log = Rc::default();
    let mut pool = pages(8);
    let mut pt = recorded(&mut pool, &log);
    let va = HIGH_HALF + 4 * MIB;
    pt.map(va, 0x0ea0_0000, 0x3000, Attributes::KERNEL_DATA)
        .unwrap();
    assert_eq!(log.borrow().last(), Some(&Event::Publish));
    pt.protect(va, 0x3000, Attributes::USER_TEXT).unwrap();
    assert_eq!(log.borrow().last(), Some(&Event::Invalidate(va, 0x3000)));
    for i in 0..3 {
        let m = pt.query(va + i * PAGE_SIZE).unwrap();
        assert_eq!(
            m,
            Mapping {
                pa: 0x0ea0_0000 + i * PAGE_SIZE,
                attrs: Attributes::USER_TEXT
            }
        );
    }
    // Back to writable for teardown/zeroing: allowed, still never both.
    pt.protect(va, 0x3000, Attributes::KERNEL_DATA).unwrap();
    pt.unmap(va, 0x3000).unwrap();
    assert_eq!(pt.allocator().0.in_use(), 1);
}

#[test]
fn sub_range_unmap_and_protect() {
    let mut pool = pages(16);
    let mut pt = new_pt(&mut pool);
    // 4 MiB + 8 KiB across two 2 MiB regions.
    let base = 0x0e1f_e000;
    pt.map_identity(base, 4 * MIB + 0x2000, Attributes::KERNEL_DATA)
        .unwrap();
    pt.unmap(0x0e20_0000, PAGE_SIZE).unwrap();
    assert!(pt.query(0x0e1f_f000).is_some());
    assert!(pt.query(0x0e20_0000).is_none());
    assert!(pt.query(0x0e20_1000).is_some());
    pt.protect(0x0e20_1000, 0x3000, Attributes::KERNEL_RODATA)
        .unwrap();
    assert_eq!(pt.query(0x0e20_0fff), None);
    assert_eq!(
        pt.query(0x0e20_1000).unwrap().attrs,
        Attributes::KERNEL_RODATA
    );
    assert_eq!(
        pt.query(0x0e20_3fff).unwrap().attrs,
        Attributes::KERNEL_RODATA
    );
    assert_eq!(
        pt.query(0x0e20_4000).unwrap().attrs,
        Attributes::KERNEL_DATA
    );
    // Remapping the hole with other attributes works.
    pt.map_identity(0x0e20_0000, PAGE_SIZE, Attributes::KERNEL_RODATA)
        .unwrap();
    assert_eq!(pt.verify(), Ok(()));
    assert_eq!(snapshot(&pt).len(), (4 * MIB + 0x2000) as usize / 4096);
}

#[test]
fn out_of_table_pages_is_an_error_and_rolls_back() {
    // Root + L2 + L3 = 3 pages; a range crossing into a second 2 MiB region needs a 4th.
    let mut pool = pages(3);
    let mut pt = new_pt(&mut pool);
    pt.map_identity(0x0e10_0000, 0x1000, Attributes::KERNEL_DATA)
        .unwrap();
    let before = snapshot(&pt);
    assert_eq!(
        pt.map_identity(0x0e1f_0000, 0x2_0000, Attributes::KERNEL_DATA),
        Err(Error::OutOfTablePages)
    );
    assert_eq!(snapshot(&pt), before);
    assert_eq!(pt.allocator().in_use(), 3);
    // A new 1 GiB region needs two tables; none left and nothing half-linked afterwards.
    assert_eq!(
        pt.map(GIB, 0, 0x1000, Attributes::KERNEL_DATA),
        Err(Error::OutOfTablePages)
    );
    assert_eq!(pt.allocator().table(pt.root_pa()).unwrap().0[1], 0);
    // The pool is not even enough for a root.
    let mut none = pages(0);
    assert!(matches!(
        PageTables::new(FixedPool::new(&mut none, POOL_PA), ()),
        Err(Error::OutOfTablePages)
    ));
}

#[test]
fn oom_rollback_frees_tables_it_made() {
    // Root, then L2+L3 per GiB: 1 + 2 + 1 = 4 pages; the map below needs root + 2 + 2.
    let mut pool = pages(4);
    let mut pt = new_pt(&mut pool);
    assert_eq!(
        pt.map(GIB - 0x1000, 0, 0x2000, Attributes::KERNEL_DATA),
        Err(Error::OutOfTablePages)
    );
    assert_eq!(pt.allocator().in_use(), 1);
    assert!(snapshot(&pt).is_empty());
    // And the freed pages are reusable.
    pt.map(GIB - 0x1000, 0, 0x1000, Attributes::KERNEL_DATA)
        .unwrap();
    assert_eq!(pt.allocator().in_use(), 3);
}

#[test]
fn unmap_frees_empty_tables_after_invalidation() {
    let log: Log = Rc::default();
    let mut pool = pages(16);
    let mut pt = recorded(&mut pool, &log);
    // Crosses a 1 GiB boundary: two L2 and two L3 tables.
    let va = HIGH_HALF + GIB - 0x2000;
    pt.map(va, 0x0ea0_0000, 0x4000, Attributes::USER_DATA)
        .unwrap();
    assert_eq!(pt.allocator().0.in_use(), 5);
    log.borrow_mut().clear();
    pt.unmap(va, 0x4000).unwrap();
    assert_eq!(pt.allocator().0.in_use(), 1);
    let ev = log.borrow().clone();
    let inv = ev
        .iter()
        .position(|e| *e == Event::Invalidate(va, 0x4000))
        .expect("invalidated");
    let frees: Vec<_> = ev
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::Free(_)))
        .collect();
    assert_eq!(frees.len(), 4);
    assert!(frees.iter().all(|(i, _)| *i > inv), "{ev:?}");
    assert_eq!(pt.allocator().0.high_water(), 5);
}

#[test]
fn pool_reuses_freed_pages_zeroed() {
    let mut pool = pages(4);
    let mut p = FixedPool::new(&mut pool, 0x1000_0000);
    let a = p.allocate().unwrap();
    let b = p.allocate().unwrap();
    p.table_mut(a).unwrap().0.fill(0xdead_beef_0000);
    p.free(a);
    assert_eq!(
        p.table(a).unwrap().0[0] & 1,
        0,
        "free-list link looks invalid"
    );
    p.free(b);
    assert_eq!(p.allocate(), Some(b));
    assert_eq!(p.allocate(), Some(a));
    assert!(p.table(a).unwrap().0.iter().all(|&d| d == 0));
    assert_eq!(p.allocate(), Some(0x1000_2000));
    assert_eq!(p.allocate(), Some(0x1000_3000));
    assert_eq!(p.allocate(), None);
    assert_eq!((p.in_use(), p.high_water(), p.capacity()), (4, 4, 4));
    assert!(p.table(0x1000_4000).is_none());
    assert!(p.table(0x1000_0800).is_none());
    assert!(p.table(0x0fff_f000).is_none());
}

// ---------------------------------------------------------------------------------------
// Windows

#[test]
fn windows_reserve_release_find() {
    let mut w: VaWindows<64> = VaWindows::new();
    let mut got = Vec::new();
    while let Ok(win) = w.reserve(WASM_LINEAR_WINDOW) {
        got.push(win);
    }
    // 512 GiB area, 8 GiB + 2 MiB guard each, 2 MiB guard at both ends.
    assert_eq!(got.len(), 63);
    for (i, a) in got.iter().enumerate() {
        assert_eq!(a.base % BLOCK_SIZE, 0);
        assert!(
            a.base >= WINDOW_AREA_START + BLOCK_SIZE && a.end() + BLOCK_SIZE <= WINDOW_AREA_END
        );
        for b in &got[i + 1..] {
            assert!(a.end() + BLOCK_SIZE <= b.base || b.end() + BLOCK_SIZE <= a.base);
        }
    }
    assert_eq!(w.find(got[3].base + 5 * GIB), Some(got[3]));
    assert_eq!(w.find(got[3].end()), None); // guard gap
    assert_eq!(w.find(0x0e10_0000), None);
    assert_eq!(w.release(got[3].base), Ok(got[3]));
    assert_eq!(w.release(got[3].base), Err(Error::UnknownWindow));
    // Small windows fit in the freed gap first.
    let small = w.reserve(0x10000).unwrap();
    assert_eq!(small.base, got[3].base);
    assert_eq!(w.reserve(WASM_LINEAR_WINDOW), Err(Error::WindowsExhausted));
    assert_eq!(w.reserve(0x1800), Err(Error::Misaligned));
    assert_eq!(w.reserve(0), Err(Error::InvalidRange));
    assert_eq!(w.reserve(!0xfff), Err(Error::WindowsExhausted));

    let mut few: VaWindows<2> = VaWindows::new();
    few.reserve(PAGE_SIZE).unwrap();
    few.reserve(PAGE_SIZE).unwrap();
    assert_eq!(few.reserve(PAGE_SIZE), Err(Error::WindowsExhausted));
}

#[test]
fn linear_memory_grows_in_place() {
    let mut pool = pages(16);
    let mut pt = new_pt(&mut pool);
    let mut w: VaWindows<4> = VaWindows::with_area(HIGH_HALF, VA_LIMIT, BLOCK_SIZE);
    let lm = w.reserve(WASM_LINEAR_WINDOW).unwrap();
    let mut size = 0;
    for step in [0x1_0000u64, 0x1_0000, 0x20_0000, 0x10_0000] {
        pt.map(
            lm.base + size,
            0x0e00_0000 + size,
            step,
            Attributes::USER_DATA,
        )
        .unwrap();
        size += step;
        assert!(pt.query(lm.base + size - 1).is_some());
        assert!(pt.query(lm.base + size).is_none());
    }
    assert_eq!(pt.query(lm.base + 0x12_3456).unwrap().pa, 0x0e12_3456);
    // Accesses anywhere else in the 8 GiB stay unmapped: a wasm out-of-bounds access faults.
    for off in [size, 4 * GIB, 8 * GIB - 1] {
        assert!(pt.query(lm.base + off).is_none());
        assert_eq!(w.find(lm.base + off), Some(lm));
    }
    pt.unmap(lm.base, size).unwrap();
    assert_eq!(pt.allocator().in_use(), 1);
}

// ---------------------------------------------------------------------------------------
// Randomized sequences against a model

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Number of tables a set of mapped pages needs: root + one L2 per GiB + one L3 per 2 MiB.
fn tables_needed(model: &BTreeMap<u64, (u64, Attributes)>) -> usize {
    let l2: std::collections::BTreeSet<_> = model.keys().map(|va| va >> 30).collect();
    let l3: std::collections::BTreeSet<_> = model.keys().map(|va| va >> 21).collect();
    1 + l2.len() + l3.len()
}

#[test]
fn random_sequences_keep_wx_and_match_model() {
    // Regions around table boundaries, identity area and window area.
    let regions = [
        0x0e00_0000u64,
        GIB - 0x40_0000,
        HIGH_HALF + 7 * GIB,
        VA_LIMIT - 0x40_0000,
    ];
    let good: Vec<Attributes> = all_attrs()
        .into_iter()
        .filter(|a| a.check().is_ok())
        .collect();
    let bad: Vec<Attributes> = all_attrs()
        .into_iter()
        .filter(|a| a.check().is_err())
        .collect();
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for seed in 1..=30u64 {
        let log: Log = Rc::default();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let pool_pages = 6 + rng.below(20) as usize;
        let mut pool = pages(pool_pages);
        let mut pt = recorded(&mut pool, &log);
        let mut model: BTreeMap<u64, (u64, Attributes)> = BTreeMap::new();
        for _ in 0..200 {
            let op = rng.below(10);
            // Unmap/protect mostly start at a mapped page, so that they often succeed.
            let at_mapped = op >= 5 && !model.is_empty() && rng.below(4) != 0;
            let (va, n) = if at_mapped {
                let k = rng.below(model.len() as u64) as usize;
                (*model.keys().nth(k).unwrap(), 1 + rng.below(6))
            } else {
                let region = regions[rng.below(regions.len() as u64) as usize];
                let big = rng.below(16) == 0;
                (
                    region + rng.below(0x400) * PAGE_SIZE,
                    1 + rng.below(if big { 1100 } else { 24 }),
                )
            };
            let len = (n * PAGE_SIZE).min(VA_LIMIT - va);
            let range: Vec<u64> = (0..len / PAGE_SIZE).map(|i| va + i * PAGE_SIZE).collect();
            let before = snapshot(&pt);
            log.borrow_mut().clear();
            let result = if op < 5 {
                let want_bad = rng.below(10) == 0;
                let attrs = if want_bad {
                    bad[rng.below(bad.len() as u64) as usize]
                } else {
                    good[rng.below(good.len() as u64) as usize]
                };
                let pa = rng.below(1 << 24) * PAGE_SIZE;
                let r = pt.map(va, pa, len, attrs);
                let first_mapped = range.iter().find(|v| model.contains_key(v)).copied();
                if want_bad {
                    assert_eq!(r, Err(attrs.check().unwrap_err()));
                } else if let Some(at) = first_mapped {
                    assert_eq!(r, Err(Error::AlreadyMapped(at)));
                } else if r.is_ok() {
                    for (i, v) in range.iter().enumerate() {
                        model.insert(*v, (pa + i as u64 * PAGE_SIZE, attrs));
                    }
                } else {
                    assert_eq!(r, Err(Error::OutOfTablePages));
                    // It really did not fit.
                    let mut with = model.clone();
                    for v in &range {
                        with.insert(*v, (0, attrs));
                    }
                    assert!(tables_needed(&with) > pool_pages, "seed {seed}");
                }
                r
            } else if op < 8 {
                let r = pt.unmap(va, len);
                match range.iter().find(|v| !model.contains_key(v)) {
                    Some(&at) => assert_eq!(r, Err(Error::NotMapped(at))),
                    None => {
                        assert_eq!(r, Ok(()));
                        for v in &range {
                            model.remove(v);
                        }
                    }
                }
                r
            } else {
                let mut attrs = all_attrs()[rng.below(72) as usize];
                if let (true, Some((_, old))) = (rng.below(2) == 0, model.get(&va)) {
                    // Keep the type and NS half of the time: a permission change.
                    attrs.memory = old.memory;
                    attrs.non_secure = old.non_secure;
                }
                let r = pt.protect(va, len, attrs);
                if let Err(e) = attrs.check() {
                    assert_eq!(r, Err(e));
                } else if let Some(e) = range.iter().find_map(|v| match model.get(v) {
                    // The first page, in VA order, that is unmapped or of another type.
                    None => Some(Error::NotMapped(*v)),
                    Some((_, old))
                        if old.memory != attrs.memory || old.non_secure != attrs.non_secure =>
                    {
                        Some(Error::TypeChange(*v))
                    }
                    Some(_) => None,
                }) {
                    assert_eq!(r, Err(e));
                } else {
                    assert_eq!(r, Ok(()));
                    for v in &range {
                        model.get_mut(v).unwrap().1 = attrs;
                    }
                }
                r
            };
            let kind = match (op, result) {
                (0..5, Ok(())) => "map",
                (5..8, Ok(())) => "unmap",
                (_, Ok(())) => "protect",
                (_, Err(Error::AlreadyMapped(_))) => "overlap",
                (_, Err(Error::NotMapped(_))) => "hole",
                (_, Err(Error::OutOfTablePages)) => "oom",
                (_, Err(Error::TypeChange(_))) => "type change",
                (_, Err(_)) => "policy",
            };
            *seen.entry(kind).or_default() += 1;
            if log.borrow().iter().any(|e| matches!(e, Event::Free(_))) {
                *seen.entry("tables freed").or_default() += 1;
            }
            let after = snapshot(&pt);
            if result.is_err() {
                assert_eq!(after, before, "seed {seed}: failed call changed the tables");
            }
            // The tables are exactly the model, every page obeys W^X on raw bits.
            assert_eq!(after.len(), model.len(), "seed {seed}");
            for (va, d) in &after {
                let (pa, attrs) = model[va];
                assert_eq!(*d, attrs.page_descriptor(pa), "seed {seed} va {va:#x}");
                assert!(
                    raw_policy_ok(*d),
                    "seed {seed}: W^X violated at {va:#x}: {d:#x}"
                );
            }
            assert_eq!(pt.verify(), Ok(()));
            // No empty tables linger, none leak.
            assert_eq!(
                pt.allocator().0.in_use(),
                tables_needed(&model),
                "seed {seed}"
            );
            // Every page whose valid descriptor changed or vanished was invalidated, and
            // only after that were table pages freed.
            let ev = log.borrow();
            let inv: Vec<(u64, u64)> = ev
                .iter()
                .filter_map(|e| {
                    if let Event::Invalidate(v, l) = e {
                        Some((*v, *l))
                    } else {
                        None
                    }
                })
                .collect();
            for (va, d) in &before {
                if after.get(va) != Some(d) {
                    assert!(
                        inv.iter().any(|(v, l)| va >= v && *va < v + l),
                        "seed {seed}: {va:#x} changed without TLBI"
                    );
                }
            }
            if let Some(first_free) = ev.iter().position(|e| matches!(e, Event::Free(_))) {
                assert!(
                    ev[..first_free]
                        .iter()
                        .any(|e| matches!(e, Event::Invalidate(..))),
                    "seed {seed}: freed before TLBI"
                );
            }
        }
        // Tear everything down: the pool returns to just the root.
        // Tear down in a scrambled order; tables go back as soon as they are empty.
        let mut vas: Vec<u64> = model.keys().copied().collect();
        for i in (1..vas.len()).rev() {
            vas.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for va in vas {
            pt.unmap(va, PAGE_SIZE).unwrap();
            model.remove(&va);
            assert_eq!(
                pt.allocator().0.in_use(),
                tables_needed(&model),
                "seed {seed}"
            );
        }
        assert_eq!(pt.allocator().0.in_use(), 1);
    }
    // The sequence really exercised every outcome.
    for kind in [
        "map",
        "unmap",
        "protect",
        "overlap",
        "hole",
        "oom",
        "type change",
        "policy",
        "tables freed",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) >= 5,
            "{kind} too rare: {seen:?}"
        );
    }
}

#[test]
fn edges_of_the_va_space() {
    let mut pool = pages(8);
    let mut pt = new_pt(&mut pool);
    pt.map(
        VA_LIMIT - PAGE_SIZE,
        0x0e10_0000,
        PAGE_SIZE,
        Attributes::USER_RODATA,
    )
    .unwrap();
    pt.map(0, 0, PAGE_SIZE, Attributes::KERNEL_RODATA).unwrap();
    assert_eq!(pt.query(VA_LIMIT - 1).unwrap().pa, 0x0e10_0fff);
    assert_eq!(pt.query(0).unwrap().pa, 0);
    let root = pt.allocator().table(pt.root_pa()).unwrap().0;
    assert_ne!(root[0], 0);
    assert_ne!(root[511], 0);
    pt.unmap(VA_LIMIT - PAGE_SIZE, PAGE_SIZE).unwrap();
    pt.unmap(0, PAGE_SIZE).unwrap();
    assert_eq!(pt.allocator().in_use(), 1);
}

#[test]
fn whole_secure_dram_table_cost() {
    // The payload's 15 MiB from 0x0e100000 to 0x0f000000 in five sections: one L2 and eight
    // L3 tables (0x0e000000..0x0f000000 is eight 2 MiB regions) plus the root.
    let mut pool = pages(10);
    let mut pt = new_pt(&mut pool);
    let cuts = [
        0x0e10_0000,
        0x0e14_0000,
        0x0e16_0000,
        0x0e40_0000,
        0x0e80_0000,
        0x0f00_0000,
    ];
    let kinds = [
        Attributes::KERNEL_TEXT,
        Attributes::KERNEL_RODATA,
        Attributes::KERNEL_DATA,
        Attributes::KERNEL_DATA,
        Attributes::USER_DATA,
    ];
    for (w, a) in cuts.windows(2).zip(kinds) {
        pt.map_identity(w[0], w[1] - w[0], a).unwrap();
    }
    assert_eq!(pt.allocator().in_use(), 10);
    assert_eq!(snapshot(&pt).len(), 15 * 256);
    assert_eq!(pt.verify(), Ok(()));
    // Full: a device page elsewhere does not fit, and says so.
    assert_eq!(
        pt.map_identity(0x0904_0000, PAGE_SIZE, Attributes::DEVICE),
        Err(Error::OutOfTablePages)
    );
}

#[test]
fn verify_and_walk_catch_foreign_descriptors() {
    let mut pool = pages(8);
    let mut pt = new_pt(&mut pool);
    pt.map_identity(0x0e10_0000, 0x2000, Attributes::KERNEL_DATA)
        .unwrap();
    assert_eq!(pt.verify(), Ok(()));
    let l3 = POOL_PA + 2 * PAGE_SIZE;
    // Something else wrote a W+X page (all of PXN/UXN clear except UXN): verify names it.
    let wx = Attributes::KERNEL_DATA.page_descriptor(0x0e10_1000) & !desc::PXN;
    pt.allocator_mut().table_mut(l3).unwrap().0[0x101] = wx;
    assert!(!raw_policy_ok(wx));
    assert_eq!(pt.verify(), Err((0x0e10_1000, Error::WriteExecute)));
    // A descriptor no preset produces (both XN clear) is reported as corrupt.
    pt.allocator_mut().table_mut(l3).unwrap().0[0x101] = wx & !desc::UXN;
    assert_eq!(pt.verify(), Err((0x0e10_1000, Error::Corrupt(0x0e10_1000))));
    // A block descriptor at level 2 (this crate never writes one) stops walks and edits.
    let l2 = POOL_PA + PAGE_SIZE;
    pt.allocator_mut().table_mut(l2).unwrap().0[0x80] = 0x1000_0000 | 0x701;
    assert_eq!(
        pt.for_each_page(|_, _| {}),
        Err(Error::Corrupt(0x1000_0000))
    );
    assert_eq!(
        pt.map_identity(0x1000_0000, PAGE_SIZE, Attributes::KERNEL_DATA),
        Err(Error::Corrupt(0x1000_0000))
    );
    // A table link outside the pool.
    pt.allocator_mut().table_mut(l2).unwrap().0[0x80] = 0x5000_0000 | 0b11;
    assert_eq!(pt.query(0x1000_0000), None);
    assert_eq!(
        pt.unmap(0x1000_0000, PAGE_SIZE),
        Err(Error::Corrupt(0x5000_0000))
    );
}

#[test]
fn new_tables_are_published_before_use() {
    let log: Log = Rc::default();
    let mut pool = pages(8);
    let mut pt = recorded(&mut pool, &log);
    log.borrow_mut().clear();
    pt.map(GIB, 0x0e10_0000, PAGE_SIZE, Attributes::KERNEL_DATA)
        .unwrap();
    let ev = log.borrow().clone();
    // Each new table is followed by a barrier (before its link), and the map by one more.
    assert!(
        matches!(
            ev.as_slice(),
            [
                Event::Alloc(_),
                Event::Publish,
                Event::Alloc(_),
                Event::Publish,
                Event::Publish
            ]
        ),
        "{ev:?}"
    );
    // No TLB invalidation for a pure addition.
    assert!(!ev.iter().any(|e| matches!(e, Event::Invalidate(..))));
}

// ---------------------------------------------------------------------------------------
// Address spaces and ASIDs

struct RecAsid(Log);
impl AsidTlb for RecAsid {
    fn publish(&mut self) {
        self.0.borrow_mut().push(Event::Publish);
    }
    fn invalidate(&mut self, asid: u16, va: u64, len: u64) {
        self.0
            .borrow_mut()
            .push(Event::InvalidateAsid(asid, va, len));
    }
    fn invalidate_asid(&mut self, asid: u16) {
        self.0.borrow_mut().push(Event::FlushAsid(asid));
    }
}

const SPACE_POOL_PA: u64 = 0x0f00_0000;

fn kernel_with_text(pool: &mut [TablePage]) -> PageTables<FixedPool<'_>, ()> {
    let mut k = new_pt(pool);
    k.map_identity(0x0e10_0000, 0x2000, Attributes::KERNEL_TEXT)
        .unwrap();
    k.map_identity(0x0e10_2000, 0x2000, Attributes::KERNEL_DATA)
        .unwrap();
    k
}

#[test]
fn space_roots_link_the_kernel_tables() {
    let mut kpool = pages(8);
    let mut k = kernel_with_text(&mut kpool);
    let kl1 = k.root_pa();
    let kl0 = k.make_level0_root().unwrap();
    let kroot = FixedPool::new(&mut [], 0).table(kl0).cloned();
    assert!(kroot.is_none(), "an empty pool owns nothing");
    let entry = k.allocator().table(kl0).unwrap().0;
    assert_eq!(entry[0], kernel_root_entry(kl1));
    assert_eq!(
        entry[0],
        kl1 | 0b11 | (1 << 61) | (1 << 60),
        "APTable no EL0, UXNTable"
    );
    assert!(
        entry[1..].iter().all(|&d| d == 0),
        "no window area in the payload's root"
    );

    let log: Log = Rc::default();
    let mut spool = pages(8);
    let space = AddressSpace::new(
        FixedPool::new(&mut spool, SPACE_POOL_PA),
        RecAsid(log.clone()),
        7,
        kl1,
    )
    .unwrap();
    assert_eq!(space.asid(), 7);
    assert_eq!(space.ttbr(), space.root_pa() | (7 << 48));
    assert_eq!(space.root_entry(0), Some(kernel_root_entry(kl1)));
    let e1 = space.root_entry(1).unwrap();
    assert_eq!(e1 & 0b11, 0b11);
    assert_eq!(e1 & (1 << 59), 1 << 59, "PXNTable over the window area");
    assert_eq!(e1 & ((1 << 60) | (1 << 61)), 0);
    assert_ne!(e1 & desc::OA_MASK, kl1);
    assert!((2..512).all(|i| space.root_entry(i) == Some(0)));
    assert_eq!(space.allocator().in_use(), 2);
    assert!(AddressSpace::new(FixedPool::new(&mut pages(2), SPACE_POOL_PA), (), 0, kl1).is_err());
    assert_eq!(
        AddressSpace::new(FixedPool::new(&mut pages(1), SPACE_POOL_PA), (), 3, kl1).err(),
        Some(Error::OutOfTablePages)
    );
}

#[test]
fn space_mappings_are_not_global_and_kernel_ones_global_el1_only() {
    let mut kpool = pages(8);
    let k = kernel_with_text(&mut kpool);
    k.for_each_page(|va, d| {
        assert_eq!(d & desc::NG, 0, "payload page {va:#x} must be global");
        assert_eq!(d & desc::AP_EL0, 0, "payload page {va:#x} must be EL1-only");
    })
    .unwrap();

    let log: Log = Rc::default();
    let mut spool = pages(16);
    let mut s = AddressSpace::new(
        FixedPool::new(&mut spool, SPACE_POOL_PA),
        RecAsid(log.clone()),
        9,
        k.root_pa(),
    )
    .unwrap();
    let code = s.reserve(0x2000).unwrap();
    let mem = s.reserve(WASM_LINEAR_WINDOW).unwrap();
    assert!(code.base >= WINDOW_AREA_START && mem.end() <= WINDOW_AREA_END);
    s.map(code.base, 0x0e90_0000, 0x2000, Attributes::KERNEL_DATA)
        .unwrap();
    s.protect(code.base, 0x2000, Attributes::USER_TEXT).unwrap();
    s.map(mem.base, 0x0e98_0000, 0x1_0000, Attributes::USER_DATA)
        .unwrap();
    let mut n = 0;
    s.for_each_page(|va, d| {
        n += 1;
        assert!(code.contains(va) || mem.contains(va));
        assert_eq!(
            d & desc::NG,
            desc::NG,
            "module page {va:#x} must be not-global"
        );
        assert_eq!(d & desc::AP_EL0, desc::AP_EL0);
    })
    .unwrap();
    assert_eq!(n, 2 + 16);
    assert_eq!(s.query(code.base + 4).unwrap().pa, 0x0e90_0004);
    assert_eq!(s.query(code.base).unwrap().attrs, Attributes::USER_TEXT);
    assert!(s.query(mem.base + 0x1_0000).is_none());
    assert!(
        s.query(0x0e10_0000).is_none(),
        "the payload is not part of the space"
    );

    // Refused: outside every window, across a window's end, the payload's VAs, EL1 code.
    let refused = [
        s.map(0x0e10_0000, 0x0e90_0000, 0x1000, Attributes::USER_DATA),
        s.map(code.end(), 0x0e90_0000, 0x1000, Attributes::USER_DATA),
        s.map(code.base, 0x0e90_0000, 0x3000, Attributes::USER_DATA),
        s.map(WINDOW_AREA_END, 0x0e90_0000, 0x1000, Attributes::USER_DATA),
        s.map(
            mem.base + 0x2_0000,
            0x0e90_0000,
            0x1000,
            Attributes::KERNEL_TEXT,
        ),
        s.protect(code.base, 0x1000, Attributes::KERNEL_TEXT),
        s.unmap(0x0e10_0000, 0x1000),
    ];
    for r in refused {
        assert!(matches!(r, Err(Error::OutsideSpace(_))), "{r:?}");
    }

    // Changes invalidate with the ASID, at the real VA.
    log.borrow_mut().clear();
    s.unmap(mem.base, 0x1_0000).unwrap();
    assert!(log
        .borrow()
        .contains(&Event::InvalidateAsid(9, mem.base, 0x1_0000)));
    assert!(!log
        .borrow()
        .iter()
        .any(|e| matches!(e, Event::Invalidate(..) | Event::FlushAsid(_))));
}

#[test]
fn destroy_flushes_the_asid_before_freeing_and_reuse() {
    let mut kpool = pages(8);
    let k = kernel_with_text(&mut kpool);
    let mut asids = AsidAllocator::new(false);
    let log: Log = Rc::default();
    let mut spool = pages(16);
    let asid = asids.allocate().unwrap();
    let mut s = AddressSpace::new(
        RecPool(FixedPool::new(&mut spool, SPACE_POOL_PA), log.clone()),
        RecAsid(log.clone()),
        asid,
        k.root_pa(),
    )
    .unwrap();
    let w = s.reserve(0x4000).unwrap();
    s.map(w.base, 0x0e90_0000, 0x4000, Attributes::USER_DATA)
        .unwrap();
    // Left mapped on purpose: destroy frees whatever tables remain.
    log.borrow_mut().clear();
    let pool = s.destroy(&mut asids);
    assert_eq!(pool.0.in_use(), 0, "every table page is back");
    let events = log.borrow().clone();
    assert_eq!(events.first(), Some(&Event::FlushAsid(asid)));
    let frees = events
        .iter()
        .filter(|e| matches!(e, Event::Free(_)))
        .count();
    assert_eq!(frees, 4, "level 0, level 1, level 2, level 3");
    assert_eq!(asids.in_use(), 0);
}

#[test]
fn asid_allocator_never_gives_0_and_flushes_before_reuse() {
    let mut a = AsidAllocator::new(false);
    assert_eq!(a.limit(), 255);
    let mut got = Vec::new();
    while let Some(x) = a.allocate() {
        got.push(x);
    }
    assert_eq!(got.len(), 255);
    assert!(!got.contains(&0));
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), 255);
    assert_eq!(a.in_use(), 255);

    let log: Log = Rc::default();
    let mut tlb = RecAsid(log.clone());
    a.release(42, &mut tlb);
    assert_eq!(*log.borrow(), vec![Event::FlushAsid(42)]);
    a.release(42, &mut tlb); // not in use: no second flush
    a.release(0, &mut tlb); // the payload's: ignored
    assert_eq!(log.borrow().len(), 1);
    assert_eq!(a.allocate(), Some(42));
    assert_eq!(a.allocate(), None);

    // Round robin: a released ASID is reused as late as possible.
    let mut b = AsidAllocator::new(true);
    assert_eq!(b.limit(), 1023);
    let (x, y) = (b.allocate().unwrap(), b.allocate().unwrap());
    assert_eq!((x, y), (1, 2));
    b.release(x, &mut ());
    assert_eq!(b.allocate(), Some(3));
}

#[test]
fn space_register_values() {
    use crate::regs::*;
    let tcr = tcr_el1_spaces(0b100, false);
    assert_eq!(tcr & 0x3f, 16, "T0SZ: 48-bit VA, level 0 roots");
    assert_eq!((tcr >> 22) & 1, 0, "A1: the ASID comes from TTBR0");
    assert_eq!((tcr >> 36) & 1, 0);
    assert_eq!(tcr & !0x3f, tcr_el1(0b100) & !0x3f);
    assert_eq!(
        (tcr_el1_spaces(0b100, true) >> 36) & 1,
        1,
        "AS: 16-bit ASIDs"
    );
}
