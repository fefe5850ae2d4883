//! `tzwasm`: runs WebAssembly (WAMR AOT) modules in the TrustZone secure world from Linux,
//! through the `tzwasm.ko` driver (`/dev/tzwasm`).
//!
//! ```text
//! tzwasm run [--heap SIZE] [--env KEY=VALUE]... [--function NAME]
//!            [--dir DIR]... [--map-dir GUEST::HOST]... [--sealed-dir HOST]
//!            [--receipt FILE --nonce HEX] FILE.aot [-- ARGS...]
//! tzwasm info
//! tzwasm measure [--heap SIZE] FILE.aot...
//! tzwasm attest [--heap SIZE] --nonce HEX FILE.aot > token.cbor
//! ```
//!
//! The protocol logic (LOAD, RUN, draining the output ring, RESUME, CANCEL) is the shared
//! client code of `tzwasm_smc::runner`; this program only opens the device, maps the shared
//! pages, implements [`tzwasm_smc::Conduit`] with the driver's ioctl and talks to people.
//! See docs/linux.md.
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use tzwasm_smc::files::{Channel as FileChannel, MAX_PREOPENS, SEALED_NAME};
use tzwasm_smc::ring::{Producer, Stream};
use tzwasm_smc::runner::{
    area_size, attest_area_size, failed, load_report_offset, run_offset, Error as RunError, RunEnd,
    RunObserver, RunRequest, Session, DEFAULT_RING_CAPACITY,
};
use tzwasm_smc::session::{
    ATTEST_NONCE_LENGTHS, ATTEST_TOKEN_MIN, LOAD_REPORT_SIZE, MAX_NATIVE_STACK, MIN_NATIVE_STACK,
    RECEIPT_TOKEN_MIN, SESSION_MIN_QUOTA, TRAP_NATIVE_STACK_OVERFLOW,
};
use tzwasm_smc::{Client as _, ClientError, NativeStack, Status};

use tzwasm_tool::device::{Channel, Device, SetupError, SHM_MAX_SIZE};
use tzwasm_tool::files::FileServer;
use tzwasm_tool::{catch_signals, size, stopping, SIGNAL};

/// Heap quota when `--heap` is not given: enough for the corpus programs (the largest needs
/// about 6 MiB). Sessions reserve their heaps while they are open, so when other programs
/// hold part of the pool, a run without `--heap` takes what is still free instead (see
/// [`open_device`]).
const DEFAULT_HEAP: u64 = 8 << 20;

/// Opens the device with `heap` (or [`DEFAULT_HEAP`]); without an explicit `--heap`, a
/// default that does not fit next to the other programs' sessions is lowered to what the pool
/// still has free, so programs run side by side instead of waiting.
fn open_device(shm: usize, heap: Option<u64>) -> Result<Device, SetupError> {
    match Device::open(shm, heap.unwrap_or(DEFAULT_HEAP)) {
        Err(SetupError::Refused {
            status: Status::QuotaTooLarge,
            value: free,
        }) if heap.is_none() && free >= SESSION_MIN_QUOTA => Device::open(shm, free),
        other => other,
    }
}
/// Exit status when tzwasm itself could not run the module (as `env` and `docker run` do).
const EXIT_TZWASM: u8 = 125;
/// Exit status for a command-line error.
const EXIT_USAGE: u8 = 2;

const USAGE: &str = "\
usage: tzwasm COMMAND [OPTIONS]

Runs WebAssembly modules compiled ahead of time with WAMR's wamrc (.aot files) in the
TrustZone secure world, through the tzwasm driver (/dev/tzwasm).

commands:
  run      run a module; its stdout/stderr stream to ours, its exit code becomes ours
  info     versions, secure pool size and usage, features
  measure  the secure world's SHA-256 of a module (equal to sha256sum)
  attest   a signed attestation token (PSA, COSE_Sign1) for a module, bound to a nonce
  help     this text, or `tzwasm help COMMAND`

`tzwasm COMMAND --help` describes each command.";

const RUN_USAGE: &str = "\
usage: tzwasm run [--heap SIZE] [--stack SIZE] [--env KEY=VALUE]... [--function NAME]
                  [--dir DIR]... [--map-dir GUEST::HOST]... [--sealed-dir HOST]
                  [--receipt FILE --nonce HEX] FILE.aot [-- ARGS...]

Loads FILE.aot into the secure world and runs it: its WASI main (_start), or the export NAME
with --function. stdout and stderr stream to this program's while it runs, and this program's
stdin streams to the module's when it reads (a pipe, a file or the terminal, as with iwasm);
tzwasm exits with the module's exit code. The module's argv is FILE.aot as given, then ARGS (everything after
FILE.aot; `--` is optional unless the first argument starts with `-`).

