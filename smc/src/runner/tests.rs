//! The runner against a fake secure world that serves SESSION_OPEN/CLOSE, LOAD, RUN, RESUME,
//! CANCEL and UNLOAD on one shared area, producing scripted output through a real ring
//! [`Producer`].

use super::*;
use crate::call::ids;
use crate::function_id::FunctionId;
use crate::ring::Producer;
use crate::session::{RunBlock, SESSION_MIN_QUOTA};

#[repr(C, align(64))]
struct Page([u8; PAGE_SIZE]);

/// Zeroed, 64-aligned memory standing in for a registration.
struct Memory(Vec<Page>);

impl Memory {
    fn new(pages: usize) -> Self {
        Memory((0..pages).map(|_| Page([0; PAGE_SIZE])).collect())
    }

    fn area(&mut self, handle: u64) -> SharedArea<'_> {
        let len = self.0.len() * PAGE_SIZE;
        // SAFETY: the pages live as long as the returned borrow of `self`, which also keeps
        // every other access out; the test is single-threaded, so the client and the fake
        // never access the memory at the same time.
        let mem = unsafe { SharedRegion::new(self.0.as_mut_ptr().cast::<u8>(), len) }.unwrap();
        SharedArea {
            handle: ShmHandle::from_raw(handle),
            mem,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum End {
    Exit(u32),
    Trap(u32, &'static str),
}

struct Running<'a> {
    producer: Producer<'a>,
    ring: usize,
    report: usize,
    sent: [usize; 2],
    steps: u32,
}

const SESSION: u64 = 0x101;
const SHM: u64 = 0x7;

/// A scripted secure world.
struct Fake<'a> {
    mem: SharedRegion<'a>,
    open: bool,
    loaded: bool,
    quota: u64,
    output: [Vec<u8>; 2],
    end: End,
    /// Answer INTERRUPTED on every n-th step.
    interrupt_every: Option<u32>,
    /// Corrupt the producer index at the first pause.
    corrupt: bool,
    run: Option<Running<'a>>,
    cancelling: bool,
    calls: Vec<&'static str>,
    /// Fail-stop at this RUN/RESUME step: FAILED from then on.
    fail_at_step: Option<u32>,
    failed: bool,
    /// LOAD answers INTERRUPTED this many times (RESUME continues it) before it answers.
    load_interruptions: u32,
    /// The arguments of a LOAD that was interrupted.
    loading: Option<[u64; 8]>,
    /// The program copies its stdin (the input ring the RUN block names) to stdout.
    stdin: Option<crate::ring::Consumer<'a>>,
}

/// The message the fake records when it fails.
const FAIL_MESSAGE: &[u8] = b"CRASH on CPU 1: data abort from same EL at ELR 0x0e101234";

impl<'a> Fake<'a> {
    fn new(mem: SharedRegion<'a>, stdout: &[u8], end: End) -> Self {
        Fake {
            mem,
            open: false,
            loaded: false,
            quota: 0,
            output: [stdout.to_vec(), b"warning\n".to_vec()],
            end,
            interrupt_every: None,
            corrupt: false,
            run: None,
            cancelling: false,
            calls: Vec::new(),
            fail_at_step: None,
            failed: false,
            load_interruptions: 0,
            loading: None,
            stdin: None,
        }
    }

    fn st(s: Status) -> [u64; 4] {
        [s.to_raw(), 0, 0, 0]
    }

    fn load(&mut self, a: &[u64; 8]) -> [u64; 4] {
        if self.load_interruptions > 0 {
            self.load_interruptions -= 1;
            self.loading = Some(*a);
            return Self::st(Status::Interrupted);
        }
        self.loading = None;
        let (off, len, rep) = (a[3] as usize, a[4] as usize, a[5] as usize);
        let mut file = vec![0u8; len];
        if a[2] != SHM || !self.mem.read_bytes(off, &mut file) {
            return Self::st(Status::BadAddress);
        }
        let min = len as u64 + 0x10000;
        let mut report = LoadReport::new(0);
        report.min_quota = min;
        let (status, x1) = if self.quota < min {
            (Status::QuotaTooSmall, min)
        } else if !file.starts_with(b"AOT") {
            report.set_message("not an AOT file (magic)");
            (Status::BadModule, 0)
        } else {
            report.set_message("loaded");
            report.sha256 = [file.len() as u8; 32];
            report.charged = min;
            self.loaded = true;
            (Status::Success, min)
        };
        report.status = status.to_raw() as i32;
        assert!(self.mem.write_bytes(rep, &report.to_bytes()));
        [status.to_raw(), x1, min, 0]
    }

