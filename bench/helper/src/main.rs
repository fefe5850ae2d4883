//! tzbench: the timing helper `make bench` runs inside the Linux guest (bench/guest/bench.sh).
//! It prints one machine-readable line per measurement, `@B key=value ...`, which the host
//! script (bench/run-bench.py) collects. Clock: `Instant` (CLOCK_MONOTONIC).
//!
//! ```text
//! tzbench time SECTION NAME CONFIG REP -- COMMAND [ARGS...]
//!     runs COMMAND with its stdout on a pipe; reports wall time, time to the first stdout byte,
//!     bytes, an FNV-1a hash of stdout, the exit status and stdout's first line
//! tzbench load FILE.aot ROUNDS [HEAP]
//!     LOADs FILE ROUNDS times in fresh sessions; per round the client-timed LOAD, STATS pages
//!     0-3 (quota use, copy, SHA-256, parse, instantiate = relocate + memory + set-up) and the
//!     charge
//! tzbench par SECTION NAME CONFIG REP N -- COMMAND [ARGS...]
//!     starts N copies of COMMAND at once, each with its stdout on its own pipe; reports the
//!     wall time from the first start to the last exit, each copy's time, stdout hash and exit
//!     status, and the first copy's first line (the scaling benchmark: N = 4 against N = 1)
//! tzbench peak LABEL
//!     STATS page 4 from a fresh session: CPUs executing module code now, and the most seen at
//!     once since boot
//! tzbench null CALLS
//!     CALLS NULL fast calls through /dev/tzwasm (ioctl + SMC round trip), ns per call
//! tzbench fit FILE.aot
//!     opens sessions with the module's minimum quota (its LOAD report's) and LOADs FILE in each
//!     until the pool refuses the next session (QUOTA_TOO_LARGE), then RUNs each loaded copy
//!     once; reports how many were loaded at once, how many ran to exit 0 with the first's
//!     stdout, and the bytes still free
//! tzbench startup FILE.aot REP
//!     what `tzwasm run FILE` does up to the first stdout byte, inside this process, timed step
//!     by step: read the file, open the device, LOAD (with STATS pages 1-3), RUN to the first
//!     byte and to the end (with page 6: the run's time in the secure world and at S-EL0)
//! tzbench run FILE.aot [ARGS...]
//!     LOADs and RUNs FILE in one session as `tzwasm run` does (16 KiB rings, 12 MiB quota,
//!     stdout hashed, not printed) and reports the run's wall time, OUTPUT_PENDING pauses,
//!     the INTERRUPTED returns the caller saw and the secure world's own count (STATS page 2),
//!     and the counter ticks the run took in the secure world and at S-EL0, with its SVCs
//!     (page 6)
//! ```

use std::ffi::OsString;
use std::io::Read;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use tzwasm_smc::ring::Stream;
use tzwasm_smc::runner::{
    area_size, load_report_offset, run_offset, RunEnd, RunObserver, RunRequest, Session,
    DEFAULT_RING_CAPACITY,
};
use tzwasm_smc::session::LOAD_REPORT_SIZE;
use tzwasm_smc::{Client as _, Status};
use tzwasm_tool::device::{Device, SetupError, SHM_MAX_SIZE};

/// FNV-1a, 64-bit: a cheap hash of a run's whole stdout, compared across configurations.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// `time`: one timed run of a command.
fn time(args: &[OsString]) -> Result<(), String> {
    let [section, name, config, rep, dashdash, command, rest @ ..] = args else {
        return Err("usage: tzbench time SECTION NAME CONFIG REP -- COMMAND [ARGS...]".into());
    };
    if dashdash != "--" {
        return Err("time: expected -- before the command".into());
    }
    let start = Instant::now();
    let child = Command::new(command)
        .args(rest)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("time: cannot start {}: {e}", command.to_string_lossy()))?;
    let out = drain(child, start).map_err(|e| format!("time: {e}"))?;
    println!(
        "@B kind=time section={} name={} config={} rep={} ns={} ttfb_ns={} bytes={} hash={:016x} exit={} out={}",
        section.to_string_lossy(),
        name.to_string_lossy(),
        config.to_string_lossy(),
        rep.to_string_lossy(),
        out.ns,
        out.first_byte_ns.map_or(-1, |t| t as i128),
        out.bytes,
        out.hash,
        out.exit,
        out.first_line,
    );
    Ok(())
}