options:
  --heap SIZE       heap quota in the secure world: everything the module needs there (the
                    copy of the file, code, data, its native stack, linear memory) must
                    fit. SIZE is bytes or takes a suffix: 64K, 4M. Default 8M (or what the
                    secure pool still has free while other programs hold the rest). If it
                    is too small, the message says the module's minimum.
  --stack SIZE      the module's native stack (where its compiled code keeps its frames),
                    16K to 8M, default 64K; it counts against --heap. Deep recursion beyond
                    it traps \"native stack overflow\" (as iwasm does beyond its stack)
  --env KEY=VALUE   add a WASI environment variable (repeatable; none by default)
  --dir DIR         grant the module the directory DIR (as iwasm --dir): it sees it
                    preopened under the name DIR as written; every path it opens is
                    resolved inside DIR (no `..` above it, no absolute paths, no symlink
                    out of it). Repeatable; needs Linux 5.6 or later (openat2)
  --map-dir GUEST::HOST
                    grant the directory HOST under the name GUEST (as iwasm --map-dir).
                    Preopens are numbered from fd 3: every --dir, then every --map-dir,
                    then --sealed-dir; 16 in all at most
  --sealed-dir HOST the module sees a directory /sealed whose files only it can read, on
                    this device: the secure world keeps them in HOST encrypted, names
                    included (a changed, cut or swapped file reads as EIO; an older copy
                    put back is not detected). Flat (no subdirectories), files up to 1 MiB
  --function NAME   call the export NAME instead of _start; ARGS are its parameters
                    (as WAMR's iwasm -f takes them) and its results are printed on stdout
  --receipt FILE    when the run ends, write the secure world's signed receipt of it to
                    FILE: the module's measurement, a digest of its entry, argv and
                    environment, the SHA-256 and length of everything it wrote to stdout and
                    to stderr, and how it ended, bound to --nonce (check it with
                    `tzwasm-verify receipt`; docs/attestation.md)
  --nonce HEX       the verifier's challenge for --receipt: 32, 48 or 64 bytes as hex
  -h, --help        this text

exit status: the module's exit code (0..255); 1 after a trap, with
\"tzwasm: trap: MESSAGE\" on stderr; 128+N when signal N (Ctrl-C: 130) cancelled the run;
125 when tzwasm could not run the module (the message says why; \"tzwasm: secure world
failed: MESSAGE\" when the secure world has stopped after an internal error, until reboot);
2 for usage errors.
Programs run in parallel, one per CPU; every program reserves its --heap out of the secure
pool while it runs, so too many at once get \"heap too large\" with the bytes still free.";

const INFO_USAGE: &str = "\
usage: tzwasm info

Prints the secure world's protocol and firmware versions, its memory pool (size, in use,
high-water mark), the CPUs that have entered it, its feature bits, and the limits that apply
to a run.";

const MEASURE_USAGE: &str = "\
usage: tzwasm measure [--heap SIZE] FILE.aot...

Loads each file into the secure world and prints the SHA-256 the secure world computed over
the bytes it copied (its measurement), in sha256sum's format: equal to `sha256sum FILE.aot`.
The module is unloaded again and not run. A file that does not load is still measured when
the secure world copied it (a note on stderr says why it did not load).";

const ATTEST_USAGE: &str = "\
usage: tzwasm attest [--heap SIZE] --nonce HEX FILE.aot > token.cbor

Loads FILE.aot into the secure world (measured, not run) and writes to stdout the PSA
attestation token (RFC 9783: CBOR claims in a COSE_Sign1 signed with the device's ES256
attestation key) that the secure world signs for it: the nonce, the device's instance ID, the
firmware measurement, the module's SHA-256 and what its AOT file says of itself. Check it with
tzwasm-verify and the device's public key (docs/attestation.md).

options:
  --nonce HEX   the verifier's challenge: 32, 48 or 64 bytes as hex (64, 96 or 128 digits)
  --heap SIZE   heap quota for loading the module (as for `tzwasm run`; default 8M)
  -h, --help    this text

exit status: 0 with the token on stdout; 125 when the secure world could not attest (the
message says why; \"attestation is not supported\" without a device identity);
2 for usage errors.";

/// A failure with a message for people and an exit status.
#[derive(Debug)]
struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            status: EXIT_TZWASM,
        }
    }

    fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: format!("{}\n(see tzwasm --help)", message.into()),
            status: EXIT_USAGE,
        }
    }
}

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        Failure::new(e.to_string())
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = match args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .as_deref()
    {
        None => {
            eprintln!("{USAGE}");
            Ok(EXIT_USAGE)
        }
        Some("-h" | "--help" | "help") => match args.get(1).and_then(|a| a.to_str()) {
            Some("run") => print(RUN_USAGE),
            Some("info") => print(INFO_USAGE),
            Some("measure") => print(MEASURE_USAGE),
            Some("attest") => print(ATTEST_USAGE),
            _ => print(USAGE),
        },
        Some("-V" | "--version") => print(&format!("tzwasm {}", env!("CARGO_PKG_VERSION"))),
        Some("run") => run(&args[1..]),
        Some("info") => info(&args[1..]),
        Some("measure") => measure(&args[1..]),
        Some("attest") => attest(&args[1..]),
        Some(other) => Err(Failure::usage(format!("tzwasm: unknown command `{other}`"))),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(f) => {
            eprintln!("tzwasm: {}", f.message.trim_start_matches("tzwasm: "));
            ExitCode::from(f.status)
        }
    }
}

