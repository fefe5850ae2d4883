//! The runtime on real wamrc files for the host processor (x86_64 natively; aarch64 with
//! `cargo test --target aarch64-unknown-linux-musl` under qemu-aarch64): typed calls, traps and
//! recovery after the non-local exit, quota errors, and helpers refusing bad pointers from
//! module code whatever the instance mirror says.

use tzwasm_aot_loader::layout::{ExceptionId, MemoryInstance, MEMORY_INSTANCES_OFFSET};
use tzwasm_aot_loader::runtime::{
    Entry, Helper, InstanceConfig, InstantiateError, Stop, Trap, Value,
};
use tzwasm_aot_loader::{parse, AotModule, Arch};
use tzwasm_aot_run::{call, format_results, HostInstance, HostPlatform, HostWasi};

fn arch() -> Arch {
    Arch::host().expect("x86_64 or aarch64 host")
}

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../aot-loader/tests/data")
        .join(format!("{name}.{}.aot", arch().name()));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fixture_variant(name: &str, variant: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../aot-loader/tests/data")
        .join(format!("{name}.{}{variant}.aot", arch().name()));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn instantiate<'m>(m: &'m AotModule, bytes: &'m [u8]) -> Box<HostInstance<'m>> {
    let config = InstanceConfig {
        heap_quota: 64 << 20,
        ..InstanceConfig::default()
    };
    HostInstance::new(m, bytes, HostPlatform::new(HostWasi::new(&[], &[])), config)
        .unwrap_or_else(|e| panic!("instantiate: {e}"))
}

fn expected(i: i32) -> i32 {
    let sel = match i {
        0 => 7,
        1 => 300,
        2 => 5,
        _ => 44,
    };
    sel + 1000 + 55 + (f64::from(i) * 1.5) as i32
}

fn exec_variant(variant: &str) {
    let bytes = fixture_variant("exec", variant);
    let m = parse(&bytes, arch()).unwrap();
    let mut inst = instantiate(&m, &bytes);
    let run = inst.export_func("run").unwrap();
    for round in 0..2 {
        for i in 0..6 {
            assert_eq!(
                call(&mut inst, run, &[Value::I32(i)]),
                Ok(vec![Value::I32(expected(i))]),
                "{variant} round {round} run({i})"
            );
        }
        // i32.trunc_f64_s overflow: the helper never returns; the run ends with a typed trap
        // and the instance stays usable.
        assert_eq!(
            call(&mut inst, run, &[Value::I32(i32::MAX)]),
            Err(Stop::Trap(Trap::Exception(ExceptionId::IntegerOverflow)))
        );
    }
    let fib = inst.export_func("fib").unwrap();
    assert_eq!(
        call(&mut inst, fib, &[Value::I32(20)]),
        Ok(vec![Value::I32(6765)])
    );
    // Wrong argument types are refused before anything runs.
    assert!(call(&mut inst, fib, &[Value::I64(20)]).is_err());
    assert!(call(&mut inst, fib, &[]).is_err());
}

#[test]
fn small_code_model_calls_and_traps() {
    exec_variant("");
}

#[test]
fn software_bounds_checks_calls_and_traps() {
    exec_variant(".bc1");
}

#[test]
fn large_code_model_calls_and_traps() {
    exec_variant(".s0");
}

#[test]
fn features_multi_value_floats_and_simd() {
    let bytes = fixture("features");
    let m = parse(&bytes, arch()).unwrap();
    // features.wat imports a global, which tzwasm does not provide: a clean error.
    let e = HostInstance::new(
        &m,
        &bytes,
        HostPlatform::new(HostWasi::new(&[], &[])),
        InstanceConfig::default(),
    )
    .err()
    .expect("import global refused");
    assert!(
        matches!(&e, InstantiateError::UnknownImport(s) if s.contains("g_imp")),
        "{e}"
    );
}

#[test]
fn quota_errors_say_how_much_is_needed() {
    let bytes = fixture("exec");
    let m = parse(&bytes, arch()).unwrap();
    for limit in [0u64, 4096, 200 << 10, 1 << 20] {
        let config = InstanceConfig {
            heap_quota: limit,
            stack_size: 1 << 20,
            ..InstanceConfig::default()
        };
        let r = HostInstance::new(
            &m,
            &bytes,
            HostPlatform::new(HostWasi::new(&[], &[])),
            config,
        );
        match r {
            Err(InstantiateError::Quota(q)) => {
                assert_eq!(q.limit, limit);
                assert!(q.needed() > limit);
                assert!(q.to_string().contains("heap quota exceeded"), "{q}");
            }
            Err(e) => panic!("limit {limit}: unexpected error {e}"),
            Ok(_) => panic!("limit {limit}: instantiated"),
        }
    }
    // Enough: code + data + 1 MiB stack + one 64 KiB page.
    let config = InstanceConfig {
        heap_quota: 2 << 20,
        stack_size: 1 << 20,
        ..InstanceConfig::default()
    };
    let inst = HostInstance::new(
        &m,
        &bytes,
        HostPlatform::new(HostWasi::new(&[], &[])),
        config,
    )
    .unwrap();
    assert!(inst.quota().used() > (1 << 20) + 65536);
    assert!(inst.quota().used() <= 2 << 20);
}

#[test]
fn footprint_is_the_exact_minimum_quota() {
    let bytes = fixture("exec");
    let m = parse(&bytes, arch()).unwrap();
    let base = InstanceConfig {
        stack_size: 256 << 10,
        ..InstanceConfig::default()
    };
    let page = tzwasm_aot_loader::runtime::Platform::page_size(&HostPlatform::new(HostWasi::new(
        &[],
        &[],
    )));
    let need = tzwasm_aot_loader::runtime::footprint_total(&m, &base, page).unwrap();
    let with = |limit: u64| {
        HostInstance::new(
            &m,
            &bytes,
            HostPlatform::new(HostWasi::new(&[], &[])),
            InstanceConfig {
                heap_quota: limit,
                ..base
            },
        )
    };
    match with(need - 1) {
        Err(InstantiateError::Quota(q)) => assert!(q.limit == need - 1),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("instantiated below the footprint"),
    }
    let inst = with(need).expect("the footprint is enough");
    assert_eq!(
        inst.quota().used(),
        need,
        "footprint = what instantiation charges"
    );
}

fn helper(h: Helper) -> u64 {
    u64::from(Entry::Helper(h).to_id())
}

#[test]
fn helpers_check_pointers_against_own_records() {
    let bytes = fixture("exec");
    let m = parse(&bytes, arch()).unwrap();
    let mut inst = instantiate(&m, &bytes);
    let (base, size, window) = inst.memory();
    assert_eq!(size, 65536);
    assert!(window >= 8 << 30);
    let ia = inst.instance_addr();
    let argv = inst.argv_buf();
    let oob = Err(Stop::Trap(Trap::Exception(
        ExceptionId::OutOfBoundsMemoryAccess,
    )));

    // In range: the native address goes to *out.
    assert_eq!(
        inst.dispatch(
            helper(Helper::CheckAppAddrAndConvert),
            &[ia, 0, 100, 16, argv]
        ),
        Ok(1)
    );
    // SAFETY: argv_buf is 8-aligned module data owned by the live instance.
    assert_eq!(unsafe { std::ptr::read(argv as *const u64) }, base + 100);
    // Past the end, or the size crossing it.
    assert_eq!(
        inst.dispatch(
            helper(Helper::CheckAppAddrAndConvert),
            &[ia, 0, size, 1, argv]
        ),
        oob
    );
    assert_eq!(
        inst.dispatch(
            helper(Helper::CheckAppAddrAndConvert),
            &[ia, 0, size - 4, 5, argv]
        ),
        oob
    );
    // An out-pointer outside module-writable memory (here: the runtime's own stack).
    let mut local = 0u64;
    let outside = &mut local as *mut u64 as u64;
    assert_eq!(
        inst.dispatch(
            helper(Helper::CheckAppAddrAndConvert),
            &[ia, 0, 0, 1, outside]
        ),
        oob
    );
    assert_eq!(local, 0);

    // Module code rewrites the memory instance mirror to claim 4 GiB: the runtime ignores it.
    let mirror = (ia + MEMORY_INSTANCES_OFFSET as u64) as *mut MemoryInstance;
    // SAFETY: the mirror lies in the instance's data block, which module code may write.
    unsafe {
        (*mirror).memory_data_size = 1 << 32;
        (*mirror).cur_page_count = 65536;
        (*mirror).memory_data = outside;
    }
    assert_eq!(
        inst.dispatch(
            helper(Helper::CheckAppAddrAndConvert),
            &[ia, 0, 1 << 20, 1, argv]
        ),
        oob
    );
    // memmove/memset only inside module-writable memory.
    assert_eq!(
        inst.dispatch(helper(Helper::Memset), &[outside, 0xff, 8]),
        oob
    );
    assert_eq!(local, 0);
    assert_eq!(
        inst.dispatch(helper(Helper::Memmove), &[base + 8, outside, 8]),
        oob
    );
    assert_eq!(
        inst.dispatch(helper(Helper::Memset), &[base + 16, 0xab, 4]),
        Ok(base + 16)
    );
    assert_eq!(
        inst.dispatch(helper(Helper::Memmove), &[base + 32, base + 16, 4]),
        Ok(base + 32)
    );
    // SAFETY: inside committed linear memory.
    let v = unsafe { std::ptr::read((base + 32) as *const u32) };
    assert_eq!(v, 0xabab_abab);

    // exec.wat never grows its memory, so wamrc folded it into one page with max 1: grow is
    // refused without a trap, whatever the forged mirror says.
    assert_eq!(
        inst.dispatch(helper(Helper::EnlargeMemory), &[ia, 1]),
        Ok(0)
    );
    assert_eq!(inst.memory().1, 65536);
    // Unknown entries and exception ids.
    assert!(inst.dispatch(0xdead, &[]).is_err());
    assert_eq!(
        inst.dispatch(helper(Helper::SetExceptionWithId), &[ia, 4]),
        Err(Stop::Trap(Trap::Exception(
            ExceptionId::IntegerDivideByZero
        )))
    );

    // Faults: inside the window beyond the committed size, and below the stack.
    let (low, _) = inst.stack();
    assert_eq!(
        inst.fault(base + 65536 + 5),
        Some(Stop::Trap(Trap::Exception(
            ExceptionId::OutOfBoundsMemoryAccess
        )))
    );
    assert_eq!(
        inst.fault(low - 8),
        Some(Stop::Trap(Trap::Exception(
            ExceptionId::NativeStackOverflow
        )))
    );
    assert_eq!(inst.fault(outside), None);
}

#[test]
fn results_are_printed_like_iwasm() {
    assert_eq!(
        format_results(&[
            Value::I32(-1),
            Value::I64(42),
            Value::F32(1.5f32.to_bits()),
            Value::F64((-0.25f64).to_bits()),
            Value::V128(0x0102_0304_0506_0708_0000_0000_0000_0001),
            Value::FuncRef(u32::MAX),
        ])
        .unwrap(),
        "0xffffffff:i32,0x2a:i64,1.5:f32,-0.25:f64,<0x0000000000000001 0x0102030405060708>:v128,func:ref.null"
    );
}