    fn start(&mut self, a: &[u64; 8]) -> [u64; 4] {
        if !self.loaded || self.run.is_some() {
            return Self::st(Status::BadState);
        }
        let mut block = vec![0u8; a[4] as usize];
        assert!(self.mem.read_bytes(a[3] as usize, &mut block));
        let block = RunBlock::parse(&block).unwrap();
        // The program echoes its arguments and environment after the scripted stdout.
        for arg in block.args().chain(block.env()) {
            self.output[0].extend_from_slice(arg);
            self.output[0].push(b' ');
        }
        self.output[0].push(b'\n');
        if let Some((at, len)) = block.stdin_ring() {
            let input = self.mem.sub(at as usize, len as usize).unwrap();
            self.stdin = Some(crate::ring::Consumer::attach(input).unwrap());
        }
        let ring = self.mem.sub(a[5] as usize, a[6] as usize).unwrap();
        self.run = Some(Running {
            producer: Producer::attach(ring).unwrap(),
            ring: a[5] as usize,
            report: a[7] as usize,
            sent: [0; 2],
            steps: 0,
        });
        self.step()
    }

    fn finish(&mut self, status: Status, code: u32, trap: Option<(u32, &str)>) -> [u64; 4] {
        let mut run = self.run.take().unwrap();
        run.producer.finish();
        let mut r = RunReport::new(status.to_raw() as i32);
        r.exit_code = code;
        r.written = [run.sent[0] as u64, run.sent[1] as u64];
        match trap {
            Some((id, msg)) => {
                r.trap_id = id;
                r.set_message(msg);
            }
            None if self.cancelling => r.set_message("cancelled"),
            None => r.set_message("exited"),
        }
        assert!(self.mem.write_bytes(run.report, &r.to_bytes()));
        self.loaded = false;
        let x1 = trap.map_or(u64::from(code), |(id, _)| u64::from(id));
        [status.to_raw(), x1, r.written[0], r.written[1]]
    }