fn print(text: &str) -> Result<u8, Failure> {
    println!("{text}");
    Ok(0)
}

fn is_help(a: &OsStr) -> bool {
    a == "-h" || a == "--help"
}

/// `--heap SIZE` / `--heap=SIZE`.
fn heap_value(v: Option<&OsString>) -> Result<u64, Failure> {
    let v = v.ok_or_else(|| Failure::usage("--heap needs a SIZE (e.g. 64K, 4M)"))?;
    let text = v.to_string_lossy();
    match size::parse(&text) {
        Some(n) if n >= SESSION_MIN_QUOTA => Ok(n),
        Some(_) => Err(Failure::usage(format!(
            "--heap {text}: the secure world takes at least {} ({SESSION_MIN_QUOTA} bytes)",
            size::show(SESSION_MIN_QUOTA)
        ))),
        None => Err(Failure::usage(format!(
            "--heap {text}: not a size; give bytes or a number with K, M or G (64K, 4M)"
        ))),
    }
}

/// `--stack SIZE` / `--stack=SIZE`.
fn stack_value(v: Option<&OsString>) -> Result<NativeStack, Failure> {
    let v = v.ok_or_else(|| Failure::usage("--stack needs a SIZE (e.g. 256K, 2M)"))?;
    let text = v.to_string_lossy();
    let n = size::parse(&text).ok_or_else(|| {
        Failure::usage(format!(
            "--stack {text}: not a size; give bytes or a number with K, M or G (256K, 2M)"
        ))
    })?;
    NativeStack::new(n).map_err(|_| {
        Failure::usage(format!(
            "--stack {text}: the secure world takes {} to {}",
            size::show(MIN_NATIVE_STACK),
            size::show(MAX_NATIVE_STACK)
        ))
    })
}

/// Splits `--opt=value` into (`--opt`, Some(value)).
fn split_eq(a: &OsStr) -> (&[u8], Option<OsString>) {
    let b = a.as_bytes();
    match b.iter().position(|&c| c == b'=') {
        Some(i) if b.starts_with(b"--") => {
            (&b[..i], Some(OsStr::from_bytes(&b[i + 1..]).to_os_string()))
        }
        _ => (b, None),
    }
}

/// Options and operands of `run`.
#[derive(Debug, Default, PartialEq)]
struct RunOptions {
    heap: Option<u64>,
    /// `--stack`, or the protocol's default.
    stack: NativeStack,
    env: Vec<Vec<u8>>,
    function: Option<Vec<u8>>,
    receipt: Option<OsString>,
    nonce: Option<Vec<u8>>,
    /// `--dir` directories, in order.
    dirs: Vec<OsString>,
    /// `--map-dir` (guest name, host directory), in order.
    map_dirs: Vec<(Vec<u8>, OsString)>,
    /// `--sealed-dir`.
    sealed_dir: Option<OsString>,
    file: OsString,
    args: Vec<Vec<u8>>,
    help: bool,
}

fn parse_run(args: &[OsString]) -> Result<RunOptions, Failure> {
    let mut o = RunOptions::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if is_help(a) {
            o.help = true;
            return Ok(o);
        }
        let (name, inline) = split_eq(a);
        let value = |i: &mut usize| match inline.clone() {
            Some(v) => Some(v),
            None => {
                *i += 1;
                args.get(*i).cloned()
            }
        };
        match name {
            b"--heap" => o.heap = Some(heap_value(value(&mut i).as_ref())?),
            b"--stack" => o.stack = stack_value(value(&mut i).as_ref())?,
            b"--env" => {
                let v = value(&mut i).ok_or_else(|| Failure::usage("--env needs KEY=VALUE"))?;
                if !v.as_bytes().contains(&b'=') {
                    return Err(Failure::usage(format!(
                        "--env {}: give KEY=VALUE",
                        v.to_string_lossy()
                    )));
                }
                o.env.push(v.as_bytes().to_vec());
            }
            b"--function" => {
                let v = value(&mut i)
                    .ok_or_else(|| Failure::usage("--function needs an export's NAME"))?;
                o.function = Some(v.as_bytes().to_vec());
            }
            b"--receipt" => {
                let v = value(&mut i).ok_or_else(|| Failure::usage("--receipt needs a FILE"))?;
                o.receipt = Some(v);
            }
            b"--nonce" => o.nonce = Some(nonce_value("run", value(&mut i).as_ref())?),
            b"--dir" => match value(&mut i) {
                Some(v) if !v.is_empty() => o.dirs.push(v),
                _ => return Err(Failure::usage("--dir needs a directory")),
            },
            b"--sealed-dir" => match value(&mut i) {
                Some(v) if !v.is_empty() && o.sealed_dir.is_none() => o.sealed_dir = Some(v),
                Some(v) if !v.is_empty() => {
                    return Err(Failure::usage("--sealed-dir: give it once"))
                }
                _ => return Err(Failure::usage("--sealed-dir needs a directory")),
            },
            b"--map-dir" => {
                let v =
                    value(&mut i).ok_or_else(|| Failure::usage("--map-dir needs GUEST::HOST"))?;
                let b = v.as_bytes();
                let at = b.windows(2).position(|w| w == b"::");
                match at {
                    Some(at) if &b[..at] == SEALED_NAME => {
                        return Err(Failure::usage(
                            "--map-dir: the name /sealed is --sealed-dir's",
                        ))
                    }
                    Some(at) if at > 0 && at + 2 < b.len() => o.map_dirs.push((
                        b[..at].to_vec(),
                        OsStr::from_bytes(&b[at + 2..]).to_os_string(),
                    )),
                    _ => {
                        return Err(Failure::usage(format!(
                            "--map-dir {}: give GUEST::HOST",
                            v.to_string_lossy()
                        )))
                    }
                }
            }
            b"--" => {
                i += 1;
                break;
            }
            n if n.starts_with(b"-") && n.len() > 1 => {
                return Err(Failure::usage(format!(
                    "run: unknown option `{}`",
                    a.to_string_lossy()
                )))
            }
            _ => break,
        }
        i += 1;
    }
    match (&o.receipt, &o.nonce) {
        (Some(_), None) => {
            return Err(Failure::usage(
                "run: --receipt needs the verifier's --nonce HEX",
            ))
        }
        (None, Some(_)) => {
            return Err(Failure::usage(
                "run: --nonce is for a receipt: give --receipt FILE too",
            ))
        }
        _ => {}
    }
    if o.dirs.iter().any(|d| d.as_bytes() == SEALED_NAME) {
        return Err(Failure::usage("--dir: the name /sealed is --sealed-dir's"));
    }
    if o.dirs.len() + o.map_dirs.len() + usize::from(o.sealed_dir.is_some()) > MAX_PREOPENS {
        return Err(Failure::usage(format!(
            "run: at most {MAX_PREOPENS} directories (--dir and --map-dir together)"
        )));
    }
    o.file = args
        .get(i)
        .cloned()
        .ok_or_else(|| Failure::usage("run: which module? give FILE.aot"))?;
    let mut rest = &args[i + 1..];
    if rest.first().is_some_and(|a| a == "--") {
        rest = &rest[1..];
    }
    o.args = rest.iter().map(|a| a.as_bytes().to_vec()).collect();
    Ok(o)
}