/// What one child printed and how it ended.
struct Drained {
    /// From `start` to its exit.
    ns: u128,
    /// From `start` to the first byte on its stdout.
    first_byte_ns: Option<u128>,
    bytes: u64,
    /// FNV-1a of the whole stdout.
    hash: u64,
    /// The exit code, or `signal...`.
    exit: String,
    /// The first line of stdout (at most 200 bytes), spaces as `_`.
    first_line: String,
}

/// Reads a child's piped stdout to its end, then waits for it; times from `start`.
fn drain(mut child: Child, start: Instant) -> Result<Drained, String> {
    let mut out = child.stdout.take().ok_or("stdout was not piped")?;
    let mut first_byte_ns = None;
    let mut bytes = 0u64;
    let mut hash = Fnv::new();
    let mut first_line = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading stdout: {e}")),
        };
        if first_byte_ns.is_none() {
            first_byte_ns = Some(start.elapsed().as_nanos());
        }
        if !first_line.contains(&b'\n') && first_line.len() < 200 {
            first_line.extend_from_slice(&buf[..n.min(200)]);
        }
        bytes += n as u64;
        hash.update(&buf[..n]);
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the command: {e}"))?;
    let ns = start.elapsed().as_nanos();
    let line = String::from_utf8_lossy(&first_line);
    let first_line = line.split('\n').next().unwrap_or("").replace(' ', "_");
    Ok(Drained {
        ns,
        first_byte_ns,
        bytes,
        hash: hash.0,
        exit: status
            .code()
            .map_or_else(|| format!("signal{status}"), |c| c.to_string()),
        first_line,
    })
}

/// `par`: N copies of one command at once, timed together.
fn par(args: &[OsString]) -> Result<(), String> {
    let [section, name, config, rep, n, dashdash, command, rest @ ..] = args else {
        return Err("usage: tzbench par SECTION NAME CONFIG REP N -- COMMAND [ARGS...]".into());
    };
    if dashdash != "--" {
        return Err("par: expected -- before the command".into());
    }
    let n = parse_u64("par N", Some(n))?;
    if n == 0 || n > 64 {
        return Err("par: N must be 1 to 64".into());
    }
    let start = Instant::now();
    // Every copy is started before any is read: a reader thread per copy.
    let mut readers = Vec::new();
    for _ in 0..n {
        let child = Command::new(command)
            .args(rest)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("par: cannot start {}: {e}", command.to_string_lossy()))?;
        readers.push(std::thread::spawn(move || drain(child, start)));
    }
    let mut outs = Vec::new();
    for r in readers {
        outs.push(
            r.join()
                .map_err(|_| "par: a reader thread panicked".to_string())?
                .map_err(|e| format!("par: {e}"))?,
        );
    }
    let ns = start.elapsed().as_nanos();
    let list = |f: &dyn Fn(&Drained) -> String| outs.iter().map(f).collect::<Vec<_>>().join(",");
    println!(
        "@B kind=par section={} name={} config={} rep={} n={n} ns={ns} child_ns={} hashes={} exits={} out={}",
        section.to_string_lossy(),
        name.to_string_lossy(),
        config.to_string_lossy(),
        rep.to_string_lossy(),
        list(&|d| d.ns.to_string()),
        list(&|d| format!("{:016x}", d.hash)),
        list(&|d| d.exit.clone()),
        outs.first().map_or("", |d| d.first_line.as_str()),
    );
    Ok(())
}

/// `peak`: STATS page 4 (CPUs executing module code now, most at once since boot).
fn peak(args: &[OsString]) -> Result<(), String> {
    let label = args.first().ok_or("usage: tzbench peak LABEL")?;
    let Device { mut channel, .. } =
        Device::open(4096, 1 << 20).map_err(|e| format!("peak: {e}"))?;
    let handle = channel.session();
    let mut session = Session::attach(&mut channel, handle);
    let [now, peak, _] = session
        .stats(4)
        .map_err(|e| format!("STATS page 4: {e:?}"))?;
    println!(
        "@B kind=peak label={} now={now} peak={peak}",
        label.to_string_lossy()
    );
    Ok(())
}