    fn step(&mut self) -> [u64; 4] {
        let Some(run) = self.run.as_mut() else {
            return Self::st(Status::BadState);
        };
        run.steps += 1;
        if self.fail_at_step == Some(run.steps) {
            self.failed = true;
            return Self::st(Status::Failed);
        }
        if self.interrupt_every.is_some_and(|n| run.steps % n == 0) {
            return Self::st(Status::Interrupted);
        }
        for s in Stream::ALL {
            let i = s.index();
            while run.sent[i] < self.output[i].len() {
                let n = run.producer.write(s, &self.output[i][run.sent[i]..]);
                run.sent[i] += n;
                if n == 0 {
                    if self.corrupt {
                        // A broken producer: its index jumps far beyond the capacity.
                        let at = run.ring + ring::OFF_PRODUCED + 4 * i;
                        assert!(self.mem.write_u32(at, 0x4000_0000));
                    }
                    return Self::st(Status::OutputPending);
                }
            }
        }
        if let Some(input) = self.stdin.as_mut() {
            let finished = input.flags() & ring::FLAG_FINISHED != 0;
            let mut got = Vec::new();
            input
                .drain(|_, b| {
                    got.extend_from_slice(b);
                    b.len()
                })
                .unwrap();
            if !got.is_empty() {
                self.output[0].extend_from_slice(&got);
                return self.step();
            }
            if !finished {
                return Self::st(Status::InputPending);
            }
        }
        match self.end.clone() {
            End::Exit(code) => self.finish(Status::Success, code, None),
            End::Trap(id, msg) => self.finish(Status::Trapped, 0, Some((id, msg))),
        }
    }
}

impl Conduit for Fake<'_> {
    fn call(&mut self, a: [u64; 8]) -> [u64; 4] {
        let id = a[0];
        let is = |f: FunctionId| f.to_x0() == id;
        if self.failed {
            self.calls.push(if is(ids::GET_INFO) {
                "GET_INFO"
            } else {
                "(failed)"
            });
            if is(ids::GET_INFO) && a[1] == crate::InfoSelector::Failure.to_raw() {
                let mut chunk = [0u8; crate::info::FAILURE_CHUNK];
                for (i, b) in chunk.iter_mut().enumerate() {
                    *b = FAIL_MESSAGE.get(a[2] as usize + i).copied().unwrap_or(0);
                }
                let [x1, x2, x3] = crate::info::failure_chunk_to_regs(&chunk);
                return [0, x1, x2, x3];
            }
            return Self::st(Status::Failed);
        }
        let name = if is(ids::SESSION_OPEN) {
            "SESSION_OPEN"
        } else if is(ids::SESSION_CLOSE) {
            "SESSION_CLOSE"
        } else if is(ids::LOAD) {
            "LOAD"
        } else if is(ids::RUN) {
            "RUN"
        } else if is(ids::RESUME) {
            "RESUME"
        } else if is(ids::CANCEL) {
            "CANCEL"
        } else if is(ids::UNLOAD) {
            "UNLOAD"
        } else {
            "?"
        };
        self.calls.push(name);
        if name != "SESSION_OPEN" && a[1] != SESSION {
            return Self::st(Status::NoSuchHandle);
        }
        match name {
            "SESSION_OPEN" if a[1] < 0x10000 => [Status::QuotaTooSmall.to_raw(), 0x10000, 0, 0],
            "SESSION_OPEN" if a[1] > 1 << 24 => [Status::QuotaTooLarge.to_raw(), 1 << 24, 0, 0],
            "SESSION_OPEN" => {
                self.open = true;
                self.quota = a[1];
                [0, SESSION, 0, 0]
            }
            "SESSION_CLOSE" => {
                self.open = false;
                Self::st(Status::Success)
            }
            "LOAD" => self.load(&a),
            "RUN" => self.start(&a),
            "RESUME" => match self.loading {
                Some(load) => self.load(&load),
                None => self.step(),
            },
            "CANCEL" if self.run.is_some() => {
                self.cancelling = true;
                self.finish(Status::Success, 0, None)
            }
            "CANCEL" => Self::st(Status::BadState),
            "UNLOAD" => Self::st(Status::Success),
            _ => Self::st(Status::NotSupported),
        }
    }
}

/// Records what the runner hands out; can cancel after some bytes.
#[derive(Default)]
struct Sink {
    out: [Vec<u8>; 2],
    cancel_after: Option<usize>,
    pauses_seen: u32,
    interrupts_seen: u32,
    drains: u32,
    /// stdin, one chunk per blocking `input` call, then end of file.
    input: Vec<&'static [u8]>,
    /// `input` calls that may block, and those that may not.
    input_calls: [u32; 2],
}

impl RunObserver for Sink {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.out[stream.index()].extend_from_slice(bytes);
    }

    fn cancel_requested(&mut self) -> bool {
        self.cancel_after.is_some_and(|n| self.out[0].len() >= n)
    }

    fn interrupted(&mut self, n: u32) {
        self.interrupts_seen = n;
    }

    fn drained(&mut self) {
        self.drains += 1;
    }

    fn input(&mut self, ring: &mut Producer<'_>, wait: bool) -> bool {
        self.input_calls[usize::from(!wait)] += 1;
        if wait {
            match self.input.first() {
                Some(chunk) => {
                    assert_eq!(ring.write(Stream::Stdout, chunk), chunk.len());
                    self.input.remove(0);
                }
                None => ring.finish(),
            }
        }
        true
    }

    fn paused(&mut self, pause: u32, ring: SharedRegion<'_>) -> bool {
        assert_eq!(ring.read_u32(0), Some(ring::MAGIC));
        self.pauses_seen = pause;
        true
    }
}

const ARGS: [&[u8]; 3] = [b"prog", b"a b", b"-x"];
const ENV: [&[u8]; 1] = [b"K=V"];

fn request(cap: u32) -> RunRequest<'static> {
    RunRequest {
        entry: b"",
        args: &ARGS,
        env: &ENV,
        ring_capacity: cap,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    }
}