fn read_module(path: &OsStr) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::new(format!(
            "cannot read {}: {e}",
            std::path::Path::new(path).display()
        ))
    })
}

/// Turns a runner error into a message, with hints.
fn run_failure(e: RunError, channel_error: Option<io::Error>) -> Failure {
    let status = match e {
        RunError::Refused { status, .. } | RunError::Load { status, .. } => Some(status),
        _ => None,
    };
    match (e, channel_error) {
        (
            RunError::Load {
                status: Status::QuotaTooSmall,
                value,
                ..
            },
            _,
        ) => Failure::new(format!(
            "heap too small: this module needs at least {value} bytes; run it with --heap {}",
            suffixed_size(value)
        )),
        (
            e @ RunError::Load {
                status: Status::BadModule,
                ..
            },
            _,
        ) => {
            let text = e.to_string();
            if text.contains("wamrc") {
                Failure::new(text)
            } else {
                Failure::new(format!(
                    "{text} (tzwasm runs WAMR AOT files: compile the .wasm with wamrc 2.4 \
                     --target=aarch64)"
                ))
            }
        }
        (_, Some(os)) if status == Some(Status::Internal) => {
            Failure::new(format!("the driver refused a call: {os}"))
        }
        (other, _) => Failure::new(other.to_string()),
    }
}

/// The smallest size-option value (`--heap`, `--stack`) with a K or M suffix that holds `n`
/// bytes.
fn suffixed_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{}M", n.div_ceil(1 << 20))
    } else {
        format!("{}K", n.div_ceil(1 << 10))
    }
}

/// Streams the module's output to ours as it is drained: what one drain of the ring yields
/// (the runner hands it over in 512-byte chunks) is collected and written with one `write`
/// per stream, then flushed, so output appears as the module produces it without a system
/// call per chunk.
struct Output {
    error: Option<io::Error>,
    /// Reading our stdin failed (the module then saw end of file).
    stdin_error: Option<io::Error>,
    /// stdout and stderr bytes of the current drain.
    pending: [Vec<u8>; 2],
    /// The directories granted with --dir/--map-dir, and the buffers of one request.
    files: Option<Files>,
}

/// The file server of a run and the two buffers it works in (a request, a reply's data).
struct Files {
    server: FileServer,
    request: Vec<u8>,
    reply: Vec<u8>,
    /// TZWASM_TRACE_FILES set: every request and its answer on stderr.
    trace: bool,
}