fn parse_u64(what: &str, s: Option<&OsString>) -> Result<u64, String> {
    s.and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{what}: expected a number"))
}

/// The secure world's split of the session's last LOAD (STATS pages 1-3) as `key=value`
/// fields: the counter frequency and the ticks of copy, SHA-256, parse and instantiation, the
/// latter as relocation, memory work and set-up.
fn load_split<C: tzwasm_smc::Conduit + ?Sized>(
    session: &mut Session<'_, C>,
) -> Result<String, String> {
    let mut stat = |page| {
        session
            .stats(page)
            .map_err(|e| format!("STATS page {page}: {e:?}"))
    };
    let [freq, copy, sha] = stat(1)?;
    let [parse, inst, _] = stat(2)?;
    let [reloc, mem, setup] = stat(3)?;
    Ok(format!(
        "freq={freq} copy={copy} sha={sha} parse={parse} inst={inst} reloc={reloc} mem={mem} setup={setup}"
    ))
}

/// `load`: LOAD figures of one file.
fn load(args: &[OsString]) -> Result<(), String> {
    let path = args
        .first()
        .ok_or("usage: tzbench load FILE.aot ROUNDS [HEAP]")?;
    let rounds = parse_u64("load ROUNDS", args.get(1))?;
    let heap = match args.get(2) {
        Some(h) => parse_u64("load HEAP", Some(h))?,
        None => 12 << 20,
    };
    let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.to_string_lossy()))?;
    let need = load_report_offset(file.len())
        .and_then(|r| r.checked_add(LOAD_REPORT_SIZE))
        .ok_or("load: file too large")?;
    if need > SHM_MAX_SIZE {
        return Err(format!(
            "load: {} is {} bytes; the driver shares at most {SHM_MAX_SIZE} bytes",
            path.to_string_lossy(),
            file.len()
        ));
    }
    for round in 0..rounds {
        let Device {
            mut channel,
            shm: mapping,
        } = Device::open(need, heap).map_err(|e| format!("load: {e}"))?;
        let area = mapping.area();
        let handle = channel.session();
        let mut session = Session::attach(&mut channel, handle);
        // The file goes into shared memory before the clock starts: only LOAD is timed.
        // A first LOAD (untimed) warms up the path; the second one is measured.
        session
            .load(&area, &file)
            .map_err(|e| format!("load: {e:?}"))?;
        session.unload().map_err(|e| format!("unload: {e:?}"))?;
        let start = Instant::now();
        let loaded = session
            .load_at(&area, 0, file.len(), need - LOAD_REPORT_SIZE)
            .map_err(|e| format!("load: {e:?}"))?;
        let client_ns = start.elapsed().as_nanos();
        let [quota, used, _] = session
            .stats(0)
            .map_err(|e| format!("STATS page 0: {e:?}"))?;
        let split = load_split(&mut session)?;
        println!(
            "@B kind=load file={} bytes={} round={round} client_ns={client_ns} {split} quota={quota} used={used} charged={} min_quota={}",
            path.to_string_lossy(),
            file.len(),
            loaded.charged,
            loaded.min_quota
        );
    }
    Ok(())
}

/// `null`: NULL fast calls from userspace.
fn null(args: &[OsString]) -> Result<(), String> {
    let calls = parse_u64("null CALLS", args.first())?;
    let Device { mut channel, .. } =
        Device::open(4096, 1 << 20).map_err(|e| format!("null: {e}"))?;
    let start = Instant::now();
    for _ in 0..calls {
        channel.null_call().map_err(|e| format!("NULL: {e:?}"))?;
    }
    let ns = start.elapsed().as_nanos();
    println!(
        "@B kind=null calls={calls} ns_per_call={}",
        ns / u128::from(calls.max(1))
    );
    Ok(())
}

/// `run`'s observer: hashes and counts stdout, passes stderr through.
struct Sink {
    hash: Fnv,
    bytes: u64,
}

