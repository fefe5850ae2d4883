//! Allocation fault injection over LOAD + RUN on the host (issue 11, "no panic reachable from
//! input"): a global allocator that fails the Nth allocation of the current thread. For every
//! N from 1 to the number of allocations a good parse + instantiate + call makes, the same
//! sequence must answer with an error (a load error, an instantiate error or a trap), never
//! panic or abort, and the next unrestricted run must succeed with the right results. A second
//! pass fails every allocation from the Nth on (an exhausted pool), so error paths must not
//! need memory either.
//!
//! Also here, because they need the counting allocator: `table.copy` over a 1,000,000-slot
//! table allocates nothing, and a relocation symbol costs 20 bytes of memory after parsing.
//!
//! Modules: the committed fixtures (tests/data/exec*, the writer's minimal module) always,
//! and the `func:` tests of guests/manifest.txt on wat-* modules when the corpus has been built
//! (build/corpus, `make corpus`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use tzwasm_aot_loader::layout::{ModuleInstance, TABLE_ELEMS_OFFSET};
use tzwasm_aot_loader::module::TableType;
use tzwasm_aot_loader::runtime::{abi, Entry, Helper, InstanceConfig, Stop, Value};
use tzwasm_aot_loader::writer::ModuleBuilder;
use tzwasm_aot_loader::{parse, Arch};
use tzwasm_aot_run::{call, HostInstance, HostPlatform, HostWasi};

// ---- the allocator ---------------------------------------------------------------------------

/// Fails allocations of the current thread when armed (counters are per thread, so tests in
/// this binary may run in parallel).
struct FaultAlloc;

thread_local! {
    /// Counting allocations: true between `arm` and `disarm`.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// Allocations counted since `arm`.
    static COUNT: Cell<u64> = const { Cell::new(0) };
    /// The allocation to fail (1-based; 0 = none).
    static FAIL_AT: Cell<u64> = const { Cell::new(0) };
    /// Fail every allocation from FAIL_AT on, not just that one.
    static STICKY: Cell<bool> = const { Cell::new(false) };
    /// Bytes live (allocated minus freed) since `arm`, and the peak.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn should_fail(size: usize) -> bool {
    ARMED
        .try_with(|armed| {
            if !armed.get() {
                return false;
            }
            let n = COUNT.with(|c| {
                c.set(c.get() + 1);
                c.get()
            });
            let at = FAIL_AT.with(Cell::get);
            let fail = at != 0 && (n == at || (STICKY.with(Cell::get) && n > at));
            if !fail {
                LIVE.with(|l| {
                    l.set(l.get() + size as i64);
                    PEAK.with(|p| p.set(p.get().max(l.get())));
                });
            }
            fail
        })
        .unwrap_or(false)
}

fn freed(size: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            LIVE.with(|l| l.set(l.get() - size as i64));
        }
    });
}

