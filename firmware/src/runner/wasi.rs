//! The module's WASI view of one run ([`RunWasi`]): its arguments and environment, copied into
//! secure memory; stdout and stderr into the run's output ring (or, for TEST_RUN, the secure
//! log line by line), with a running SHA-256 of each stream when the run wants a receipt;
//! stdin from the run's input ring (the normal world produces, this side consumes); the
//! secure counter as its clocks; the DRBG as `random_get`; and sleeps that give the CPU back
//! when a normal-world interrupt is pending.

use super::RUNS_PEAK;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use tzwasm_aot_loader::wasi::files::{FdTable, FileAnswer, FileRequest};
use tzwasm_aot_loader::wasi::{Errno, Input, WasiHost};
use tzwasm_attest::receipt::StreamDigest;
use tzwasm_firmware::files::RunFiles;
use tzwasm_smc::ring::{Consumer, Producer, Stream, FLAG_FINISHED};

/// The module's WASI view of the world for one run: its arguments and environment (copied
/// into secure memory), and where its stdout/stderr go: the run's output ring in shared
/// memory, or (TEST_RUN) the secure log, line by line.
pub struct RunWasi {
    /// Backing store of `args`/`env` (never reallocated while they point into it).
    store: Vec<u8>,
    args: Vec<&'static [u8]>,
    env: Vec<&'static [u8]>,
    producer: Option<Producer<'static>>,
    /// The run's stdin (stream 0 of the input ring), if it has one; else end of file.
    input: Option<Consumer<'static>>,
    /// The last WASI call found stdin empty (a Pending answer then means INPUT_PENDING).
    input_wait: bool,
    /// The run's preopened directories and open files, if its RUN block gave a channel.
    files: Option<RunFiles>,
    /// fds 0..2 the module closed.
    closed: [bool; 3],
    /// Output the payload itself adds after the module returned (an export's results), still
    /// to go into the ring.
    tail: Vec<u8>,
    line: [Vec<u8>; 2],
    /// Bytes written to stdout and stderr.
    pub written: [u64; 2],
    /// For a run with a receipt: the SHA-256 of exactly the bytes each output stream's ring
    /// accepted, in order, and of the bytes the module read from stdin (stdout, stderr,
    /// stdin).
    digests: Option<[StreamDigest; 3]>,
    /// Counter-ns deadline of a `poll_oneoff` sleep that a pending interrupt cut short: the
    /// re-issued call sleeps until it, not for its whole timeout again.
    sleep_until: Option<u64>,
    /// The last Pending answer came from a cut-short sleep, not from a full ring.
    sleep_cut: bool,
}

impl RunWasi {
    pub(super) fn new() -> Self {
        Self {
            store: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            producer: None,
            input: None,
            input_wait: false,
            files: None,
            closed: [false; 3],
            tail: Vec::new(),
            line: [Vec::new(), Vec::new()],
            written: [0; 2],
            digests: None,
            sleep_until: None,
            sleep_cut: false,
        }
    }

    /// Whether the last Pending answer was a sleep cut short by a pending interrupt (then the
    /// run returns INTERRUPTED, not OUTPUT_PENDING); clears the mark.
    pub(super) fn take_sleep_cut(&mut self) -> bool {
        core::mem::take(&mut self.sleep_cut)
    }