impl RunObserver for Sink {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => {
                self.hash.update(bytes);
                self.bytes += bytes.len() as u64;
            }
            Stream::Stderr => eprint!("{}", String::from_utf8_lossy(bytes)),
        }
    }
}

/// A run of `_start` with `argv`, no environment, stdin at end of file and no files: what
/// `tzwasm run FILE ARGS` asks for (its default 16 KiB rings), as `run`, `fit` and `startup` run.
fn command<'r>(argv: &'r [&'r [u8]]) -> RunRequest<'r> {
    RunRequest {
        entry: b"",
        args: argv,
        env: &[],
        ring_capacity: DEFAULT_RING_CAPACITY,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    }
}

/// `fit`: how many sessions of the module's minimum quota hold it loaded at once, and whether
/// every one of them then runs it.
fn fit(args: &[OsString]) -> Result<(), String> {
    /// More sessions than any pool of this build holds: a guard against a runaway loop.
    const MAX: usize = 4096;
    let path = args.first().ok_or("usage: tzbench fit FILE.aot")?;
    let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.to_string_lossy()))?;
    let argv: [&[u8]; 1] = [path.as_encoded_bytes()];
    let req = command(&argv);
    let need = area_size(file.len(), &req).ok_or("fit: file too large")?;
    let at = run_offset(file.len()).ok_or("fit: file too large")?;
    let min_quota = {
        let Device { mut channel, shm } =
            Device::open(need, 12 << 20).map_err(|e| format!("fit: {e}"))?;
        let handle = channel.session();
        let loaded = Session::attach(&mut channel, handle)
            .load(&shm.area(), &file)
            .map_err(|e| format!("fit: load: {e:?}"))?;
        loaded.min_quota
    };
    let mut held = Vec::new();
    let free = loop {
        if held.len() >= MAX {
            return Err(format!(
                "fit: more than {MAX} sessions: the pool is not limiting"
            ));
        }
        let Device { mut channel, shm } = match Device::open(need, min_quota) {
            Ok(d) => d,
            Err(SetupError::Refused {
                status: Status::QuotaTooLarge,
                value,
            }) => break value,
            Err(e) => return Err(format!("fit: session {}: {e}", held.len() + 1)),
        };
        let handle = channel.session();
        Session::attach(&mut channel, handle)
            .load(&shm.area(), &file)
            .map_err(|e| format!("fit: LOAD in session {}: {e:?}", held.len() + 1))?;
        held.push((channel, shm));
    };
    let mut ran = 0usize;
    let mut first_hash = None;
    for (channel, shm) in &mut held {
        let handle = channel.session();
        let mut sink = Sink {
            hash: Fnv::new(),
            bytes: 0,
        };
        let outcome = Session::attach(channel, handle)
            .run(&shm.area(), at, &req, &mut sink)
            .map_err(|e| format!("fit: run: {e:?}"))?;
        let same = *first_hash.get_or_insert(sink.hash.0) == sink.hash.0;
        if outcome.end == RunEnd::Exited(0) && same && sink.bytes > 0 {
            ran += 1;
        }
    }
    println!(
        "@B kind=fit file={} bytes={} min_quota={min_quota} sessions={} ran={ran} free={free}",
        path.to_string_lossy(),
        file.len(),
        held.len()
    );
    Ok(())
}

/// `startup`'s observer: when the first stdout byte arrived.
struct FirstByte {
    start: Instant,
    first: Option<u128>,
}

impl RunObserver for FirstByte {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        if stream == Stream::Stdout && !bytes.is_empty() && self.first.is_none() {
            self.first = Some(self.start.elapsed().as_nanos());
        }
    }
}