impl RunObserver for Output {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        if self.error.is_none() {
            self.pending[stream.index()].extend_from_slice(bytes);
        }
    }

    fn drained(&mut self) {
        let [out, err] = &mut self.pending;
        if self.error.is_some() || (out.is_empty() && err.is_empty()) {
            return;
        }
        let r = (|| {
            if !out.is_empty() {
                let mut o = io::stdout().lock();
                o.write_all(out)?;
                o.flush()?;
            }
            if !err.is_empty() {
                io::stderr().lock().write_all(err)?;
            }
            Ok(())
        })();
        out.clear();
        err.clear();
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    fn cancel_requested(&mut self) -> bool {
        stopping() || self.error.is_some()
    }

    /// Performs the module's file request inside the granted directories and replies. A
    /// request this side cannot read (the secure world never sends one) cancels the run.
    fn file_request(&mut self, channel: &FileChannel<'_>) -> bool {
        let Some(f) = self.files.as_mut() else {
            return false;
        };
        let cap = channel.capacity();
        f.request.resize(cap, 0);
        f.reply.resize(cap, 0);
        let Ok(req) = channel.read_request(&mut f.request) else {
            return false;
        };
        let answer = f.server.serve(&req, &mut f.reply);
        if f.trace {
            eprintln!(
                "tzwasm: file request {} {:?} {:x?} path {:?} path2 {:?} data {} bytes -> errno {} values {:x?} data {} bytes",
                req.seq,
                req.op,
                req.args,
                String::from_utf8_lossy(req.path),
                String::from_utf8_lossy(req.path2),
                req.data.len(),
                answer.errno,
                answer.values,
                answer.len
            );
        }
        channel.write_reply(&answer.reply(req.seq, &f.reply))
    }

    /// Moves our stdin into the module's: one read of ours, as much as the ring has room
    /// for. With `wait` (the module waits for input) the read blocks until something comes,
    /// as the module's own read would; without, it happens only if input is there now
    /// (`poll`). End of file (or a read error) finishes the input ring. A signal during the
    /// read cancels the run.
    fn input(&mut self, ring: &mut Producer<'_>, wait: bool) -> bool {
        let room = ring.space(Stream::Stdout).min(STDIN_CHUNK);
        if room == 0 {
            return true;
        }
        if !wait {
            let mut fd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no timeout.
            if unsafe { libc::poll(&mut fd, 1, 0) } <= 0 || fd.revents == 0 {
                return true;
            }
        }
        let mut buf = vec![0u8; room];
        loop {
            // SAFETY: reads at most `room` bytes into `buf`, which has exactly that many.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), room) };
            match n {
                n if n > 0 => {
                    let bytes = buf.get(..n as usize).unwrap_or_default();
                    return ring.write(Stream::Stdout, bytes) == bytes.len();
                }
                0 => {
                    ring.finish();
                    return true;
                }
                _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {
                    if stopping() {
                        return false;
                    }
                }
                _ => {
                    let e = io::Error::last_os_error();
                    // No stdin at all (closed): end of file, as for /dev/null.
                    if e.raw_os_error() != Some(libc::EBADF) {
                        self.stdin_error = Some(e);
                    }
                    ring.finish();
                    return true;
                }
            }
        }
    }
}

/// Bytes of the module's stdin ring, and the most one read of ours moves into it.
const STDIN_CAPACITY: u32 = 64 << 10;
const STDIN_CHUNK: usize = STDIN_CAPACITY as usize;

