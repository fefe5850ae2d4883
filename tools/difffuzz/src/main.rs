//! `tzwasm-difffuzz`: differential fuzzing of tzwasm's AOT runtime against WAMR 2.4.3's
//! iwasm. Random valid modules (wasm-smith, see `gen.rs`) are compiled with the project's
//! wamrc (x86_64, or aarch64 with `--arch`) and every function, exported or not, is called
//! through a probe export in both runtimes; results, memory, globals and trap messages must
//! agree. See docs/conformance.md, "Fuzzing".
//!
//! ```text
//! tzwasm-difffuzz [-n N] [--seed S] [--start I] [--jobs J] [--fuel F] [--timeout SECS]
//!                 [--call-timeout SECS] [--wamrc PATH] [--iwasm PATH] [--work DIR] [-v]
//!                 [--arch x86_64|aarch64 [--aot-run PATH] [--runner PROG]] [--emit FILE]
//! ```
//!
//! `--arch aarch64` compiles for aarch64 and runs both sides under qemu-aarch64: iwasm as
//! `build/wamr/iwasm-aarch64` and tzwasm as the aarch64 `aot-run` (`--aot-run`, default
//! `target/aarch64-unknown-linux-musl/release/aot-run`, under `--runner`, default
//! `qemu-aarch64`). `--emit FILE` writes module `--start` of `--seed` (with its probes) and
//! lists its calls.
//!
//! Module `i` of seed `S` is a pure function of `(S, i)`: `--seed S --start i -n 1 -v`
//! reproduces one. Each module runs in a child process (`--one S i`, at most `--jobs` at
//! once, `--timeout` each), so a crash or a hang of tzwasm's runtime costs one module and is
//! reported. Mismatching modules are saved as `<work>/failures/<S>-<i>.wasm` with a `.txt`
//! report. The last line is `N passed, M failed, K skipped`; the exit status is 1 if any
//! module failed.

mod exec;
mod gen;
mod rng;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exec::{Outcome, Verdict};
use tzwasm_aot_loader::Arch;

#[derive(Clone)]
struct Opts {
    n: u64,
    seed: u64,
    start: u64,
    jobs: usize,
    fuel: u32,
    timeout: u64,
    call_timeout: u64,
    wamrc: PathBuf,
    iwasm: PathBuf,
    /// aarch64: the aarch64 `aot-run` and the program that runs it (qemu-aarch64).
    arch: Arch,
    aot_run: PathBuf,
    runner: PathBuf,
    work: PathBuf,
    verbose: bool,
}