// SAFETY: delegates to the system allocator, or returns null (a valid "out of memory" answer).
unsafe impl GlobalAlloc for FaultAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if should_fail(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if should_fail(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        freed(layout.size());
        // SAFETY: `ptr` came from System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if should_fail(new_size) {
            return std::ptr::null_mut();
        }
        freed(layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: FaultAlloc = FaultAlloc;

/// Starts counting; `fail_at` = 0 fails nothing.
fn arm(fail_at: u64, sticky: bool) {
    COUNT.with(|c| c.set(0));
    FAIL_AT.with(|f| f.set(fail_at));
    STICKY.with(|s| s.set(sticky));
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ARMED.with(|a| a.set(true));
}

/// Stops counting; returns the allocations counted.
fn disarm() -> u64 {
    ARMED.with(|a| a.set(false));
    COUNT.with(Cell::get)
}

// ---- one LOAD + RUN --------------------------------------------------------------------------

fn arch() -> Arch {
    Arch::host().expect("x86_64 or aarch64 host")
}

/// A module and the call to make: export, argument strings (parsed by the loader as iwasm's
/// `-f` does) and the expected output line.
struct Case {
    name: String,
    bytes: Vec<u8>,
    export: String,
    args: Vec<String>,
    expected: String,
}

/// What a run ended with: the results line, or where it stopped.
#[derive(Debug)]
enum Outcome {
    Ok(String),
    Load,
    Instantiate,
    Args,
    Trap(Stop),
    Format,
}

/// Parse, instantiate, parse the arguments, call and format, all with the allocator as armed
/// by the caller. The test side allocates nothing in between (the platform and the argument
/// list are made before).
fn run_case(case: &Case, platform: HostPlatform, args: &[&str]) -> Outcome {
    let Ok(m) = parse(&case.bytes, arch()) else {
        return Outcome::Load;
    };
    let config = InstanceConfig {
        heap_quota: 64 << 20,
        stack_size: 256 << 10,
        ..InstanceConfig::default()
    };
    let Ok(mut inst) = HostInstance::new(&m, &case.bytes, platform, config) else {
        return Outcome::Instantiate;
    };
    if let Some(start) = inst.start_function() {
        if let Err(stop) = call(&mut inst, start, &[]) {
            return Outcome::Trap(stop);
        }
    }
    let Some(idx) = inst.export_func(&case.export) else {
        return Outcome::Instantiate;
    };
    let Some(ty) = inst.func_type(idx) else {
        return Outcome::Instantiate;
    };
    let Ok(values) = abi::parse_args(ty, args) else {
        return Outcome::Args;
    };
    match call(&mut inst, idx, &values) {
        Ok(results) => match abi::format_results(&results) {
            Ok(line) => Outcome::Ok(line),
            Err(_) => Outcome::Format,
        },
        Err(stop) => Outcome::Trap(stop),
    }
}

/// Runs `case` under `fail_at`; returns the outcome and the allocations counted.
fn armed_run(case: &Case, fail_at: u64, sticky: bool) -> (Outcome, u64) {
    let platform = HostPlatform::new(HostWasi::new(&[], &[]));
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    arm(fail_at, sticky);
    let out = run_case(case, platform, &args);
    let n = disarm();
    (out, n)
}

fn good_run(case: &Case) {
    let (out, _) = armed_run(case, 0, false);
    match out {
        Outcome::Ok(line) => assert_eq!(line, case.expected, "{}", case.name),
        other => panic!("{}: unrestricted run failed: {other:?}", case.name),
    }
}

/// Every fault point of `case`, in both modes. Returns the number of points.
fn inject_all(case: &Case) -> u64 {
    // Touch stdout now, so its buffer is not first allocated under injection.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    good_run(case);
    let (out, total) = armed_run(case, 0, false);
    assert!(matches!(out, Outcome::Ok(_)), "{}: {out:?}", case.name);
    assert!(total > 0, "{}: no allocations counted", case.name);
    for sticky in [false, true] {
        for n in 1..=total {
            let (out, _) = armed_run(case, n, sticky);
            assert!(
                !matches!(out, Outcome::Ok(_)),
                "{}: allocation {n} of {total} failed (sticky {sticky}) but the run answered \
                 {out:?}",
                case.name
            );
            if let Outcome::Trap(stop) = &out {
                // A run that got as far as module code can only have run out of memory.
                let text = format!("{stop}");
                assert!(
                    text.contains("allocate memory failed") || text.contains("out of memory"),
                    "{}: allocation {n}: {text}",
                    case.name
                );
            }
            good_run(case);
        }
    }
    total
}

// ---- the cases -------------------------------------------------------------------------------

fn top() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> Vec<u8> {
    let p = top().join("aot-loader/tests/data").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn exec_case(variant: &str, i: i32) -> Case {
    let sel = match i {
        0 => 7,
        1 => 300,
        2 => 5,
        _ => 44,
    };
    let want = sel + 1000 + 55 + (f64::from(i) * 1.5) as i32;
    Case {
        name: format!("exec{variant} run({i})"),
        bytes: fixture(&format!("exec.{}{variant}.aot", arch().name())),
        export: "run".into(),
        args: vec![i.to_string()],
        expected: format!("0x{:x}:i32", want as u32),
    }
}

fn fixture_cases() -> Vec<Case> {
    let mut v = vec![
        exec_case("", 0),
        exec_case("", 3),
        exec_case(".bc1", 1),
        exec_case(".s0", 2),
    ];
    v.push(Case {
        name: "exec fib(20)".into(),
        bytes: fixture(&format!("exec.{}.aot", arch().name())),
        export: "fib".into(),
        args: vec!["20".into()],
        expected: "0x1a6d:i32".into(),
    });
    v.push(Case {
        name: "writer minimal".into(),
        bytes: ModuleBuilder::minimal(arch()).build(),
        export: "run".into(),
        args: vec![],
        expected: "0x2a:i32".into(),
    });
    v
}

/// `func:` tests on wat-* modules from the manifest whose expected run exits 0.
fn corpus_cases() -> Vec<Case> {
    let variant = format!("{}-bc0", arch().name());
    let corpus = top().join("build/corpus");
    let Ok(manifest) = std::fs::read_to_string(top().join("guests/manifest.txt")) else {
        return Vec::new();
    };
    let decode = |s: &str| s.replace("%20", " ").replace("%25", "%");
    let mut out = Vec::new();
    for line in manifest.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [test, module, entry, args, _env] = f[..] else {
            continue;
        };
        let Some(export) = entry.strip_prefix("func:") else {
            continue;
        };
        if !module.starts_with("wat-") {
            continue;
        }
        let dir = corpus.join("expected").join(&variant).join(test);
        let (Ok(bytes), Ok(stdout), Ok(exit)) = (
            std::fs::read(corpus.join(&variant).join(format!("{module}.aot"))),
            std::fs::read_to_string(dir.join("stdout")),
            std::fs::read_to_string(dir.join("exit")),
        ) else {
            continue;
        };
        if exit.trim() != "0" {
            continue;
        }
        out.push(Case {
            name: test.into(),
            bytes,
            export: export.into(),
            args: args
                .split(' ')
                .filter(|a| !a.is_empty())
                .map(decode)
                .collect(),
            expected: stdout.trim_end().into(),
        });
    }
    out
}

#[test]
fn every_allocation_failure_is_an_error_and_the_next_run_succeeds() {
    let mut points = 0;
    let mut modules = 0;
    for case in fixture_cases() {
        let n = inject_all(&case);
        eprintln!(
            "{}: {n} allocations, each failed alone and from there on",
            case.name
        );
        points += n;
        modules += 1;
    }
    assert!(points > 100, "only {points} fault points");
    eprintln!("fixtures: {modules} runs, {points} fault points (x2 modes)");
}

#[test]
fn corpus_allocation_failures_are_errors() {
    let cases = corpus_cases();
    if cases.is_empty() {
        eprintln!("build/corpus not built: corpus fault injection skipped (run `make corpus`)");
        return;
    }
    let mut points = 0;
    // A spread of modules, not every test of each.
    let mut seen = std::collections::HashSet::new();
    let mut runs = 0;
    for case in &cases {
        let key = case.bytes.len();
        if !seen.insert(key) {
            continue;
        }
        let n = inject_all(case);
        eprintln!("{}: {n} allocations", case.name);
        points += n;
        runs += 1;
    }
    eprintln!("corpus: {runs} runs, {points} fault points (x2 modes)");
}

// ---- table.copy over a million slots, and the cost of a relocation symbol ----------------

/// Reads slot `i` of table 0 of `inst` through the module instance (test only).
fn table_slot(inst: &HostInstance<'_>, i: usize) -> u64 {
    let mi = inst.instance_addr() as *const ModuleInstance;
    // SAFETY: the module instance, its table pointer array and table 0 with its slots live in
    // this instance's data block for as long as `inst`; the runtime wrote them.
    unsafe {
        let tables = (*mi).tables as *const u64;
        let t0 = *tables;
        *((t0 as usize + TABLE_ELEMS_OFFSET + 8 * i) as *const u64)
    }
}

#[test]
fn table_copy_of_a_million_slots_needs_no_memory() {
    const SLOTS: u32 = 1_000_000;
    let mut b = ModuleBuilder::minimal(arch());
    b.tables.push(TableType {
        elem_type: 0x70,
        flags: 0,
        possible_grow: false,
        init_size: SLOTS,
        max_size: SLOTS,
    });
    let bytes = b.build();
    let m = parse(&bytes, arch()).unwrap();
    // The configuration: --heap 13M.
    let config = InstanceConfig {
        heap_quota: 13 << 20,
        ..InstanceConfig::default()
    };
    let mut inst = HostInstance::new(
        &m,
        &bytes,
        HostPlatform::new(HostWasi::new(&[], &[])),
        config,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ctx = inst.instance_addr();
    let id = |h: Helper| u64::from(Entry::Helper(h).to_id());
    // table.fill [0, 500000) with function 0, then table.copy over all of it shifted by one
    // (overlapping, so it must be a memmove), then copy the whole table onto itself.
    let fill = [ctx, 0, u64::from(SLOTS / 2), 0, 0];
    assert_eq!(inst.dispatch(id(Helper::TableFill), &fill), Ok(0));
    let shift = [ctx, 0, 0, u64::from(SLOTS - 1), 0, 1];
    let whole = [ctx, 0, 0, u64::from(SLOTS), 0, 0];
    arm(1, true); // any allocation fails
    let r1 = inst.dispatch(id(Helper::TableCopy), &shift);
    let r2 = inst.dispatch(id(Helper::TableCopy), &whole);
    let allocs = disarm();
    assert_eq!((r1, r2, allocs), (Ok(0), Ok(0), 0));
    assert_eq!(table_slot(&inst, 0), 0);
    assert_eq!(table_slot(&inst, 1), 0);
    assert_eq!(table_slot(&inst, SLOTS as usize / 2), 0);
    assert_eq!(table_slot(&inst, SLOTS as usize / 2 + 1), 0xffff_ffff);
    assert_eq!(table_slot(&inst, SLOTS as usize - 1), 0xffff_ffff);
    // Out of range is a trap, not a partial copy.
    let oob = [ctx, 0, 0, u64::from(SLOTS), 1, 0];
    assert_eq!(
        inst.dispatch(id(Helper::TableCopy), &oob)
            .map_err(|s| s.to_string()),
        Err("Exception: out of bounds table access".to_string())
    );
    // And the run goes on.
    let run = inst.export_func("run").unwrap();
    assert_eq!(call(&mut inst, run, &[]), Ok(vec![Value::I32(42)]));
}

#[test]
fn a_relocation_symbol_costs_twenty_bytes_after_parsing() {
    const N: usize = 5_000;
    let call = match arch() {
        Arch::Aarch64 => tzwasm_aot_loader::reloc::aarch64::CALL26,
        Arch::X86_64 => tzwasm_aot_loader::reloc::x86_64::PLT32,
    };
    let build = |n: usize| {
        let mut b = ModuleBuilder::minimal(arch());
        // One call relocation per distinct runtime symbol (all at offset 0; only parsed).
        let relocs = (0..n).map(|i| (0, 0, call, format!("f{i}"))).collect();
        b.relocation_groups.push((".rela.text".to_string(), relocs));
        b.build()
    };
    let measure = |bytes: &[u8]| {
        arm(0, false);
        let m = parse(bytes, arch()).unwrap();
        disarm();
        let (live, peak) = (LIVE.with(Cell::get), PEAK.with(Cell::get));
        assert!(m.symbols.len() > N || bytes.len() < 1000);
        drop(m);
        (live, peak)
    };
    let (small, big) = (build(1), build(N + 1));
    let ((live1, peak1), (live, peak)) = (measure(&small), measure(&big));
    let file_per_symbol = (big.len() - small.len()) as f64 / N as f64;
    // Each symbol here brings one 24-byte relocation record (24 bytes of file as well).
    let per_symbol = (live - live1) as f64 / N as f64 - 24.0;
    let peak_per_symbol = (peak - peak1) as f64 / N as f64 - 24.0;
    eprintln!(
        "relocation symbols: {file_per_symbol:.1} file bytes each with its relocation, \
         {per_symbol:.1} bytes of memory each (besides the relocation) after parsing, \
         {peak_per_symbol:.1} at the peak"
    );
    // 12 (Symbol) + 8 (name span).
    assert!(per_symbol <= 20.5, "{per_symbol} bytes per symbol");
    assert!(
        peak_per_symbol <= 20.5,
        "{peak_per_symbol} bytes per symbol at the peak"
    );
}