/// Opens, loads `file`, runs with `cap`-byte rings: the outcome, the output and the calls.
fn load_and_run(
    file: &[u8],
    stdout: &[u8],
    end: End,
    cap: u32,
    set: impl FnOnce(&mut Fake<'_>, &mut Sink),
) -> (Result<RunOutcome, Error>, Sink, Vec<&'static str>) {
    let req = request(cap);
    let size = area_size(file.len(), &req).unwrap();
    assert!(size.is_multiple_of(PAGE_SIZE));
    let mut memory = Memory::new(size / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, stdout, end);
    let mut sink = Sink::default();
    set(&mut fake, &mut sink);
    let result = {
        let mut session = Session::open(&mut fake, 1 << 20).unwrap();
        let loaded = session.load(&area, file).unwrap();
        assert_eq!(loaded.sha256, [file.len() as u8; 32]);
        assert_eq!(loaded.min_quota, file.len() as u64 + 0x10000);
        session.run(&area, run_offset(file.len()).unwrap(), &req, &mut sink)
    };
    assert!(!fake.open, "dropping the session closes it");
    (result, sink, fake.calls)
}

#[test]
fn stdin_is_fed_at_input_pending_until_end_of_file() {
    let mut req = request(4096);
    req.stdin_capacity = Some(64);
    let file = b"AOT\0module";
    let size = area_size(file.len(), &req).unwrap();
    let mut memory = Memory::new(size / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"> ", End::Exit(0));
    let mut sink = Sink {
        input: vec![b"hello ", b"world\n"],
        ..Sink::default()
    };
    let result = {
        let mut session = Session::open(&mut fake, 1 << 20).unwrap();
        session.load(&area, file).unwrap();
        session.run(&area, run_offset(file.len()).unwrap(), &req, &mut sink)
    };
    assert_eq!(result.unwrap().end, RunEnd::Exited(0));
    assert_eq!(sink.out[0], b"> prog a b -x K=V \nhello world\n");
    // Two chunks and the end of file, each at an INPUT_PENDING; one look before RUN.
    assert_eq!(sink.input_calls, [3, 1]);
    assert_eq!(
        fake.calls.iter().filter(|c| **c == "RESUME").count(),
        3,
        "{:?}",
        fake.calls
    );
}

#[test]
fn a_short_run_exits_with_its_output_and_report() {
    let (r, sink, calls) = load_and_run(b"AOT hello", b"hello\n", End::Exit(3), 4096, |_, _| {});
    let r = r.unwrap();
    assert_eq!(r.end, RunEnd::Exited(3));
    assert_eq!(r.exit_status(), 3);
    assert_eq!(sink.out[0], b"hello\nprog a b -x K=V \n");
    assert_eq!(sink.out[1], b"warning\n");
    assert_eq!(r.received, [23, 8]);
    assert_eq!(r.pauses, 0);
    let report = r.report.unwrap();
    assert_eq!((report.written, report.message()), ([23, 8], "exited"));
    assert_eq!(calls, ["SESSION_OPEN", "LOAD", "RUN", "SESSION_CLOSE"]);
}

#[test]
fn output_larger_than_the_ring_arrives_whole_across_pauses() {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let (r, sink, calls) = load_and_run(b"AOT big", &big, End::Exit(0), 1024, |_, _| {});
    let r = r.unwrap();
    assert_eq!(&sink.out[0][..big.len()], &big[..]);
    assert!(r.pauses >= 97, "{} pauses", r.pauses);
    assert_eq!(sink.pauses_seen, r.pauses);
    assert_eq!(
        sink.drains,
        r.pauses + 1,
        "one drain per pause and one at the end"
    );
    assert_eq!(
        calls.iter().filter(|&&c| c == "RESUME").count() as u32,
        r.pauses
    );
}

#[test]
fn interruptions_are_resumed_without_losing_bytes() {
    let big = vec![b'z'; 10_000];
    let (r, sink, _) = load_and_run(b"AOT", &big, End::Exit(0), 512, |f, _| {
        f.interrupt_every = Some(2)
    });
    let r = r.unwrap();
    assert!(r.interruptions > 0);
    assert_eq!(sink.interrupts_seen, r.interruptions);
    assert_eq!(&sink.out[0][..10_000], &big[..]);
}

#[test]
fn a_trap_carries_its_id_and_message() {
    let (r, _, _) = load_and_run(
        b"AOT",
        b"",
        End::Trap(2, "out of bounds memory access"),
        4096,
        |_, _| {},
    );
    let r = r.unwrap();
    assert_eq!(r.end, RunEnd::Trapped(Some(2)));
    assert_eq!(r.trap_message(), "out of bounds memory access");
    assert_eq!(r.exit_status(), 1);
}

#[test]
fn cancel_at_a_pause_ends_the_run() {
    let big = vec![b'c'; 50_000];
    let (r, sink, calls) = load_and_run(b"AOT", &big, End::Exit(0), 1024, |_, s| {
        s.cancel_after = Some(2048)
    });
    let r = r.unwrap();
    assert_eq!(r.end, RunEnd::Cancelled);
    assert_eq!(r.exit_status(), 130);
    assert!(sink.out[0].len() < big.len());
    assert_eq!(calls.iter().filter(|&&c| c == "CANCEL").count(), 1);
    assert_eq!(r.report.unwrap().message(), "cancelled");
}

#[test]
fn a_broken_producer_index_cancels_with_a_ring_error() {
    let big = vec![b'p'; 50_000];
    let (r, _, calls) = load_and_run(b"AOT", &big, End::Exit(0), 1024, |f, _| f.corrupt = true);
    assert!(matches!(r, Err(Error::Ring(_))), "{r:?}");
    assert!(calls.contains(&"CANCEL"));
}

#[test]
fn an_interrupted_load_is_resumed_until_it_answers() {
    let (r, _, calls) = load_and_run(b"AOT hello", b"hi\n", End::Exit(0), 4096, |f, _| {
        f.load_interruptions = 3;
    });
    assert_eq!(r.unwrap().end, RunEnd::Exited(0));
    assert_eq!(
        calls,
        [
            "SESSION_OPEN",
            "LOAD",
            "RESUME",
            "RESUME",
            "RESUME",
            "RUN",
            "SESSION_CLOSE"
        ]
    );
    // The count is reported, and a refusal after interruptions is still LOAD's.
    let req = request(4096);
    let mut memory = Memory::new(area_size(100, &req).unwrap() / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"", End::Exit(0));
    fake.load_interruptions = 2;
    let mut session = Session::open(&mut fake, 1 << 20).unwrap();
    let loaded = session.load(&area, b"AOT x").unwrap();
    assert_eq!(loaded.interruptions, 2);
    session.unload().unwrap();
    session.conduit().load_interruptions = 1;
    let e = session.load(&area, b"\0asm").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the module did not load: not an AOT file (magic)"
    );
}