/// Child mode: one module; prints `W`/`P` lines per probe and a final `V` line.
fn run_one(o: &Opts, seed: u64, index: u64) {
    let g = match gen::generate(seed, index, o.fuel) {
        Ok(g) => g,
        Err(e) => {
            println!("V skip - generation: {}", e.replace('\n', " "));
            return;
        }
    };
    let props = if g.proposals.is_empty() {
        "-".to_string()
    } else {
        g.proposals.join(",")
    };
    if g.probes.is_empty() {
        println!("V skip {props} no function to call");
        return;
    }
    let dir = o.work.join("tmp").join(format!("{seed}-{index}"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        println!("V fail {props} {}: {e}", dir.display());
        return;
    }
    let aot = match exec::compile(&o.wamrc, o.arch, &dir, &g.wasm, &g.wamrc_flags) {
        Ok(a) => a,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            println!("V skip {props} {}", e.replace('\n', " "));
            return;
        }
    };
    // x86_64: tzwasm in this process; aarch64: aot-run under the runner, like iwasm.
    let ours = if o.arch == Arch::X86_64 {
        match exec::Ours::load(&aot) {
            Ok(x) => Some(x),
            Err(e) => {
                println!("V fail {props} {e}");
                return;
            }
        }
    } else {
        None
    };
    let limit = Duration::from_secs(o.call_timeout);
    let (mut matched, mut mismatched, mut skipped, mut timeouts) = (0, 0, 0, 0);
    for (k, p) in g.probes.iter().enumerate() {
        let want = exec::run_tool(std::slice::from_ref(&o.iwasm), &dir, &aot, p, limit);
        println!("W {k} {want}");
        let got = match &ours {
            _ if want == Outcome::Timeout => Outcome::Timeout,
            Some(ours) => ours.run(p),
            None => exec::run_tool(&[o.runner.clone(), o.aot_run.clone()], &dir, &aot, p, limit),
        };
        let v = exec::compare(&p.kinds, &want, &got);
        let tag = match v {
            Verdict::Match => {
                matched += 1;
                "match"
            }
            Verdict::Mismatch => {
                mismatched += 1;
                "MISMATCH"
            }
            Verdict::Skip(_) => {
                skipped += 1;
                "skip"
            }
            Verdict::Timeout => {
                timeouts += 1;
                "timeout"
            }
        };
        println!(
            "P {k} {tag} {} args {:x?}: iwasm {want}, tzwasm {got}",
            p.target, p.args
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let calls = format!(
        "{} calls: {matched} equal, {mismatched} differ, {skipped} skipped, {timeouts} timed out",
        g.probes.len()
    );
    let verdict = if mismatched > 0 {
        "fail"
    } else if timeouts > 0 {
        "timeout"
    } else if matched > 0 {
        "pass"
    } else {
        "skip"
    };
    println!("V {verdict} {props} {calls}");
}

/// A module's result as the driver saw it.
struct ModResult {
    verdict: String,
    proposals: Vec<String>,
    why: String,
    lines: Vec<String>,
    calls: (u64, u64),
    /// iwasm's outcomes of the calls, by kind (`values`, `trap "..."`, `start trap`, ...).
    outcomes: BTreeMap<String, u64>,
}

fn run_child(o: &Opts, index: u64) -> ModResult {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("tzwasm-difffuzz"));
    let child = Command::new(exe)
        .arg("--wamrc")
        .arg(&o.wamrc)
        .arg("--iwasm")
        .arg(&o.iwasm)
        .arg("--arch")
        .arg(o.arch.name())
        .arg("--aot-run")
        .arg(&o.aot_run)
        .arg("--runner")
        .arg(&o.runner)
        .arg("--work")
        .arg(&o.work)
        .arg("--fuel")
        .arg(o.fuel.to_string())
        .arg("--call-timeout")
        .arg(o.call_timeout.to_string())
        .arg("--one")
        .arg(o.seed.to_string())
        .arg(index.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut r = ModResult {
        verdict: "fail".into(),
        proposals: Vec::new(),
        why: String::new(),
        lines: Vec::new(),
        calls: (0, 0),
        outcomes: BTreeMap::new(),
    };
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            r.why = format!("cannot start the child: {e}");
            return r;
        }
    };
    let out = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        if let Some(out) = out {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                lines.push(l);
            }
        }
        lines
    });
    let err = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = err {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let t0 = Instant::now();
    let limit = Duration::from_secs(o.timeout);
    let mut killed = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if t0.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                // Our own child, by its handle.
                let _ = child.kill();
                killed = true;
                break child.wait().ok();
            }
        }
    };
    r.lines = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    for l in &r.lines {
        if let Some(rest) = l.strip_prefix("P ") {
            r.calls.0 += 1;
            if rest.contains(" match ") {
                r.calls.1 += 1;
            }
            if let Some((_, w)) = rest.split_once(": iwasm ") {
                let w = w.split(", tzwasm ").next().unwrap_or("");
                let kind = if w.starts_with('[') {
                    "returned".to_string()
                } else if w.starts_with("trap ") || w.starts_with("start trap ") {
                    w.to_string()
                } else {
                    w.split(' ').next().unwrap_or("").to_string()
                };
                *r.outcomes.entry(kind).or_default() += 1;
            }
        }
    }
    if let Some(v) = r.lines.iter().rev().find_map(|l| l.strip_prefix("V ")) {
        let mut parts = v.splitn(3, ' ');
        r.verdict = parts.next().unwrap_or("fail").to_string();
        r.proposals = parts
            .next()
            .unwrap_or("-")
            .split(',')
            .filter(|p| *p != "-" && !p.is_empty())
            .map(String::from)
            .collect();
        r.why = parts.next().unwrap_or("").to_string();
        return r;
    }
    // No verdict: the child hung or died inside tzwasm's runtime (iwasm runs with its own
    // limit first, and its outcome is printed before tzwasm's call starts).
    let last_w = r.lines.iter().rev().find_map(|l| l.strip_prefix("W "));
    if let Ok(g) = gen::generate(o.seed, index, o.fuel) {
        r.proposals = g.proposals.iter().map(|s| s.to_string()).collect();
    }
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    r.verdict = "fail".into();
    r.why = if killed {
        match last_w {
            Some(w) if !w.ends_with(" timeout") => format!(
                "tzwasm did not finish within {} s where iwasm gave: {w}",
                o.timeout
            ),
            Some(_) => {
                r.verdict = "timeout".into();
                format!("module timed out after {} s", o.timeout)
            }
            None => {
                r.verdict = "timeout".into();
                format!("module timed out after {} s (before any call)", o.timeout)
            }
        }
    } else {
        format!(
            "the runner died ({}) after {:?}: {}",
            status.map_or("?".into(), |s| s.to_string()),
            last_w,
            tail.join(" / ")
        )
    };
    r
}