fn run(args: &[OsString]) -> Result<u8, Failure> {
    let o = parse_run(args)?;
    if o.help {
        return print(RUN_USAGE);
    }
    let file = read_module(&o.file)?;
    let mut argv: Vec<&[u8]> = vec![o.file.as_bytes()];
    argv.extend(o.args.iter().map(Vec::as_slice));
    let env: Vec<&[u8]> = o.env.iter().map(Vec::as_slice).collect();
    // Preopens: every --dir (named as written), then every --map-dir, as iwasm numbers them.
    let mut grants: Vec<(Vec<u8>, OsString)> = o
        .dirs
        .iter()
        .map(|d| (d.as_bytes().to_vec(), d.clone()))
        .collect();
    grants.extend(o.map_dirs.iter().cloned());
    if let Some(d) = &o.sealed_dir {
        grants.push((SEALED_NAME.to_vec(), d.clone()));
    }
    let (files, preopens) = if grants.is_empty() {
        (None, Vec::new())
    } else {
        let (server, mut preopens) = FileServer::new(&grants)
            .map_err(|e| Failure::new(format!("cannot grant the directory {e}")))?;
        // The last grant is the sealed directory: the secure world keeps its files.
        if o.sealed_dir.is_some() {
            if let Some(p) = preopens.last_mut() {
                p.sealed = true;
            }
        }
        let files = Files {
            server,
            request: Vec::new(),
            reply: Vec::new(),
            trace: std::env::var_os("TZWASM_TRACE_FILES").is_some(),
        };
        (Some(files), preopens)
    };
    let req = RunRequest {
        entry: o.function.as_deref().unwrap_or(b""),
        args: &argv,
        env: &env,
        ring_capacity: DEFAULT_RING_CAPACITY,
        receipt_nonce: o.nonce.as_deref(),
        stdin_capacity: Some(STDIN_CAPACITY),
        files: files.as_ref().map(|_| preopens.as_slice()),
    };
    let need = area_size(file.len(), &req).ok_or_else(|| {
        Failure::usage(
            "the arguments cannot be passed: a NUL inside one, more than 1024 strings or \
             64 KiB in all",
        )
    })?;
    if need > SHM_MAX_SIZE {
        return Err(Failure::new(format!(
            "{} is {} bytes: with its arguments and output rings it needs {} of shared memory, \
             and the driver shares at most {} per program",
            o.file.to_string_lossy(),
            file.len(),
            size::show(need as u64),
            size::show(SHM_MAX_SIZE as u64)
        )));
    }
    catch_signals();
    let Device {
        mut channel,
        shm: mapping,
    } = open_device(need, o.heap)?;
    let area = mapping.area();
    let handle = channel.session();
    let mut observer = Output {
        error: None,
        stdin_error: None,
        pending: [Vec::new(), Vec::new()],
        files,
    };
    let mut receipt = vec![0u8; RECEIPT_TOKEN_MIN as usize];
    let outcome = {
        let mut session = Session::attach(&mut channel, handle);
        let loaded = session.load_with_stack(&area, &file, o.stack);
        let ran = match loaded {
            Ok(_) => session.run(
                &area,
                run_offset(file.len()).unwrap_or(0),
                &req,
                &mut observer,
            ),
            Err(e) => Err(e),
        };
        // The run is over: the whole area is free again, the receipt goes at its start.
        match ran {
            Ok(end) if o.receipt.is_some() => session
                .receipt(&area, 0, &mut receipt)
                .map(|len| (end, Some(len))),
            Ok(end) => Ok((end, None)),
            Err(e) => Err(e),
        }
    };
    let (outcome, receipt_len) = match outcome {
        Ok(v) => v,
        Err(RunError::Refused {
            status: Status::NotSupported,
            ..
        }) => {
            return Err(Failure::new(
                "receipts are not supported: no device identity (no device secret, or a \
                 secure world built without attestation)",
            ))
        }
        Err(e) => return Err(run_failure(e, channel.last_os_error.take())),
    };
    if let (Some(path), Some(len)) = (&o.receipt, receipt_len) {
        std::fs::write(path, receipt.get(..len).unwrap_or_default()).map_err(|e| {
            Failure::new(format!(
                "cannot write the receipt to {}: {e}",
                path.to_string_lossy()
            ))
        })?;
    }
    if let Some(e) = observer.stdin_error.take() {
        eprintln!("tzwasm: cannot read stdin: {e}; the module saw end of file");
    }
    let sig = SIGNAL.load(Ordering::Relaxed);
    match outcome.end {
        RunEnd::Exited(_) => Ok(outcome.exit_status()),
        RunEnd::Trapped(id) => {
            eprintln!("tzwasm: trap: {}", outcome.trap_message());
            if id == Some(TRAP_NATIVE_STACK_OVERFLOW) {
                let stack = o.stack.bytes();
                eprintln!(
                    "tzwasm: the module used up its native stack of {}; give it more with \
                     --stack (e.g. --stack {}), up to {}",
                    size::show(stack),
                    suffixed_size(stack.saturating_mul(4).min(MAX_NATIVE_STACK)),
                    size::show(MAX_NATIVE_STACK)
                );
            }
            Ok(outcome.exit_status())
        }
        RunEnd::Cancelled if sig != 0 => {
            eprintln!("tzwasm: cancelled by signal {sig}; the module was stopped");
            Ok(128u8.wrapping_add(sig as u8))
        }
        RunEnd::Cancelled => match observer.error {
            Some(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(128 + libc::SIGPIPE as u8),
            Some(e) => Err(Failure::new(format!(
                "cannot write the module's output: {e}; the run was cancelled"
            ))),
            None => Err(Failure::new("the run was cancelled")),
        },
    }
}

fn info(args: &[OsString]) -> Result<u8, Failure> {
    if let Some(a) = args.first() {
        if is_help(a) {
            return print(INFO_USAGE);
        }
        return Err(Failure::usage(format!(
            "info: unexpected argument `{}`",
            a.to_string_lossy()
        )));
    }
    let Device {
        mut channel,
        shm: _shm,
    } = Device::open(4096, SESSION_MIN_QUOTA)?;
    let bad = |channel: &mut Channel, what: &str, e: ClientError| match e {
        ClientError::Status(Status::Failed) => Failure::new(failed(channel).to_string()),
        e => Failure::new(format!("GET_INFO {what}: {e}")),
    };
    let v = channel
        .versions()
        .map_err(|e| bad(&mut channel, "VERSIONS", e))?;
    let pool = channel
        .pool_info()
        .map_err(|e| bad(&mut channel, "POOL", e))?;
    let cpus = channel
        .cpu_info()
        .map_err(|e| bad(&mut channel, "CPUS", e))?;
    let features = channel
        .features()
        .map_err(|e| bad(&mut channel, "FEATURES", e))?;
    let measurement = channel
        .firmware_measurement()
        .map_err(|e| bad(&mut channel, "MEASUREMENT", e))?;
    println!("tzwasm tool {}", env!("CARGO_PKG_VERSION"));
    println!(
        "secure world: protocol {}, firmware {}",
        v.protocol, v.firmware
    );
    println!(
        "pool: {} bytes ({}), {} in use, high-water mark {}",
        pool.size,
        size::show(pool.size),
        pool.used,
        pool.high_water
    );
    println!(
        "cpus: {} entered the secure world (mask {:#x}), build maximum {}",
        cpus.seen_count, cpus.seen_mask, cpus.max_cpus
    );
    println!(
        "features: {:#x} {:?}",
        features.features.0, features.features
    );
    println!("firmware measurement: {}", hex(&measurement.0));
    println!(
        "attestation: {}",
        if features
            .features
            .contains(tzwasm_smc::Features::ATTESTATION)
        {
            "yes (this device has a device secret)"
        } else {
            "no (no device secret, or a secure world built without attestation)"
        }
    );
    println!(
        "limits: heap (--heap) {} to the pool size, default {}; native stack (--stack) {} to {}, \
         default {}; shared memory per program {}; sessions at once: as many as their heaps fit \
         in the pool; output rings {} per stream",
        size::show(SESSION_MIN_QUOTA),
        size::show(DEFAULT_HEAP),
        size::show(MIN_NATIVE_STACK),
        size::show(MAX_NATIVE_STACK),
        size::show(NativeStack::DEFAULT.bytes()),
        size::show(SHM_MAX_SIZE as u64),
        size::show(u64::from(DEFAULT_RING_CAPACITY))
    );
    Ok(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn measure(args: &[OsString]) -> Result<u8, Failure> {
    let mut heap = DEFAULT_HEAP;
    let mut files = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = split_eq(a);
        match name {
            _ if is_help(a) => return print(MEASURE_USAGE),
            b"--heap" => {
                let v = match inline {
                    Some(v) => Some(v),
                    None => {
                        i += 1;
                        args.get(i).cloned()
                    }
                };
                heap = heap_value(v.as_ref())?;
            }
            b"--" => files.extend(args[i + 1..].iter().cloned()),
            n if n.starts_with(b"-") && n.len() > 1 => {
                return Err(Failure::usage(format!(
                    "measure: unknown option `{}`",
                    a.to_string_lossy()
                )))
            }
            _ => files.push(a.clone()),
        }
        if name == b"--" {
            break;
        }
        i += 1;
    }
    if files.is_empty() {
        return Err(Failure::usage("measure: which module? give FILE.aot"));
    }
    for path in &files {
        let file = read_module(path)?;
        let need = load_report_offset(file.len())
            .and_then(|r| r.checked_add(LOAD_REPORT_SIZE))
            .map(|n| n.next_multiple_of(4096))
            .unwrap_or(usize::MAX);
        if need > SHM_MAX_SIZE {
            return Err(Failure::new(format!(
                "{} is {} bytes; the driver shares at most {} per program",
                path.to_string_lossy(),
                file.len(),
                size::show(SHM_MAX_SIZE as u64)
            )));
        }
        let Device {
            mut channel,
            shm: mapping,
        } = Device::open(need, heap)?;
        let area = mapping.area();
        let handle = channel.session();
        let result = Session::attach(&mut channel, handle).load(&area, &file);
        let name = path.to_string_lossy();
        match result {
            Ok(loaded) => println!("{}  {name}", hex(&loaded.sha256)),
            Err(RunError::Load {
                report: Some(r), ..
            }) if r.sha256 != [0; 32] => {
                println!("{}  {name}", hex(&r.sha256));
                eprintln!(
                    "tzwasm: note: {name} was measured but did not load: {}",
                    r.message()
                );
            }
            Err(e) => return Err(run_failure(e, channel.last_os_error.take())),
        }
    }
    Ok(0)
}

/// Decodes a hex string (upper or lower case, even length).
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `--nonce HEX` of `command`: 32, 48 or 64 bytes.
fn nonce_value(command: &str, v: Option<&OsString>) -> Result<Vec<u8>, Failure> {
    let v = v.ok_or_else(|| Failure::usage(format!("{command}: --nonce needs HEX")))?;
    let bytes = v
        .to_str()
        .and_then(unhex)
        .ok_or_else(|| Failure::usage(format!("{command}: --nonce is not hex")))?;
    if !ATTEST_NONCE_LENGTHS.contains(&(bytes.len() as u64)) {
        return Err(Failure::usage(format!(
            "{command}: the nonce is {} bytes; it must be 32, 48 or 64",
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn attest(args: &[OsString]) -> Result<u8, Failure> {
    let mut heap = None;
    let mut nonce = None;
    let mut file = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = split_eq(a);
        let mut value = || match inline.clone() {
            Some(v) => Some(v),
            None => {
                i += 1;
                args.get(i).cloned()
            }
        };
        match name {
            _ if is_help(a) => return print(ATTEST_USAGE),
            b"--heap" => heap = Some(heap_value(value().as_ref())?),
            b"--nonce" => nonce = Some(nonce_value("attest", value().as_ref())?),
            n if n.starts_with(b"-") && n.len() > 1 => {
                return Err(Failure::usage(format!(
                    "attest: unknown option `{}`",
                    a.to_string_lossy()
                )))
            }
            _ if file.is_some() => return Err(Failure::usage("attest: one FILE.aot at a time")),
            _ => file = Some(a.clone()),
        }
        i += 1;
    }
    let nonce = nonce.ok_or_else(|| Failure::usage("attest: give the verifier's --nonce HEX"))?;
    let path = file.ok_or_else(|| Failure::usage("attest: which module? give FILE.aot"))?;
    let module = read_module(&path)?;
    let attest_at = load_report_offset(module.len())
        .and_then(|r| r.checked_add(LOAD_REPORT_SIZE))
        .map(|n| n.next_multiple_of(64))
        .unwrap_or(usize::MAX);
    let need = attest_at.saturating_add(attest_area_size());
    if need > SHM_MAX_SIZE {
        return Err(Failure::new(format!(
            "{} is {} bytes; the driver shares at most {} per program",
            path.to_string_lossy(),
            module.len(),
            size::show(SHM_MAX_SIZE as u64)
        )));
    }
    let Device {
        mut channel,
        shm: mapping,
    } = open_device(need, heap)?;
    let area = mapping.area();
    let handle = channel.session();
    let mut token = vec![0u8; ATTEST_TOKEN_MIN as usize];
    let result = {
        let mut session = Session::attach(&mut channel, handle);
        match session.load(&area, &module) {
            Ok(_) => session.attest(&area, attest_at, &nonce, &mut token),
            Err(e) => Err(e),
        }
    };
    let len = match result {
        Ok(len) => len,
        Err(RunError::Refused {
            status: Status::NotSupported,
            ..
        }) => {
            return Err(Failure::new(
                "attestation is not supported: no device identity (no device secret, or a \
                 secure world built without attestation)",
            ))
        }
        Err(e) => return Err(run_failure(e, channel.last_os_error.take())),
    };
    let mut out = io::stdout().lock();
    out.write_all(token.get(..len).unwrap_or_default())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::new(format!("writing the token: {e}")))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn run_options() {
        let o = parse_run(&os(&["--heap", "4M", "x.aot", "--", "a", "--heap"])).unwrap();
        assert_eq!(o.heap, Some(4 << 20));
        assert_eq!(o.file, "x.aot");
        assert_eq!(o.args, vec![b"a".to_vec(), b"--heap".to_vec()]);
        let o = parse_run(&os(&["--heap=64K", "--env", "A=1", "x.aot", "b"])).unwrap();
        assert_eq!(o.heap, Some(64 << 10));
        assert_eq!(o.env, vec![b"A=1".to_vec()]);
        assert_eq!(o.args, vec![b"b".to_vec()]);
        let o = parse_run(&os(&["--", "-x.aot", "--", "--"])).unwrap();
        assert_eq!(o.file, "-x.aot");
        assert_eq!(o.args, vec![b"--".to_vec()]);
        assert!(parse_run(&os(&["--help"])).unwrap().help);
        let o = parse_run(&os(&["--stack", "1M", "x.aot"])).unwrap();
        assert_eq!(o.stack.bytes(), 1 << 20);
        let o = parse_run(&os(&["--stack=17K", "x.aot"])).unwrap();
        assert_eq!(o.stack.bytes(), 20 << 10);
        for bad in ["8K", "9M", "lots"] {
            let e = parse_run(&os(&["--stack", bad, "x.aot"])).unwrap_err();
            assert!(e.message.contains("--stack"), "{bad}: {}", e.message);
        }
        let nonce = "ab".repeat(32);
        let o = parse_run(&os(&["--receipt", "r.cbor", "--nonce", &nonce, "x.aot"])).unwrap();
        assert_eq!(o.receipt.as_deref(), Some(OsStr::new("r.cbor")));
        assert_eq!(o.nonce, Some(vec![0xab; 32]));
        let short = "ab".repeat(31);
        for bad in [
            &["--receipt", "r.cbor", "x.aot"][..],
            &["--nonce", &nonce, "x.aot"],
            &["--receipt", "r.cbor", "--nonce", &short, "x.aot"],
            &["--receipt", "r.cbor", "--nonce", "xyz", "x.aot"],
            &["--heap", "lots", "x.aot"],
            &["--heap", "1K", "x.aot"],
            &["--env", "NOEQUALS", "x.aot"],
            &["--bogus", "x.aot"],
            &[],
        ] {
            assert!(parse_run(&os(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_failed_secure_world_is_reported_with_its_message() {
        let mut m = tzwasm_smc::FailureMessage::empty();
        let mut chunk = [0u8; tzwasm_smc::info::FAILURE_CHUNK];
        chunk[..10].copy_from_slice(b"panic: bad");
        m.push_chunk(&chunk);
        let f = run_failure(RunError::Failed(m), None);
        assert_eq!(f.message, "secure world failed: panic: bad");
        assert_eq!(f.status, EXIT_TZWASM);
        assert_eq!(EXIT_TZWASM, 125);
        let f = Failure::from(SetupError::Failed("panic: bad".into()));
        assert_eq!(f.message, "secure world failed: panic: bad");
        assert_eq!(f.status, 125);
    }

    #[test]
    fn hints_round_up() {
        assert_eq!(suffixed_size(1), "1K");
        assert_eq!(suffixed_size(1024), "1K");
        assert_eq!(suffixed_size(1025), "2K");
        assert_eq!(suffixed_size(3 << 20), "3M");
        assert_eq!(suffixed_size((3 << 20) + 1), "4M");
    }
}