#[test]
fn load_refusals_say_what_to_do() {
    let req = request(4096);
    let mut memory = Memory::new(area_size(100, &req).unwrap() / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"", End::Exit(0));
    let mut session = Session::open(&mut fake, 0x10000).unwrap();
    let e = session.load(&area, &[b'A'; 100]).unwrap_err();
    assert!(matches!(
        e,
        Error::Load {
            status: Status::QuotaTooSmall,
            value: 65636,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "heap quota too small: this module needs at least 65636 bytes"
    );
    drop(session);
    let mut session = Session::open(&mut fake, 1 << 20).unwrap();
    let e = session.load(&area, b"\0asm").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the module did not load: not an AOT file (magic)"
    );
    let e = session.load(&area, &vec![0; area.mem.len()]).unwrap_err();
    assert!(matches!(e, Error::Area { .. }), "{e:?}");
    drop(session);

    let e = Session::open(&mut fake, 1 << 30).unwrap_err();
    assert!(e
        .to_string()
        .contains("the secure world's pool has 16777216 bytes free for sessions now"));
    let e = Session::open(&mut fake, 1).unwrap_err();
    assert!(e
        .to_string()
        .contains("the least a session takes is 65536 bytes"));
}

#[test]
fn malformed_calls_are_refused_before_the_smc() {
    let req = request(4096);
    let mut memory = Memory::new(area_size(100, &req).unwrap() / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"", End::Exit(0));
    let e = Session::open(&mut fake, SESSION_MIN_QUOTA - 1).unwrap_err();
    assert!(matches!(
        e,
        Error::Refused {
            call: "SESSION_OPEN",
            status: Status::QuotaTooSmall,
            value: SESSION_MIN_QUOTA,
        }
    ));
    assert!(fake.calls.is_empty(), "{:?}", fake.calls);
    let mut session = Session::open(&mut fake, 1 << 20).unwrap();
    for (offset, len, report) in [(0, 0, 256), (0, 16, 260), (usize::MAX, 2, 256)] {
        let e = session.load_at(&area, offset, len, report).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Load {
                    status: Status::BadAddress,
                    report: None,
                    ..
                } | Error::Area { .. }
            ),
            "{e:?}"
        );
    }
    drop(session);
    assert_eq!(fake.calls, ["SESSION_OPEN", "SESSION_CLOSE"]);
}