/// `startup`: where the time to a module's first output byte goes, in this process (what
/// `tzwasm run` does, without starting a process): reading the file, opening the device
/// (SHM_REGISTER + SESSION_OPEN), LOAD (with the secure world's split, STATS pages 1-3), RUN
/// until the first stdout byte reaches this side, and to the end of the run.
fn startup(args: &[OsString]) -> Result<(), String> {
    let [path, rep] = args else {
        return Err("usage: tzbench startup FILE.aot REP".into());
    };
    let start = Instant::now();
    let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.to_string_lossy()))?;
    let read_ns = start.elapsed().as_nanos();
    let argv: [&[u8]; 1] = [path.as_encoded_bytes()];
    let req = command(&argv);
    let need = area_size(file.len(), &req).ok_or("startup: file too large")?;
    let at = run_offset(file.len()).ok_or("startup: file too large")?;
    let Device { mut channel, shm } =
        Device::open(need, 8 << 20).map_err(|e| format!("startup: {e}"))?;
    let open_ns = start.elapsed().as_nanos();
    let area = shm.area();
    let handle = channel.session();
    let mut session = Session::attach(&mut channel, handle);
    session
        .load(&area, &file)
        .map_err(|e| format!("startup: load: {e:?}"))?;
    let load_ns = start.elapsed().as_nanos();
    let mut seen = FirstByte { start, first: None };
    let outcome = session
        .run(&area, at, &req, &mut seen)
        .map_err(|e| format!("startup: run: {e:?}"))?;
    let end_ns = start.elapsed().as_nanos();
    let split = load_split(&mut session)?;
    let [run_ticks, run_el0_ticks, run_svcs] = session
        .stats(6)
        .map_err(|e| format!("STATS page 6: {e:?}"))?;
    println!(
        "@B kind=startup file={} rep={} read_ns={read_ns} open_ns={open_ns} load_ns={load_ns} first_ns={} end_ns={end_ns} {split} run_ticks={run_ticks} run_el0_ticks={run_el0_ticks} run_svcs={run_svcs} end={:?}",
        path.to_string_lossy(),
        rep.to_string_lossy(),
        seen.first.map_or(-1, |t| t as i128),
        outcome.end,
    );
    Ok(())
}

/// `run`: one module run with the secure world's interruption count.
fn run(args: &[OsString]) -> Result<(), String> {
    let path = args
        .first()
        .ok_or("usage: tzbench run FILE.aot [ARGS...]")?;
    let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.to_string_lossy()))?;
    let owned: Vec<Vec<u8>> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned().into_bytes())
        .collect();
    let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let req = command(&argv);
    let need = area_size(file.len(), &req).ok_or("run: file too large")?;
    let at = run_offset(file.len()).ok_or("run: file too large")?;
    let Device {
        mut channel,
        shm: mapping,
    } = Device::open(need, 12 << 20).map_err(|e| format!("run: {e}"))?;
    let area = mapping.area();
    let handle = channel.session();
    let mut session = Session::attach(&mut channel, handle);
    let start = Instant::now();
    session
        .load(&area, &file)
        .map_err(|e| format!("load: {e:?}"))?;
    let loaded_ns = start.elapsed().as_nanos();
    let mut sink = Sink {
        hash: Fnv::new(),
        bytes: 0,
    };
    let outcome = session
        .run(&area, at, &req, &mut sink)
        .map_err(|e| format!("run: {e:?}"))?;
    let ns = start.elapsed().as_nanos();
    let [_, _, secure_interrupts] = session
        .stats(2)
        .map_err(|e| format!("STATS page 2: {e:?}"))?;
    let [secure_ticks, el0_ticks, svcs] = session
        .stats(6)
        .map_err(|e| format!("STATS page 6: {e:?}"))?;
    println!(
        "@B kind=run file={} ns={ns} load_ns={loaded_ns} bytes={} hash={:016x} pauses={} interrupted_seen={} interrupted_secure={secure_interrupts} secure_ticks={secure_ticks} el0_ticks={el0_ticks} svcs={svcs} end={:?}",
        path.to_string_lossy(),
        sink.bytes,
        sink.hash.0,
        outcome.pauses,
        outcome.interruptions,
        outcome.end,
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = match args.first().and_then(|a| a.to_str()) {
        Some("time") => time(&args[1..]),
        Some("load") => load(&args[1..]),
        Some("par") => par(&args[1..]),
        Some("peak") => peak(&args[1..]),
        Some("null") => null(&args[1..]),
        Some("run") => run(&args[1..]),
        Some("fit") => fit(&args[1..]),
        Some("startup") => startup(&args[1..]),
        _ => Err(
            "usage: tzbench time|par|peak|load|null|run|fit|startup ... (see the source)".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tzbench: {e}");
            ExitCode::FAILURE
        }
    }
}