    /// Sets the run's arguments and environment (copied) and its output ring.
    pub fn configure<'b>(
        &mut self,
        args: impl Iterator<Item = &'b [u8]> + Clone,
        env: impl Iterator<Item = &'b [u8]> + Clone,
        producer: Option<Producer<'static>>,
    ) -> Result<(), ()> {
        let total: usize = args.clone().chain(env.clone()).map(<[u8]>::len).sum();
        let mut store = Vec::new();
        store.try_reserve_exact(total).map_err(|_| ())?;
        let mut spans = Vec::new();
        spans
            .try_reserve_exact(args.clone().count() + env.clone().count())
            .map_err(|_| ())?;
        for s in args.clone().chain(env.clone()) {
            spans.push((store.len(), s.len()));
            store.extend_from_slice(s);
        }
        self.args.clear();
        self.env.clear();
        let nargs = args.count();
        self.args.try_reserve_exact(nargs).map_err(|_| ())?;
        self.env
            .try_reserve_exact(spans.len() - nargs)
            .map_err(|_| ())?;
        self.store = store;
        for (i, &(at, len)) in spans.iter().enumerate() {
            // SAFETY: `store` is owned by self, never reallocated or mutated until the next
            // configure(), which clears these slices first; they never outlive self (the
            // 'static is internal: only handed out through &self).
            let slice: &'static [u8] =
                unsafe { core::slice::from_raw_parts(self.store.as_ptr().add(at), len) };
            if i < nargs {
                self.args.push(slice);
            } else {
                self.env.push(slice);
            }
        }
        self.producer = producer;
        self.input = None;
        self.files = None;
        self.closed = [false; 3];
        self.written = [0; 2];
        self.digests = None;
        Ok(())
    }

    /// Gives the run a stdin: the consumer end of its input ring.
    pub fn set_input(&mut self, input: Consumer<'static>) {
        self.input = Some(input);
    }

    /// Gives the run its files: the channel and the descriptor table made from its preopens.
    pub fn set_files(&mut self, files: RunFiles) {
        self.files = Some(files);
    }

    /// Whether the last call posted a file request (then its Pending is FILE_REQUEST);
    /// clears the mark.
    pub(super) fn take_file_posted(&mut self) -> bool {
        self.files.as_mut().is_some_and(RunFiles::take_posted)
    }

    /// Called before each WASI call of the module: forgets what the previous call saw.
    pub(super) fn begin_call(&mut self) {
        self.input_wait = false;
    }

    /// Whether the last call found stdin empty (then its Pending is INPUT_PENDING); clears
    /// the mark.
    pub(super) fn take_input_wait(&mut self) -> bool {
        core::mem::take(&mut self.input_wait)
    }

    /// From now on, hash every byte the ring accepts (a run with a receipt).
    pub fn hash_output(&mut self) {
        self.digests = Some([
            StreamDigest::new(),
            StreamDigest::new(),
            StreamDigest::new(),
        ]);
    }

    /// The digests so far (stdout, stderr, stdin), if the run hashes its streams.
    pub fn digests(&self) -> Option<&[StreamDigest; 3]> {
        self.digests.as_ref()
    }

    /// Queues bytes for stdout after the module's own output; false if there is no memory
    /// for them.
    pub fn queue_stdout(&mut self, bytes: &[u8]) -> bool {
        if self.tail.try_reserve(bytes.len()).is_err() {
            return false;
        }
        self.tail.extend_from_slice(bytes);
        true
    }

    /// Moves as much of the queued output into the ring (or the log) as fits; true when
    /// nothing is left.
    pub fn flush_tail(&mut self) -> bool {
        if self.tail.is_empty() {
            return true;
        }
        let mut tail = core::mem::take(&mut self.tail);
        let n = self.writable(1).min(tail.len());
        if n > 0 && self.write(1, tail.get(..n).unwrap_or_default()).is_err() {
            return true; // a faulted ring: the output is lost, as the module's own would be
        }
        // In place: no allocation on the way out.
        tail.drain(..n);
        self.tail = tail;
        self.tail.is_empty()
    }

    /// Marks the end of the run's output and drops the ring.
    pub fn finish(&mut self) {
        if let Some(p) = self.producer.as_mut() {
            p.finish();
        }
        self.producer = None;
        self.input = None;
        self.files = None;
        self.flush(Stream::Stdout);
        self.flush(Stream::Stderr);
    }

    fn flush(&mut self, stream: Stream) {
        let line = stream.of_mut(&mut self.line);
        if !line.is_empty() {
            let text = String::from_utf8_lossy(line);
            log::info!("[module {}] {text}", stream.name());
            line.clear();
        }
    }
}

impl WasiHost for RunWasi {
    fn fd_is_open(&self, fd: u32) -> bool {
        !self.closed.get(fd as usize).copied().unwrap_or(false)
    }

    fn fd_closed(&mut self, fd: u32) {
        if let Some(c) = self.closed.get_mut(fd as usize) {
            *c = true;
        }
    }

    fn writable(&mut self, fd: u32) -> usize {
        match (Stream::from_fd(fd), self.producer.as_mut()) {
            // A ring the normal world corrupted takes nothing, ever: let the write fail
            // (EIO) instead of pausing forever.
            (Some(_), Some(p)) if p.fault().is_some() => usize::MAX,
            (Some(stream), Some(p)) => p.space(stream),
            _ => usize::MAX,
        }
    }

    fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), Errno> {
        let Some(stream) = Stream::from_fd(fd) else {
            return Err(Errno::BADF);
        };
        let written = stream.of_mut(&mut self.written);
        if let Some(p) = self.producer.as_mut() {
            let n = p.write(stream, bytes);
            *written += n as u64;
            if let Some([out, err, _]) = self.digests.as_mut() {
                let mut d = [out, err];
                stream
                    .of_mut(&mut d)
                    .update(bytes.get(..n).unwrap_or_default());
            }
            return if n == bytes.len() {
                Ok(())
            } else {
                Err(Errno::IO)
            };
        }
        *written += bytes.len() as u64;
        for &b in bytes {
            if b == b'\n' {
                self.flush(stream);
            } else {
                if stream.of_mut(&mut self.line).try_reserve(1).is_err() {
                    self.flush(stream);
                }
                let line = stream.of_mut(&mut self.line);
                if line.try_reserve(1).is_ok() {
                    line.push(b);
                }
            }
        }
        Ok(())
    }

    fn stdin(&mut self) -> Result<Input, Errno> {
        let Some(c) = self.input.as_mut() else {
            return Ok(Input::Eof);
        };
        // The flags first (Acquire): if the producer had finished and the ring is empty
        // after that, nothing more will come.
        let finished = c.flags() & FLAG_FINISHED != 0;
        match c.available(Stream::Stdout) {
            Ok(0) if finished => Ok(Input::Eof),
            Ok(0) => {
                self.input_wait = true;
                Ok(Input::Empty)
            }
            Ok(n) => Ok(Input::Bytes(n)),
            // A producer index the normal world corrupted: stdin is broken for good.
            Err(_) => Err(Errno::IO),
        }
    }

    fn read_stdin(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let Some(c) = self.input.as_mut() else {
            return Ok(0);
        };
        let mut got = 0usize;
        let drained = c.drain(|stream, bytes| {
            if stream != Stream::Stdout {
                return 0;
            }
            let room = buf.get_mut(got..).unwrap_or_default();
            let n = room.len().min(bytes.len());
            if let (Some(dst), Some(src)) = (room.get_mut(..n), bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            got += n;
            n
        });
        if let Some([_, _, input]) = self.digests.as_mut() {
            input.update(buf.get(..got).unwrap_or_default());
        }
        match drained {
            Ok(_) => Ok(got),
            Err(_) if got > 0 => Ok(got),
            Err(_) => Err(Errno::IO),
        }
    }

    fn sleep_ns_or_input(&mut self, ns: u64, stdin: bool) -> bool {
        self.sleep(ns, stdin)
    }

    fn files(&mut self) -> Option<&mut FdTable> {
        self.files.as_mut().map(RunFiles::table)
    }

    fn file(&mut self, req: &FileRequest<'_>, out: &mut [u8]) -> Option<FileAnswer> {
        match self.files.as_mut() {
            Some(f) => f.file(req, out),
            None => Some(FileAnswer {
                errno: Errno::BADF,
                values: [0; 4],
                len: 0,
            }),
        }
    }

    fn file_capacity(&self) -> usize {
        self.files.as_ref().map_or(0, RunFiles::capacity)
    }

    fn clock_time_ns(&mut self, clock_id: u32) -> Option<u64> {
        match clock_id {
            // Realtime: the RTC read at cold boot plus the secure counter since then.
            0 => crate::platform::realtime_ns(ticks_to_ns, crate::arch::counter()),
            // Monotonic: the secure physical counter, which the normal world cannot change.
            1 => Some(counter_ns()),
            // Test builds: the most CPUs seen running module code at once.
            tzwasm_smc::call::TEST_CLOCK_PEAK_RUNS if cfg!(feature = "test-hooks") => {
                Some(RUNS_PEAK.load(Ordering::Acquire))
            }
            _ => None,
        }
    }

    fn clock_res_ns(&mut self, clock_id: u32) -> Option<u64> {
        (clock_id <= 1).then(|| 1_000_000_000u64.div_ceil(crate::arch::counter_freq().max(1)))
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        crate::platform::random(buf);
        Ok(())
    }

    fn sleep_ns(&mut self, ns: u64) -> bool {
        self.sleep(ns, false)
    }

    fn interrupt_pending(&mut self) -> bool {
        // Long helpers and random_get ask between chunks (the helpers through the
        // platform's default, which asks here).
        crate::arch::irq_pending()
    }

    fn args(&self) -> &[&[u8]] {
        &self.args
    }

    fn environ(&self) -> &[&[u8]] {
        &self.env
    }
}

impl RunWasi {
    /// Sleeps `ns` for `poll_oneoff`, spinning on the secure counter with interrupts masked,
    /// so it watches for a pending normal-world interrupt itself: then it gives up the CPU
    /// (the run returns INTERRUPTED) and keeps its deadline for the re-issued call. With
    /// `watch_input`, input arriving ends the sleep too: the re-issued call then finds stdin
    /// ready and does not sleep again, so no deadline is kept.
    fn sleep(&mut self, ns: u64, watch_input: bool) -> bool {
        let end = *self
            .sleep_until
            .get_or_insert_with(|| counter_ns().saturating_add(ns));
        while counter_ns() < end {
            if crate::arch::irq_pending() {
                self.sleep_cut = true;
                return false;
            }
            if watch_input && !matches!(self.stdin(), Ok(Input::Empty)) {
                self.sleep_until = None;
                self.input_wait = false;
                self.sleep_cut = true;
                return false;
            }
            core::hint::spin_loop();
        }
        self.input_wait = false;
        self.sleep_until = None;
        true
    }
}

fn ticks_to_ns(ticks: u64) -> u64 {
    let f = crate::arch::counter_freq().max(1);
    ((u128::from(ticks) * 1_000_000_000) / u128::from(f)) as u64
}

fn counter_ns() -> u64 {
    ticks_to_ns(crate::arch::counter())
}