fn save_failure(o: &Opts, index: u64, r: &ModResult) {
    let dir = o.work.join("failures");
    let _ = std::fs::create_dir_all(&dir);
    let base = dir.join(format!("{}-{index}", o.seed));
    if let Ok(g) = gen::generate(o.seed, index, o.fuel) {
        let _ = std::fs::write(base.with_extension("wasm"), &g.wasm);
        let mut txt = format!(
            "seed {} index {index} fuel {}: {} ({})\nwamrc {}\nreproduce: tzwasm-difffuzz --seed {} --start {index} -n 1 -v\n",
            o.seed,
            o.fuel,
            r.verdict,
            r.why,
            exec::wamrc_flags(o.arch, &g.wamrc_flags).join(" "),
            o.seed
        );
        for (k, p) in g.probes.iter().enumerate() {
            let args: Vec<String> = p
                .args
                .iter()
                .map(|&(w, v)| {
                    if w {
                        format!("0x{v:x}")
                    } else {
                        format!("0x{:x}", v as u32)
                    }
                })
                .collect();
            txt.push_str(&format!(
                "probe {k}: iwasm -f {} m.aot {}   (calls {})\n",
                p.name,
                args.join(" "),
                p.target
            ));
        }
        for l in &r.lines {
            txt.push_str(l);
            txt.push('\n');
        }
        let _ = std::fs::write(base.with_extension("txt"), txt);
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    pass: u64,
    fail: u64,
    skip: u64,
    timeout: u64,
}

impl Counts {
    fn add(&mut self, verdict: &str) {
        match verdict {
            "pass" => self.pass += 1,
            "skip" => self.skip += 1,
            "timeout" => self.timeout += 1,
            _ => self.fail += 1,
        }
    }
}

fn main() {
    let top = std::env::current_dir().unwrap_or_default();
    let mut o = Opts {
        n: 100,
        seed: 1,
        start: 0,
        jobs: 2,
        fuel: 2000,
        timeout: 120,
        call_timeout: 20,
        wamrc: top.join("build/wamr/wamrc"),
        iwasm: PathBuf::new(),
        arch: Arch::host().unwrap_or(Arch::X86_64),
        aot_run: top.join("target/aarch64-unknown-linux-musl/release/aot-run"),
        runner: PathBuf::from("qemu-aarch64"),
        work: top.join("build/difffuzz"),
        verbose: false,
    };
    let mut one = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value");
                std::process::exit(2)
            })
        };
        let num = |s: String, name: &str| -> u64 {
            s.parse().unwrap_or_else(|_| {
                eprintln!("{name}: not a number: {s}");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "-n" => o.n = num(val("-n"), "-n"),
            "--seed" => o.seed = num(val("--seed"), "--seed"),
            "--start" => o.start = num(val("--start"), "--start"),
            "--jobs" => o.jobs = num(val("--jobs"), "--jobs").max(1) as usize,
            "--fuel" => o.fuel = num(val("--fuel"), "--fuel") as u32,
            "--timeout" => o.timeout = num(val("--timeout"), "--timeout"),
            "--call-timeout" => o.call_timeout = num(val("--call-timeout"), "--call-timeout"),
            "--wamrc" => o.wamrc = val("--wamrc").into(),
            "--iwasm" => o.iwasm = val("--iwasm").into(),
            "--work" => o.work = val("--work").into(),
            "--arch" => {
                o.arch = match val("--arch").as_str() {
                    "x86_64" => Arch::X86_64,
                    "aarch64" => Arch::Aarch64,
                    a => {
                        eprintln!("--arch: x86_64 or aarch64, not {a}");
                        std::process::exit(2)
                    }
                }
            }
            "--aot-run" => o.aot_run = val("--aot-run").into(),
            "--runner" => o.runner = val("--runner").into(),
            "-v" | "--verbose" => o.verbose = true,
            "--emit" => {
                // Writes module (seed, start) with its probes, e.g. for wasm2wat.
                let path = val("--emit");
                match gen::generate(o.seed, o.start, o.fuel) {
                    Ok(g) => {
                        if let Err(e) = std::fs::write(&path, &g.wasm) {
                            eprintln!("{path}: {e}");
                            std::process::exit(1);
                        }
                        for p in &g.probes {
                            println!("{} -> {:?} args {:x?}", p.name, p.target, p.args);
                        }
                        println!(
                            "wamrc {}",
                            exec::wamrc_flags(o.arch, &g.wamrc_flags).join(" ")
                        );
                        return;
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1);
                    }
                }
            }
            "--one" => {
                let s = num(val("--one"), "--one");
                let i = num(val("--one"), "--one");
                one = Some((s, i));
            }
            "-h" | "--help" => {
                println!(
                    "usage: tzwasm-difffuzz [-n N] [--seed S] [--start I] [--jobs J] [--fuel F] \
                     [--timeout SECS] [--call-timeout SECS] [--wamrc PATH] [--iwasm PATH] \
                     [--work DIR] [-v] [--arch x86_64|aarch64 [--aot-run PATH] [--runner PROG]] \
                     [--emit FILE]"
                );
                return;
            }
            s => {
                eprintln!("unknown argument {s}");
                std::process::exit(2)
            }
        }
    }
    if o.iwasm.as_os_str().is_empty() {
        o.iwasm = top.join(format!("build/wamr/iwasm-{}", o.arch.name()));
    }
    if o.arch != Arch::host().unwrap_or(Arch::X86_64) && o.arch != Arch::Aarch64 {
        eprintln!(
            "--arch {}: only the host or aarch64 (under --runner)",
            o.arch
        );
        std::process::exit(2);
    }
    if let Some((s, i)) = one {
        run_one(&o, s, i);
        return;
    }
    let mut needed = vec![("wamrc", &o.wamrc), ("iwasm", &o.iwasm)];
    if o.arch == Arch::Aarch64 {
        needed.push(("aot-run (aarch64)", &o.aot_run));
    }
    for (what, p) in needed {
        if !p.exists() {
            eprintln!("{what} not found at {} (make wamrc iwasm)", p.display());
            std::process::exit(2);
        }
    }
    let t0 = Instant::now();
    let queue = Arc::new(Mutex::new(o.start..o.start.saturating_add(o.n)));
    let results: Arc<Mutex<BTreeMap<u64, ModResult>>> = Arc::default();
    let print = Arc::new(Mutex::new(0u64));
    let mut workers = Vec::new();
    for _ in 0..o.jobs {
        let (o, queue, results, print) = (o.clone(), queue.clone(), results.clone(), print.clone());
        workers.push(std::thread::spawn(move || loop {
            let Some(i) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else {
                break;
            };
            let r = run_child(&o, i);
            {
                let mut done = print.lock().unwrap_or_else(|e| e.into_inner());
                *done += 1;
                if r.verdict != "pass" {
                    println!(
                        "module {}-{i}: {} {}",
                        o.seed,
                        r.verdict.to_uppercase(),
                        r.why
                    );
                    for l in r.lines.iter().filter(|l| l.contains("MISMATCH")) {
                        println!("  {l}");
                    }
                } else if o.verbose {
                    println!("module {}-{i}: {} {}", o.seed, r.verdict, r.why);
                    for l in r.lines.iter().filter(|l| l.starts_with("P ")) {
                        println!("  {l}");
                    }
                }
                if *done % 500 == 0 {
                    println!(
                        "... {done}/{} modules, {:.0} s",
                        o.n,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
            if r.verdict == "fail" || r.verdict == "timeout" {
                save_failure(&o, i, &r);
            }
            results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(i, r);
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    let results = results.lock().unwrap_or_else(|e| e.into_inner());
    summary(&o, &results, t0.elapsed());
}

fn summary(o: &Opts, results: &BTreeMap<u64, ModResult>, t: Duration) {
    let mut total = Counts::default();
    let mut per: BTreeMap<String, Counts> = BTreeMap::new();
    let mut skips: BTreeMap<String, u64> = BTreeMap::new();
    let (mut calls, mut equal) = (0, 0);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for r in results.values() {
        total.add(&r.verdict);
        calls += r.calls.0;
        equal += r.calls.1;
        for (k, n) in &r.outcomes {
            *outcomes.entry(k.clone()).or_default() += n;
        }
        if r.proposals.is_empty() {
            per.entry("mvp-only".into()).or_default().add(&r.verdict);
        }
        for p in &r.proposals {
            per.entry(p.clone()).or_default().add(&r.verdict);
        }
        if r.verdict == "skip" {
            // Group skip reasons by their first words (wamrc messages carry details).
            let key: String = r
                .why
                .split(':')
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            *skips.entry(key).or_default() += 1;
        }
    }
    println!("---");
    println!(
        "{}, seed {}, modules {}..{}, fuel {}: {} calls compared, {} equal",
        o.arch,
        o.seed,
        o.start,
        o.start + results.len() as u64,
        o.fuel,
        calls,
        equal
    );
    let o: Vec<String> = outcomes.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("iwasm's outcomes: {}", o.join(", "));
    for (p, c) in &per {
        println!(
            "{p}: {} passed, {} failed, {} skipped, {} timed out",
            c.pass, c.fail, c.skip, c.timeout
        );
    }
    for (why, n) in &skips {
        println!("skipped {n}: {why}");
    }
    println!("timed out: {}", total.timeout);
    println!("{} modules in {:.1} s", results.len(), t.as_secs_f64());
    println!(
        "{} passed, {} failed, {} skipped",
        total.pass,
        total.fail,
        total.skip + total.timeout
    );
    if total.fail > 0 {
        std::process::exit(1);
    }
}
