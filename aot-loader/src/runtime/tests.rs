//! Instantiation and helper logic on a mock platform (plain heap memory, no code execution):
//! what the instance block holds after instantiation, segments and table helpers, pointer and
//! index checks, quota accounting and that everything allocated is given back.

use alloc::string::String;

use alloc::vec::Vec;
use std::alloc::{alloc_zeroed, dealloc, Layout};

use crate::layout::{ExceptionId, InstanceLayout, NULL_REF, TABLE_ELEMS_OFFSET};
use crate::module::{InitExpr, ValType};
use crate::runtime::{
    Entry, Helper, Instance, InstanceConfig, InstantiateError, Platform, PlatformError, Stop, Trap,
};
use crate::wasi::{NullHost, WasiHost};
use crate::writer::ModuleBuilder;
use crate::Arch;

/// Heap-backed platform; counts live allocations.
#[derive(Default)]
struct Mock {
    live: Vec<(u64, usize)>,
    sealed: bool,
    wasi: Option<NullHost>,
    /// Want the CPU back at every `interrupt_every`-th check (0: never).
    interrupt_every: u64,
    checks: u64,
    /// Where to store the number of live blocks when the mock is dropped (free of the races
    /// of the shared `LIVE_AFTER_DROP` between tests running in parallel).
    report: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl Mock {
    fn get(&mut self, len: usize) -> Result<u64, PlatformError> {
        let layout = Layout::from_size_align(len.max(1), 4096).unwrap();
        // SAFETY: non-zero size, valid alignment.
        let p = unsafe { alloc_zeroed(layout) } as u64;
        assert_ne!(p, 0);
        self.live.push((p, len.max(1)));
        Ok(p)
    }
    fn put(&mut self, addr: u64) {
        let i = self
            .live
            .iter()
            .position(|&(a, _)| a == addr)
            .expect("known block");
        let (a, len) = self.live.remove(i);
        // SAFETY: allocated by `get` with this layout.
        unsafe { dealloc(a as *mut u8, Layout::from_size_align(len, 4096).unwrap()) };
    }
}

static LIVE_AFTER_DROP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(99);

impl Drop for Mock {
    fn drop(&mut self) {
        LIVE_AFTER_DROP.store(self.live.len(), std::sync::atomic::Ordering::SeqCst);
        if let Some(r) = &self.report {
            r.store(self.live.len(), std::sync::atomic::Ordering::SeqCst);
        }
    }
}

// SAFETY: zeroed heap blocks of the requested size; the "window" is fully allocated (the mock
// has no guard pages); code is never executed.
unsafe impl Platform for Mock {
    fn page_size(&self) -> usize {
        4096
    }
    fn reserve_memory(&mut self, reserve: u64, _commit: u64) -> Result<u64, PlatformError> {
        self.get(reserve as usize)
    }
    fn commit_memory(&mut self, _: u64, _: u64, _: u64) -> Result<(), PlatformError> {
        Ok(())
    }
    fn release_memory(&mut self, base: u64, _: u64) {
        self.put(base)
    }
    fn alloc_data(&mut self, len: usize) -> Result<u64, PlatformError> {
        self.get(len)
    }
    fn free_data(&mut self, addr: u64, _: usize) {
        self.put(addr)
    }
    fn alloc_stack(&mut self, len: usize) -> Result<u64, PlatformError> {
        self.get(len)
    }
    fn free_stack(&mut self, low: u64, _: usize) {
        self.put(low)
    }
    fn alloc_code(&mut self, len: usize, _: bool) -> Result<u64, PlatformError> {
        self.get(len)
    }
    fn seal_code(&mut self, _: u64, _: usize, _: usize) -> Result<(), PlatformError> {
        self.sealed = true;
        Ok(())
    }
    fn free_code(&mut self, addr: u64, _: usize) {
        self.put(addr)
    }
    fn entry_address(&mut self, _ctx: u64, entry: Entry) -> Option<u64> {
        Some(0x7000_0000 + 64 * u64::from(entry.to_id() & 0xffff))
    }
    fn wasi_host(&mut self) -> &mut dyn WasiHost {
        self.wasi.get_or_insert(NullHost)
    }
    fn interrupt_pending(&mut self) -> bool {
        self.checks += 1;
        self.interrupt_every != 0 && self.checks.is_multiple_of(self.interrupt_every)
    }
}

/// The writer's kitchen sink without its imported global (tzwasm provides none).
fn module_bytes() -> Vec<u8> {
    let mut b = ModuleBuilder::kitchen_sink(Arch::Aarch64);
    b.import_globals.clear();
    b.globals[0] = (ValType::I32, true, InitExpr::I32(40));
    b.globals[6] = (
        ValType::I32,
        false,
        InitExpr::Binary(
            crate::module::BinOp::I32Add,
            alloc::boxed::Box::new(InitExpr::I32(1)),
            alloc::boxed::Box::new(InitExpr::I32(2)),
        ),
    );
    b.build()
}

fn config() -> InstanceConfig {
    InstanceConfig {
        heap_quota: 4 << 20,
        stack_size: 64 << 10,
        memory_window: 1 << 20,
        stack_guard_margin: 4096,
    }
}

fn h(x: Helper) -> u64 {
    u64::from(Entry::Helper(x).to_id())
}

fn read<T: Copy>(addr: u64) -> T {
    // SAFETY: test reads inside blocks the mock allocated for the live instance.
    unsafe { core::ptr::read_unaligned(addr as *const T) }
}

#[test]
fn instantiates_globals_tables_segments_and_func_ptrs() {
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let inst = Instance::new(&m, &bytes, Mock::default(), config()).unwrap();
    assert!(inst.platform.sealed);
    let ia = inst.instance_addr();
    let il = InstanceLayout::of(&m).unwrap();
    let g = |i: usize| ia + il.globals[i];
    assert_eq!(read::<u32>(g(0)), 40);
    assert_eq!(read::<i64>(g(1)), -5);
    assert_eq!(read::<u32>(g(2)), 0x3f80_0000);
    assert_eq!(read::<u64>(g(3)), 0x4000_0000_0000_0000);
    assert_eq!(read::<[u8; 16]>(g(4)), [7; 16]);
    assert_eq!(read::<u32>(g(5)), 1);
    assert_eq!(read::<u32>(g(6)), 3);
    // Table 0: active segment at 1 = [ref.func 1, ref.null (payload kept as WAMR does)].
    let (toff, slots) = il.tables[0];
    let t = ia + toff;
    assert_eq!(slots, 4);
    assert_eq!(read::<u32>(t + 0x10), 4); // cur_size
    let elem = |i: u64| read::<u64>(t + TABLE_ELEMS_OFFSET as u64 + 8 * i);
    assert_eq!(
        [elem(0), elem(1), elem(2), elem(3)],
        [NULL_REF, 1, 0x70, NULL_REF]
    );
    // Active data segment at 16.
    let (base, size, _) = inst.memory();
    assert!(size > 0);
    assert_eq!(read::<[u8; 5]>(base + 16), *b"hello");
    // exec_env points at the instance; func_ptrs: the import's entry, then code.
    let env = inst.exec_env();
    assert_eq!(read::<u64>(env + 0x10), ia);
    let fp = read::<u64>(ia + 0x28);
    assert_eq!(
        read::<u64>(fp),
        0x7000_0000 + 64 * u64::from(Entry::Import(0).to_id() & 0xffff)
    );
    assert_eq!(read::<u64>(fp + 8), inst.func_addr(1).unwrap());
    let types = read::<u64>(ia + 0x30);
    assert_eq!(read::<u32>(types), 1); // import type
                                       // Quota: everything charged.
    let used = inst.quota().used();
    assert!(used >= (64 << 10) + size);
    drop(inst);
    assert_eq!(LIVE_AFTER_DROP.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn segment_and_table_helpers_check_bounds_and_drops() {
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let mut inst = Instance::new(&m, &bytes, Mock::default(), config()).unwrap();
    let ia = inst.instance_addr();
    let (base, size, _) = inst.memory();
    let oob: Result<u64, Stop> = Err(ExceptionId::OutOfBoundsMemoryAccess.into());
    let toob: Result<u64, Stop> = Err(ExceptionId::OutOfBoundsTableAccess.into());

    // memory.init from the passive segment, then data.drop.
    assert_eq!(
        inst.dispatch(h(Helper::MemoryInit), &[ia, 1, 0, 8, 100]),
        Ok(1)
    );
    assert_eq!(read::<[u8; 8]>(base + 100), *b"passive!");
    assert_eq!(inst.dispatch(h(Helper::MemoryInit), &[ia, 1, 4, 5, 0]), oob);
    assert_eq!(
        inst.dispatch(h(Helper::MemoryInit), &[ia, 1, 0, 8, size - 4]),
        oob
    );
    assert_eq!(
        inst.dispatch(h(Helper::MemoryInit), &[ia, 1, 0, 1, u64::MAX]),
        oob
    );
    assert_eq!(inst.dispatch(h(Helper::DataDrop), &[ia, 1]), Ok(1));
    assert_eq!(
        inst.dispatch(h(Helper::MemoryInit), &[ia, 1, 0, 8, 100]),
        oob
    );
    assert_eq!(
        inst.dispatch(h(Helper::MemoryInit), &[ia, 1, 0, 0, 100]),
        Ok(1)
    );
    // Active segments are dropped after instantiation; unknown segments trap.
    assert_eq!(inst.dispatch(h(Helper::MemoryInit), &[ia, 0, 0, 1, 0]), oob);
    assert_eq!(inst.dispatch(h(Helper::MemoryInit), &[ia, 9, 0, 0, 0]), oob);

    // table.init from the passive element segment, elem.drop.
    assert_eq!(
        inst.dispatch(h(Helper::TableInit), &[ia, 0, 1, 1, 0, 3]),
        Ok(0)
    );
    let il = InstanceLayout::of(&m).unwrap();
    let t = ia + il.tables[0].0 + TABLE_ELEMS_OFFSET as u64;
    assert_eq!(read::<u64>(t + 24), 0);
    assert_eq!(
        inst.dispatch(h(Helper::TableInit), &[ia, 0, 1, 2, 0, 0]),
        toob
    );
    assert_eq!(
        inst.dispatch(h(Helper::TableInit), &[ia, 0, 1, 1, 0, 4]),
        toob
    );
    assert_eq!(inst.dispatch(h(Helper::DropTableSeg), &[ia, 1]), Ok(0));
    assert_eq!(
        inst.dispatch(h(Helper::TableInit), &[ia, 0, 1, 1, 0, 0]),
        toob
    );
    assert_eq!(
        inst.dispatch(h(Helper::TableInit), &[ia, 7, 1, 0, 0, 0]),
        toob
    );
    // table.fill / copy / grow (the table cannot grow: wamrc saw no table.grow).
    assert_eq!(
        inst.dispatch(h(Helper::TableFill), &[ia, 0, 2, 5, 0]),
        Ok(0)
    );
    assert_eq!([read::<u64>(t), read::<u64>(t + 8)], [5, 5]);
    assert_eq!(inst.dispatch(h(Helper::TableFill), &[ia, 0, 5, 5, 0]), toob);
    assert_eq!(
        inst.dispatch(h(Helper::TableCopy), &[ia, 0, 0, 2, 1, 2]),
        Ok(0)
    );
    assert_eq!(read::<u64>(t + 16), 5);
    assert_eq!(
        inst.dispatch(h(Helper::TableCopy), &[ia, 0, 0, 3, 2, 0]),
        toob
    );
    assert_eq!(
        inst.dispatch(h(Helper::TableGrow), &[ia, 0, 1, 0]),
        Ok(u64::from(u32::MAX))
    );

    // call_indirect through the helper: bounds, null, defined functions are refused.
    assert_eq!(
        inst.dispatch(
            h(Helper::CallIndirect),
            &[inst.exec_env(), 0, 9, 0, inst.argv_buf()]
        ),
        Err(ExceptionId::UndefinedElement.into())
    );
    assert_eq!(
        inst.dispatch(h(Helper::TableFill), &[ia, 0, 1, NULL_REF, 3]),
        Ok(0)
    );
    assert_eq!(
        inst.dispatch(
            h(Helper::CallIndirect),
            &[inst.exec_env(), 0, 3, 0, inst.argv_buf()]
        ),
        Err(ExceptionId::UninitializedElement.into())
    );
    assert_eq!(
        inst.dispatch(
            h(Helper::CallIndirect),
            &[inst.exec_env(), 0, 0, 0, inst.argv_buf()]
        ),
        Err(ExceptionId::InvalidFunctionIndex.into())
    );
    // The import is unlinked (no platform function): calling it traps with WAMR's message,
    // after the cell count was checked against its type (i32, i64 = 3 cells).
    assert_eq!(
        inst.dispatch(
            h(Helper::InvokeNative),
            &[inst.exec_env(), 0, 2, inst.argv_buf()]
        ),
        Err(ExceptionId::InvalidFunctionTypeIndex.into())
    );
    assert_eq!(
        inst.dispatch(
            h(Helper::InvokeNative),
            &[inst.exec_env(), 0, 3, inst.argv_buf()]
        ),
        Err(Stop::Trap(Trap::Message(String::from(
            "failed to call unlinked import function (env, host_fn)"
        ))))
    );
    // Argument cells must be in module memory.
    let mut outside = [0u32; 8];
    assert_eq!(
        inst.dispatch(
            h(Helper::InvokeNative),
            &[inst.exec_env(), 0, 3, outside.as_mut_ptr() as u64]
        ),
        Err(ExceptionId::OutOfBoundsMemoryAccess.into())
    );
    assert_eq!(
        inst.dispatch(
            u64::from(Entry::Import(0).to_id()),
            &[inst.exec_env(), 1, 2]
        ),
        Err(Stop::Trap(Trap::Message(String::from(
            "failed to call unlinked import function (env, host_fn)"
        ))))
    );
}

#[test]
fn quota_and_imports_refused_cleanly() {
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let mut c = config();
    c.heap_quota = 70 << 10;
    match Instance::new(&m, &bytes, Mock::default(), c) {
        Err(InstantiateError::Quota(q)) => {
            assert_eq!(q.what, "native stack");
            assert!(q.needed() > 70 << 10);
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("instantiated within 70 KiB"),
    }
    let kitchen = ModuleBuilder::kitchen_sink(Arch::Aarch64).build();
    let m = crate::parse(&kitchen, Arch::Aarch64).unwrap();
    let e = Instance::new(&m, &kitchen, Mock::default(), config())
        .err()
        .unwrap();
    assert_eq!(
        alloc::format!("{e}"),
        "failed to link import global (env, g_base): tzwasm provides no globals"
    );
}

/// Every entry with hostile arguments: pointers anywhere (runtime memory, the instance, linear
/// memory edges, wild), huge lengths and indexes. Nothing may panic or touch memory outside
/// what module code may write; the canary around the test's own buffer must survive.
#[test]
fn hostile_arguments_never_escape_module_memory() {
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let mut inst = Instance::new(&m, &bytes, Mock::default(), config()).unwrap();
    let (base, size, _) = inst.memory();
    let (slo, shi) = inst.stack();
    let canary = alloc::boxed::Box::new([0x5au8; 256]);
    let c = canary.as_ptr() as u64;
    let interesting = [
        0,
        1,
        4,
        8,
        0xffff_ffff,
        u64::MAX,
        u64::MAX - 7,
        1 << 32,
        base,
        base + size - 1,
        base + size,
        base.wrapping_sub(8),
        slo,
        shi - 8,
        shi,
        inst.exec_env(),
        inst.instance_addr(),
        inst.argv_buf(),
        c,
        c + 128,
        size,
        size - 1,
        65536,
    ];
    let mut rng = crate::test_rng::XorShift(0x2545_f491_4f6c_dd1d);
    let mut next = || rng.next();
    let ids: Vec<u64> = (0..crate::runtime::HELPERS.len() as u64)
        .chain([0x1_0000, 0x1_0001, 0xffff, 0x2_0000])
        .collect();
    for _ in 0..20_000 {
        let id = ids[(next() % ids.len() as u64) as usize];
        let mut args = [0u64; 8];
        for a in args.iter_mut() {
            let r = next();
            *a = if r % 3 == 0 {
                r
            } else {
                interesting[(r >> 8) as usize % interesting.len()]
            };
        }
        // Keep memset/memmove lengths modest so in-range calls stay cheap.
        if id == Helper::Memset as u64
            || id == Helper::Memmove as u64
            || id == Helper::Memcpy as u64
        {
            args[2] %= 4096;
        }
        let _ = inst.dispatch(id, &args);
    }
    assert!(canary.iter().all(|&b| b == 0x5a));
    // The records are intact: the same memory and stack; memory may only have grown (random
    // aot_enlarge_memory calls), and never past the window.
    let (b2, s2, w2) = inst.memory();
    assert_eq!(b2, base);
    assert!(s2 >= size && s2 <= w2);
    assert_eq!(inst.stack(), (slo, shi));
}

/// Issues entry `id` with `args` again after every `Stop::Interrupted`, as the firmware's
/// rewound `svc` does: the final result and how many times the call was interrupted.
fn dispatch_resumed(
    inst: &mut Instance<'_, Mock>,
    id: u64,
    args: &[u64],
) -> (Result<u64, Stop>, u32) {
    let mut interruptions = 0;
    loop {
        match inst.dispatch(id, args) {
            Err(Stop::Interrupted) => interruptions += 1,
            other => return (other, interruptions),
        }
    }
}

fn mem_bytes(base: u64, len: u64) -> Vec<u8> {
    // SAFETY: inside the mock's linear memory of the live instance (callers stay below size).
    unsafe { core::slice::from_raw_parts(base as *const u8, len as usize) }.to_vec()
}

fn fill_pattern(base: u64, len: u64) {
    for k in 0..len {
        // SAFETY: as in mem_bytes.
        unsafe { ((base + k) as *mut u8).write((k * 13 + k / 256) as u8) };
    }
}

#[test]
fn long_helpers_interrupted_between_chunks_resume_exactly() {
    use crate::runtime::helpers::{COPY_CHUNK, SCAN_CHUNK};
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    for every in [0u64, 1, 2, 3] {
        let mut inst = Instance::new(&m, &bytes, Mock::default(), config()).unwrap();
        inst.platform.interrupt_every = every;
        let (base, size, _) = inst.memory();
        assert!(size >= 12 * COPY_CHUNK, "{size}");
        let n = 5 * COPY_CHUNK + 7;

        // memset: every byte set once, nothing around it touched, the result is `d`.
        fill_pattern(base, size);
        let mut want = mem_bytes(base, size);
        want[100..100 + n as usize].fill(0xab);
        let (r, k) = dispatch_resumed(&mut inst, h(Helper::Memset), &[base + 100, 0xab, n]);
        assert_eq!(r, Ok(base + 100));
        assert_eq!(mem_bytes(base, size), want, "memset, every {every}");
        assert_eq!(k > 0, every != 0, "memset interruptions {k}, every {every}");

        // memmove both ways over overlapping ranges: as copy_within.
        for (d, s) in [(10u64, 3 * COPY_CHUNK + 1), (3 * COPY_CHUNK + 1, 10)] {
            fill_pattern(base, size);
            let mut want = mem_bytes(base, size);
            want.copy_within(s as usize..(s + n) as usize, d as usize);
            let (r, k) = dispatch_resumed(&mut inst, h(Helper::Memmove), &[base + d, base + s, n]);
            assert_eq!(r, Ok(base + d));
            assert_eq!(
                mem_bytes(base, size),
                want,
                "memmove {d} <- {s}, every {every}"
            );
            assert_eq!(k > 0, every != 0);
        }

        // The string scan finds a NUL three chunks away, and refuses a string without one.
        fill_pattern(base, size);
        for k in 0..size {
            // SAFETY: as in mem_bytes.
            unsafe { ((base + k) as *mut u8).write(1) };
        }
        let nul = 3 * SCAN_CHUNK + 9;
        // SAFETY: as in mem_bytes.
        unsafe { ((base + nul) as *mut u8).write(0) };
        let out = inst.argv_buf();
        let (r, k) = dispatch_resumed(
            &mut inst,
            h(Helper::CheckAppAddrAndConvert),
            &[0, 1, 5, 0, out],
        );
        assert_eq!(r, Ok(1));
        assert_eq!(read::<u64>(out), base + 5);
        assert_eq!(k > 0, every != 0);
        // SAFETY: as in mem_bytes.
        unsafe { ((base + nul) as *mut u8).write(1) };
        let (r, _) = dispatch_resumed(
            &mut inst,
            h(Helper::CheckAppAddrAndConvert),
            &[0, 1, 5, 0, out],
        );
        assert_eq!(r, Err(ExceptionId::OutOfBoundsMemoryAccess.into()));

        // table.fill of all 4 elements, one per chunk here.
        let il = InstanceLayout::of(&m).unwrap();
        let t = inst.instance_addr() + il.tables[0].0 + TABLE_ELEMS_OFFSET as u64;
        let ia = inst.instance_addr();
        let (r, k) = dispatch_resumed(&mut inst, h(Helper::TableFill), &[ia, 0, 4, 9, 0]);
        assert_eq!(r, Ok(0));
        assert_eq!([0, 1, 2, 3].map(|i| read::<u64>(t + 8 * i)), [9; 4]);
        assert_eq!(k > 0, every != 0);
        // table.init of one element cannot be cut; table.copy of 3 overlapping elements.
        let (r, _) = dispatch_resumed(&mut inst, h(Helper::TableFill), &[ia, 0, 1, 1, 0]);
        assert_eq!(r, Ok(0));
        let (r, _) = dispatch_resumed(&mut inst, h(Helper::TableFill), &[ia, 0, 1, 2, 1]);
        assert_eq!(r, Ok(0));
        let (r, _) = dispatch_resumed(&mut inst, h(Helper::TableCopy), &[ia, 0, 0, 3, 0, 1]);
        assert_eq!(r, Ok(0));
        assert_eq!([0, 1, 2, 3].map(|i| read::<u64>(t + 8 * i)), [1, 1, 2, 9]);
    }
}

#[test]
fn interrupted_progress_is_only_taken_up_by_the_same_call() {
    use crate::runtime::helpers::COPY_CHUNK;
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let mut inst = Instance::new(&m, &bytes, Mock::default(), config()).unwrap();
    let (base, size, _) = inst.memory();
    inst.platform.interrupt_every = 1;
    let n = 3 * COPY_CHUNK;
    assert_eq!(
        inst.dispatch(h(Helper::Memset), &[base, 0x11, n]),
        Err(Stop::Interrupted)
    );
    assert_eq!(mem_bytes(base, COPY_CHUNK), vec![0x11; COPY_CHUNK as usize]);
    // Another call in between (a different value) starts from scratch and forgets it.
    inst.platform.interrupt_every = 0;
    assert_eq!(inst.dispatch(h(Helper::Memset), &[base, 0x22, n]), Ok(base));
    assert_eq!(mem_bytes(base, n), vec![0x22; n as usize]);
    // So the first call issued again does all of its work, not only the rest.
    assert_eq!(inst.dispatch(h(Helper::Memset), &[base, 0x11, n]), Ok(base));
    assert_eq!(mem_bytes(base, n), vec![0x11; n as usize]);
    // A bad range is refused before any chunk, however often the platform asks.
    inst.platform.interrupt_every = 1;
    assert_eq!(
        inst.dispatch(h(Helper::Memset), &[base + size - 4, 0x33, 8]),
        Err(ExceptionId::OutOfBoundsMemoryAccess.into())
    );
}

/// A mock that reports its live blocks when dropped, and where it reports them.
fn reporting_mock() -> (Mock, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let r = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
    let mut mock = Mock::default();
    mock.report = Some(r.clone());
    (mock, r)
}

fn live(r: &std::sync::atomic::AtomicUsize) -> usize {
    r.load(std::sync::atomic::Ordering::SeqCst)
}

/// The code image of a live instance.
fn code_bytes<P: Platform>(inst: &Instance<'_, P>) -> Vec<u8> {
    let (addr, len) = inst.code();
    mem_bytes(addr, len)
}

/// `Instance::begin` and steps of `budget`: the instance and the number of steps.
fn instantiate_in_steps<'m>(
    m: &'m crate::module::AotModule,
    bytes: &'m [u8],
    budget: u64,
) -> (alloc::boxed::Box<Instance<'m, Mock>>, usize) {
    let mut inst = Instance::begin(m, bytes, Mock::default(), config()).unwrap();
    let mut steps = 0;
    loop {
        assert!(!inst.is_ready());
        assert!(!inst.platform.sealed);
        steps += 1;
        assert!(steps < 1_000_000, "no progress");
        if inst.instantiate_step(budget).unwrap() {
            break;
        }
    }
    assert!(inst.is_ready());
    assert!(inst.platform.sealed);
    // Ready: further steps do nothing.
    assert_eq!(inst.instantiate_step(1), Ok(true));
    (inst, steps)
}

#[test]
fn stepped_instantiation_matches_new() {
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let il = InstanceLayout::of(&m).unwrap();
    let mut reference = Instance::new(&m, &bytes, Mock::default(), config()).unwrap();
    let code = code_bytes(&reference);
    assert!(!code.is_empty());
    let ref_globals: Vec<[u8; 16]> = il
        .globals
        .iter()
        .map(|&g| read::<[u8; 16]>(reference.instance_addr() + g))
        .collect();
    let (rbase, rsize, _) = reference.memory();
    let ref_mem = mem_bytes(rbase, rsize);
    let ref_regs = reference.prepare_call(2, &[]).unwrap();
    let rdrop = reference.dispatch(h(Helper::DataDrop), &[reference.instance_addr(), 1]);
    let rfill = reference.dispatch(
        h(Helper::TableFill),
        &[reference.instance_addr(), 0, 2, 5, 0],
    );
    let rquota = reference.quota().used();
    let mut last = usize::MAX;
    for budget in [1, 7, 100, u64::MAX] {
        let (mut inst, steps) = instantiate_in_steps(&m, &bytes, budget);
        assert!(steps <= last, "budget {budget}: {steps} steps");
        last = steps;
        if budget == 1 {
            assert!(steps as u64 >= inst.code().1 / 64, "{steps}");
        }
        if budget == u64::MAX {
            assert_eq!(steps, 1);
        }
        // The kitchen sink's aarch64 image does not depend on its address.
        assert_eq!(code_bytes(&inst), code, "budget {budget}");
        assert_eq!(inst.quota().used(), rquota);
        for (&g, want) in il.globals.iter().zip(&ref_globals) {
            assert_eq!(read::<[u8; 16]>(inst.instance_addr() + g), *want);
        }
        let (base, size, _) = inst.memory();
        assert_eq!(mem_bytes(base, size), ref_mem);
        let regs = inst.prepare_call(2, &[]).unwrap();
        assert_eq!(
            regs.func - inst.code().0,
            ref_regs.func - reference.code().0
        );
        assert_eq!(regs.int[0], inst.exec_env());
        assert_eq!(regs.int[1..], ref_regs.int[1..]);
        assert_eq!(
            inst.dispatch(h(Helper::DataDrop), &[inst.instance_addr(), 1]),
            rdrop
        );
        assert_eq!(
            inst.dispatch(h(Helper::TableFill), &[inst.instance_addr(), 0, 2, 5, 0]),
            rfill
        );
    }
}

#[test]
fn stepped_instantiation_of_x86_64_matches_the_image_at_its_address() {
    // x86-64 `.rodata` holds the absolute address of `.text`: compare with `image::build` at
    // the stepped instance's own address.
    let mut b = ModuleBuilder::kitchen_sink(Arch::X86_64);
    b.import_globals.clear();
    b.globals[0] = (ValType::I32, true, InitExpr::I32(40));
    b.globals[6] = (ValType::I32, false, InitExpr::I32(3));
    let bytes = b.build();
    let m = crate::parse(&bytes, Arch::X86_64).unwrap();
    for budget in [1, 7, u64::MAX] {
        let (mut inst, _) = instantiate_in_steps(&m, &bytes, budget);
        let (addr, len) = inst.code();
        let layout = crate::image::plan(&m, 4096).unwrap();
        let mut want = alloc::vec![0u8; len as usize];
        let ctx = inst.ctx();
        let mut resolve = |name: &str| {
            let h = Helper::from_name(name)?;
            inst.platform.entry_address(ctx, Entry::Helper(h))
        };
        crate::image::build(&m, &bytes, &layout, &mut want, addr, &mut resolve).unwrap();
        assert_eq!(code_bytes(&inst), want, "budget {budget}");
    }
}

#[test]
fn unfinished_instance_refuses_calls_and_drops_cleanly() {
    let bytes = module_bytes();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let refused: Result<u64, Stop> = Err(Trap::msg("module is not instantiated").into());
    for steps in [0, 1, 5] {
        let (mock, report) = reporting_mock();
        let mut inst = Instance::begin(&m, &bytes, mock, config()).unwrap();
        for _ in 0..steps {
            assert_eq!(inst.instantiate_step(1), Ok(false));
        }
        assert!(!inst.is_ready());
        // Only the code image is allocated and charged so far.
        assert_eq!(inst.platform.live.len(), 1);
        let image_len = crate::image::plan(&m, 4096).unwrap().total_len;
        assert_eq!(inst.quota().used(), u64::from(image_len));
        assert_eq!(inst.code().1, 0); // no image until it is built
        assert!(inst.func_addr(1).is_none());
        assert!(matches!(
            inst.prepare_call(1, &[]),
            Err(Stop::Trap(Trap::Message(ref s))) if s == "module is not instantiated"
        ));
        assert!(inst.prepare_call(2, &[]).is_err());
        let ia = inst.instance_addr();
        assert_eq!(inst.dispatch(h(Helper::DataDrop), &[ia, 1]), refused);
        assert_eq!(inst.dispatch(h(Helper::Memset), &[0, 0, 8]), refused);
        assert!(!inst.platform.sealed);
        drop(inst);
        assert_eq!(live(&report), 0, "after {steps} steps");
    }
}

#[test]
fn failed_instantiation_step_is_final_and_drops_cleanly() {
    // A positive addend on a branch to a helper: the relocation stage fails.
    let mut b = ModuleBuilder::kitchen_sink(Arch::Aarch64);
    b.import_globals.clear();
    b.globals[0] = (ValType::I32, true, InitExpr::I32(40));
    b.globals[6] = (ValType::I32, false, InitExpr::I32(3));
    b.relocation_groups[0].1[3].1 = 4;
    let bytes = b.build();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    for budget in [1, u64::MAX] {
        let (mock, report) = reporting_mock();
        let mut inst = Instance::begin(&m, &bytes, mock, config()).unwrap();
        let e = loop {
            match inst.instantiate_step(budget) {
                Ok(false) => {}
                Ok(true) => panic!("instantiated"),
                Err(e) => break e,
            }
        };
        assert!(matches!(
            e,
            InstantiateError::Image(crate::image::ImageError::PltAddend { .. })
        ));
        assert_eq!(
            inst.instantiate_step(budget),
            Err(InstantiateError::Abandoned)
        );
        assert!(!inst.is_ready());
        let ia = inst.instance_addr();
        assert!(inst.dispatch(h(Helper::DataDrop), &[ia, 1]).is_err());
        drop(inst);
        assert_eq!(live(&report), 0);
    }
    // Instance::new reports the same error and frees everything too.
    let (mock, report) = reporting_mock();
    assert!(matches!(
        Instance::new(&m, &bytes, mock, config()),
        Err(InstantiateError::Image(
            crate::image::ImageError::PltAddend { .. }
        ))
    ));
    assert_eq!(live(&report), 0);
}

#[test]
fn stepped_instantiation_of_an_empty_image() {
    // No functions: nothing to build, the first step instantiates.
    let mut b = ModuleBuilder::new(Arch::Aarch64);
    b.types.push((Vec::new(), Vec::new()));
    let bytes = b.build();
    let m = crate::parse(&bytes, Arch::Aarch64).unwrap();
    let (mock, report) = reporting_mock();
    let mut inst = Instance::begin(&m, &bytes, mock, config()).unwrap();
    assert!(!inst.is_ready());
    assert_eq!(inst.code(), (0, 0));
    assert_eq!(inst.instantiate_step(1), Ok(true));
    assert!(inst.is_ready());
    drop(inst);
    assert_eq!(live(&report), 0);
}
