//! rust-hello: std on WASI: args, environment, stdout and stderr, a failed file open (no
//! preopened directories), the clock, and an exit code chosen by the first argument.
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("Hello from Rust on wasm32-wasip1! {} args", args.len());
    for (i, a) in args.iter().enumerate().skip(1) {
        println!("  arg {i}: {a:?} ({} chars)", a.chars().count());
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (k, v) in &vars {
        println!("  env {k}={v:?}");
    }
    eprintln!("to stderr: {} env vars", vars.len());
    match std::fs::File::open("/etc/passwd") {
        Ok(_) => println!("open /etc/passwd: unexpectedly succeeded"),
        Err(e) => println!("open /etc/passwd: {:?}", e.kind()),
    }
    let t0 = std::time::Instant::now();
    let now = std::time::SystemTime::now();
    let since_epoch = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() > 1_600_000_000);
    println!(
        "clock: monotonic ok={} realtime after 2020={:?}",
        t0.elapsed().as_nanos() < 10_000_000_000,
        since_epoch
    );
    std::io::stdout().flush().unwrap();
    if let Some(code) = args.get(1).and_then(|a| a.strip_prefix("exit=")) {
        let code: i32 = code.parse().unwrap_or(99);
        println!("exiting with {code}");
        std::process::exit(code);
    }
}