#[test]
fn bad_requests_and_states_are_errors() {
    let req = request(4096);
    let mut memory = Memory::new(area_size(16, &req).unwrap() / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"", End::Exit(0));
    let mut session = Session::open(&mut fake, 1 << 20).unwrap();
    let at = run_offset(16).unwrap();
    let mut sink = Sink::default();
    let nul = RunRequest {
        args: &[b"a\0b"],
        ..req
    };
    assert_eq!(
        session.run(&area, at, &nul, &mut sink),
        Err(Error::BadRequest)
    );
    let odd = RunRequest {
        ring_capacity: 1000,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
        ..req
    };
    assert_eq!(
        session.run(&area, at, &odd, &mut sink),
        Err(Error::BadRequest)
    );
    assert!(matches!(
        session.run(&area, area.mem.len(), &req, &mut sink),
        Err(Error::Area { .. })
    ));
    let e = session.run(&area, at, &req, &mut sink).unwrap_err();
    assert_eq!(
        e,
        Error::Refused {
            call: "RUN",
            status: Status::BadState,
            value: 0
        }
    );
    assert!(e.to_string().starts_with("RUN refused: BAD_STATE"));
}

#[test]
fn unknown_statuses_are_not_believed() {
    struct Odd;
    impl Conduit for Odd {
        fn call(&mut self, _: [u64; 8]) -> [u64; 4] {
            [0x1234, 0, 0, 0]
        }
    }
    let e = Session::open(&mut Odd, 1 << 20).unwrap_err();
    assert_eq!(e, Error::Client(ClientError::UnknownStatus(0x1234)));
}

#[test]
fn a_failed_secure_world_is_an_error_with_its_message() {
    let file = b"AOT module";
    let req = request(256);
    let size = area_size(file.len(), &req).unwrap();
    let mut memory = Memory::new(size / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"some output that pauses the run", End::Exit(0));
    fake.interrupt_every = Some(1);
    fake.fail_at_step = Some(3);
    let mut sink = Sink::default();
    let result = {
        let mut session = Session::open(&mut fake, 1 << 20).unwrap();
        session.load(&area, file).unwrap();
        session.run(&area, run_offset(file.len()).unwrap(), &req, &mut sink)
    };
    let e = result.unwrap_err();
    match e {
        Error::Failed(m) => assert_eq!(m.as_bytes(), FAIL_MESSAGE),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        format!(
            "secure world failed: {}",
            core::str::from_utf8(FAIL_MESSAGE).unwrap()
        )
    );
    // RUN, RESUME, then the failing RESUME; the message in three GET_INFO calls; the drop's
    // SESSION_CLOSE answered FAILED (nothing retried, nothing looped).
    assert_eq!(
        &fake.calls[2..],
        &["RUN", "RESUME", "RESUME", "GET_INFO", "GET_INFO", "GET_INFO", "(failed)"]
    );
    // Every later call is FAILED, with the message.
    let e = Session::open(&mut fake, 1 << 20).unwrap_err();
    assert!(matches!(e, Error::Failed(m) if m.as_bytes() == FAIL_MESSAGE));
}

#[test]
fn a_run_with_files_formats_the_channel_with_its_preopens() {
    use crate::files::Preopen;
    let file = *b"AOT\0module";
    let pre = [
        Preopen {
            handle: 1,
            name: b"data",
            sealed: false,
        },
        Preopen {
            handle: 2,
            name: b"/sealed",
            sealed: true,
        },
    ];
    let mut req = request(4096);
    req.files = Some(&pre);
    let size = area_size(file.len(), &req).unwrap();
    let mut memory = Memory::new(size / PAGE_SIZE);
    let area = memory.area(SHM);
    let mut fake = Fake::new(area.mem, b"out", End::Exit(0));
    let mut sink = Sink::default();
    let result = {
        let mut session = Session::open(&mut fake, 1 << 20).unwrap();
        session.load(&area, &file).unwrap();
        session.run(&area, run_offset(file.len()).unwrap(), &req, &mut sink)
    };
    assert!(result.is_ok(), "{result:?}");
}
