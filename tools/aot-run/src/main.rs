//! `aot-run`: run a WAMR AOT file on tzwasm's aot-loader, like WAMR's iwasm (the project's
//! driver in tools/wamr/iwasm-driver): the WASI command's `_start`, or `-f export args...`
//! printing results as iwasm does; `Exception: <msg>` on stderr and exit code 1 on a trap;
//! otherwise the WASI exit code. Load/instantiate errors: `aot-run: ...`, exit code 2.

use std::process::ExitCode;

use tzwasm_aot_loader::runtime::{abi, InstanceConfig, Stop};
use tzwasm_aot_loader::{parse, Arch};
use tzwasm_aot_run::{call, format_results, HostInstance, HostPlatform, HostWasi};

const USAGE: &str = "usage: aot-run [options] [-f export] file.aot [args...]
  -f <name>            call export <name> with the args instead of running _start
  --env=KEY=VALUE      add a WASI environment variable (repeatable)
  --heap=<bytes>       heap quota for the instance (default 1 GiB; k/m/g suffixes)
  --stack-size=<bytes> native stack for module code (default 8 MiB)
  --trap-out=<file>    write the trap message (without 'Exception: ') to <file>
  --quiet-trap         do not print 'Exception: ...' on stderr
  --exit-out=<file>    write the full 32-bit WASI exit code (1 on a trap) to <file>
";

fn parse_size(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    abi::parse_int(num)?.checked_mul(mul)
}

struct Options {
    func: Option<String>,
    env: Vec<Vec<u8>>,
    heap: u64,
    stack: u64,
    trap_out: Option<String>,
    exit_out: Option<String>,
    quiet_trap: bool,
    path: String,
    args: Vec<String>,
}

fn options() -> Result<Options, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Options {
        func: None,
        env: Vec::new(),
        heap: 1 << 30,
        stack: 8 << 20,
        trap_out: None,
        exit_out: None,
        quiet_trap: false,
        path: String::new(),
        args: Vec::new(),
    };
    let mut i = 0;
    while i < argv.len() && argv[i].starts_with('-') {
        let a = &argv[i];
        if a == "-f" {
            i += 1;
            o.func = Some(argv.get(i).ok_or("-f needs an export name")?.clone());
        } else if let Some(e) = a.strip_prefix("--env=") {
            if !e.contains('=') {
                return Err(format!("bad --env {e} (KEY=VALUE)"));
            }
            o.env.push(e.as_bytes().to_vec());
        } else if let Some(h) = a
            .strip_prefix("--heap=")
            .or_else(|| a.strip_prefix("--heap-quota="))
        {
            o.heap = parse_size(h).ok_or_else(|| format!("bad heap size {h}"))?;
        } else if let Some(s) = a.strip_prefix("--stack-size=") {
            o.stack = parse_size(s).ok_or_else(|| format!("bad stack size {s}"))?;
        } else if let Some(t) = a.strip_prefix("--trap-out=") {
            o.trap_out = Some(t.to_string());
        } else if let Some(t) = a.strip_prefix("--exit-out=") {
            o.exit_out = Some(t.to_string());
        } else if a == "--quiet-trap" {
            o.quiet_trap = true;
        } else if a == "-h" || a == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        } else {
            return Err(format!("unknown option {a}"));
        }
        i += 1;
    }
    o.path = argv.get(i).ok_or("no file given")?.clone();
    o.args = argv[i..].to_vec();
    Ok(o)
}

fn exit(o: &Options, code: u32) -> ExitCode {
    if let Some(f) = &o.exit_out {
        let _ = std::fs::write(f, format!("{code}\n"));
    }
    ExitCode::from(code as u8)
}

fn report(o: &Options, stop: &Stop) -> ExitCode {
    match stop {
        Stop::Exit(code) => exit(o, *code),
        Stop::Trap(t) => {
            if !o.quiet_trap {
                eprintln!("Exception: {t}");
            }
            if let Some(f) = &o.trap_out {
                let _ = std::fs::write(f, format!("{t}\n"));
            }
            exit(o, 1)
        }
        // HostWasi never limits output and never asks for the CPU back, so the runtime never
        // pauses a host run.
        Stop::Pending | Stop::Interrupted => {
            eprintln!("aot-run: internal error: run paused without an output limit");
            exit(o, 1)
        }
    }
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("aot-run: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(arch) = Arch::host() else {
        eprintln!("aot-run: unsupported host processor");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&o.path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("aot-run: cannot open {}: {e}", o.path);
            return ExitCode::from(2);
        }
    };
    let module = match parse(&bytes, arch) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("aot-run: load {}: {e}", o.path);
            return ExitCode::from(2);
        }
    };
    // As iwasm: the guest's argv is the file name and the remaining arguments, with -f too.
    let wasi_args: Vec<Vec<u8>> = o.args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let platform = HostPlatform::new(HostWasi::new(&wasi_args, &o.env));
    let config = InstanceConfig {
        heap_quota: o.heap,
        stack_size: o.stack as usize,
        ..InstanceConfig::default()
    };
    let mut inst: Box<HostInstance<'_>> = match HostInstance::new(&module, &bytes, platform, config)
    {
        Ok(i) => i,
        Err(e) => {
            eprintln!("aot-run: instantiate {}: {e}", o.path);
            return ExitCode::from(2);
        }
    };
    if let Some(start) = inst.start_function() {
        // As WAMR: a start function that traps fails instantiation.
        match call(&mut inst, start, &[]) {
            Ok(_) => {}
            Err(Stop::Trap(t)) => {
                eprintln!("aot-run: instantiate {}: Exception: {t}", o.path);
                return ExitCode::from(2);
            }
            Err(stop) => return report(&o, &stop),
        }
    }
    match &o.func {
        Some(name) => {
            let Some(idx) = inst.export_func(name) else {
                return report(
                    &o,
                    &Stop::Trap(tzwasm_aot_loader::runtime::Trap::Message(format!(
                        "lookup function {name} failed"
                    ))),
                );
            };
            let ty = inst
                .func_type(idx)
                .cloned()
                .unwrap_or(tzwasm_aot_loader::module::FuncType {
                    params: vec![],
                    results: vec![],
                });
            let strs: Vec<&str> = o.args[1..].iter().map(|s| s.as_str()).collect();
            let args = match abi::parse_args(&ty, &strs) {
                Ok(a) => a,
                Err(msg) => {
                    return report(
                        &o,
                        &Stop::Trap(tzwasm_aot_loader::runtime::Trap::Message(msg)),
                    )
                }
            };
            match call(&mut inst, idx, &args) {
                Ok(results) => {
                    match format_results(&results) {
                        Ok(line) => println!("{line}"),
                        Err(e) => return report(&o, &Stop::from(e)),
                    }
                    exit(&o, 0)
                }
                Err(stop) => report(&o, &stop),
            }
        }
        None => {
            let Some(idx) = inst.export_func("_start") else {
                eprintln!("aot-run: {} has no _start export (use -f)", o.path);
                return ExitCode::from(2);
            };
            match call(&mut inst, idx, &[]) {
                Ok(_) => exit(&o, 0),
                Err(stop) => report(&o, &stop),
            }
        }
    }
}
