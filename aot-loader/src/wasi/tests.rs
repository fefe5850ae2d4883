//! Unit tests: every function over a `Vec`-backed memory and a fake host, with the exact
//! structure bytes of the preview1 witx, and bounds checks at the edges.

use std::vec;
use std::vec::Vec;

use super::*;

/// A host that records what the module did.
struct FakeHost {
    writes: Vec<(u32, Vec<u8>)>,
    /// Number of `write` calls that succeed before every later one fails with `fail_with`.
    fail_after: Option<usize>,
    fail_with: Errno,
    args: Vec<&'static [u8]>,
    environ: Vec<&'static [u8]>,
    /// Current time of every clock; advanced by `sleep_ns`.
    now: u64,
    slept: Vec<u64>,
    filetype: u8,
    /// Keep no bytes (`writes` gets empty entries), only `counted` and `lens`: for writes
    /// too large to keep.
    count_only: bool,
    counted: u64,
    /// Length of every successful write.
    lens: Vec<usize>,
    /// Keep descriptor state (fd_close makes an fd unusable); off: a stateless host.
    track_close: bool,
    /// Bytes `writable` reports (None: unlimited).
    room: Option<usize>,
    /// fds closed by fd_close (when `track_close`).
    closed: Vec<u32>,
    /// How many sleeps to cut short before the next one completes.
    cut_sleeps: u32,
    /// stdin: `None` is a host without input (end of file); else the bytes not yet read,
    /// whether the writer closed it, and an error to report instead.
    input: Option<(Vec<u8>, bool, Option<Errno>)>,
    /// `stdin` argument of every `sleep_ns_or_input`.
    slept_watching: Vec<bool>,
    /// The descriptor table of a host with files.
    files: Option<files::FdTable>,
}

impl FakeHost {
    fn new() -> Self {
        FakeHost {
            writes: Vec::new(),
            fail_after: None,
            fail_with: Errno::IO,
            args: vec![b"prog", b"a b", b""],
            environ: vec![b"HOME=/", b"X="],
            now: 5_000,
            slept: Vec::new(),
            filetype: FILETYPE_CHARACTER_DEVICE,
            count_only: false,
            counted: 0,
            lens: Vec::new(),
            track_close: false,
            room: None,
            closed: Vec::new(),
            cut_sleeps: 0,
            input: None,
            slept_watching: Vec::new(),
            files: None,
        }
    }

    fn output(&self, fd: u32) -> Vec<u8> {
        self.writes
            .iter()
            .filter(|(f, _)| *f == fd)
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }
}

impl WasiHost for FakeHost {
    fn fd_is_open(&self, fd: u32) -> bool {
        !self.closed.contains(&fd)
    }
    fn writable(&mut self, _fd: u32) -> usize {
        self.room.unwrap_or(usize::MAX)
    }
    fn fd_closed(&mut self, fd: u32) {
        if self.track_close {
            self.closed.push(fd);
        }
    }
    fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), Errno> {
        if let Some(n) = self.fail_after {
            if self.writes.len() >= n {
                return Err(self.fail_with);
            }
        }
        self.counted += bytes.len() as u64;
        self.lens.push(bytes.len());
        if self.count_only {
            self.writes.push((fd, Vec::new()));
        } else {
            self.writes.push((fd, bytes.to_vec()));
        }
        Ok(())
    }

    fn clock_time_ns(&mut self, clock_id: u32) -> Option<u64> {
        (clock_id <= CLOCK_THREAD_CPUTIME_ID).then_some(self.now.wrapping_add(u64::from(clock_id)))
    }

    fn clock_res_ns(&mut self, clock_id: u32) -> Option<u64> {
        (clock_id <= CLOCK_MONOTONIC).then_some(1_000 + u64::from(clock_id))
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = 0xA0 ^ i as u8;
        }
        Ok(())
    }

    fn args(&self) -> &[&[u8]] {
        &self.args
    }

    fn environ(&self) -> &[&[u8]] {
        &self.environ
    }

    fn stdin(&mut self) -> Result<Input, Errno> {
        match &self.input {
            None => Ok(Input::Eof),
            Some((_, _, Some(e))) => Err(*e),
            Some((b, _, None)) if !b.is_empty() => Ok(Input::Bytes(b.len())),
            Some((_, true, None)) => Ok(Input::Eof),
            Some((_, false, None)) => Ok(Input::Empty),
        }
    }

    fn read_stdin(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let Some((bytes, _, _)) = self.input.as_mut() else {
            return Ok(0);
        };
        let n = buf.len().min(bytes.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        bytes.drain(..n);
        Ok(n)
    }

    fn files(&mut self) -> Option<&mut files::FdTable> {
        self.files.as_mut()
    }

    fn sleep_ns_or_input(&mut self, ns: u64, stdin: bool) -> bool {
        self.slept_watching.push(stdin);
        self.sleep_ns(ns)
    }

    fn sleep_ns(&mut self, ns: u64) -> bool {
        if self.cut_sleeps > 0 {
            self.cut_sleeps -= 1;
            return false;
        }
        self.slept.push(ns);
        self.now = self.now.saturating_add(ns);
        true
    }

    fn fd_filetype(&self, _fd: u32) -> u8 {
        self.filetype
    }
}

const MEM: usize = 256;
/// A byte memory starts filled with, so untouched bytes are visible.
const FILL: u8 = 0xEE;

fn mem() -> Vec<u8> {
    vec![FILL; MEM]
}

fn run(f: WasiFunc, mem: &mut [u8], host: &mut FakeHost, args: &[u64]) -> WasiOutcome {
    let mut gm = GuestMemory::from_slice(mem);
    call(f, &mut gm, host, args)
}

fn ret(e: Errno) -> WasiOutcome {
    WasiOutcome::Return(e.to_u32())
}

const OK: WasiOutcome = WasiOutcome::Return(0);

fn put32(mem: &mut [u8], at: usize, v: u32) {
    mem[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get32(mem: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(mem[at..at + 4].try_into().unwrap())
}

fn get64(mem: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(mem[at..at + 8].try_into().unwrap())
}

// ---- lookup ----

#[test]
fn lookup_resolves_every_function_with_wamr_signatures() {
    assert_eq!(
        lookup("wasi_snapshot_preview1", "fd_write"),
        Some((WasiFunc::FdWrite, "(i*i*)i"))
    );
    assert_eq!(
        lookup("wasi_snapshot_preview1", "proc_exit"),
        Some((WasiFunc::ProcExit, "(i)"))
    );
    assert_eq!(
        lookup("wasi_snapshot_preview1", "clock_time_get"),
        Some((WasiFunc::ClockTimeGet, "(iI*)i"))
    );
    assert_eq!(
        lookup("wasi_snapshot_preview1", "path_open"),
        Some((WasiFunc::PathOpen, "(ii*~iIIi*)i"))
    );
    assert_eq!(
        lookup("wasi_snapshot_preview1", "random_get"),
        Some((WasiFunc::RandomGet, "(*~)i"))
    );
    assert_eq!(
        lookup("wasi_snapshot_preview1", "sched_yield"),
        Some((WasiFunc::SchedYield, "()i"))
    );
    // All 46 preview1 functions, each once, and the two snapshot 0 layouts.
    assert_eq!(FUNCTIONS.len(), 48);
    for (i, &(name, f, sig)) in FUNCTIONS.iter().enumerate() {
        assert!(
            FUNCTIONS[i + 1..].iter().all(|&(_, g, _)| g != f),
            "{f:?} twice"
        );
        assert_eq!(f.name(), name);
        assert_eq!(f.signature(), sig);
        let preview1 = lookup(MODULE_PREVIEW1, name).unwrap();
        let unstable = lookup(MODULE_UNSTABLE, name).unwrap();
        assert_eq!(preview1.1, sig);
        assert_eq!(unstable.1, sig);
        match f {
            WasiFunc::Snapshot0FdFilestatGet | WasiFunc::Snapshot0PollOneoff => {
                assert_eq!(unstable.0, f)
            }
            WasiFunc::FdFilestatGet | WasiFunc::PollOneoff => assert_ne!(unstable.0, f),
            _ => {
                assert_eq!(preview1.0, f);
                assert_eq!(unstable.0, f);
            }
        }
    }
    assert_eq!(
        lookup(MODULE_PREVIEW1, "poll_oneoff").unwrap().0,
        WasiFunc::PollOneoff
    );
    assert_eq!(
        lookup(MODULE_UNSTABLE, "poll_oneoff").unwrap().0,
        WasiFunc::Snapshot0PollOneoff
    );
    assert_eq!(lookup(MODULE_PREVIEW1, "fd_writ"), None);
    assert_eq!(lookup(MODULE_PREVIEW1, "sock_open"), None);
    assert_eq!(lookup("env", "fd_write"), None);
    assert_eq!(lookup("wasi_snapshot_preview2", "fd_write"), None);
}

#[test]
fn errno_names() {
    assert_eq!(Errno::BADF, Errno(8));
    assert_eq!(Errno::FAULT.0, 21);
    assert_eq!(Errno::INVAL.0, 28);
    assert_eq!(Errno::NOSYS.0, 52);
    assert_eq!(Errno::SPIPE.0, 70);
    assert_eq!(Errno::NOTCAPABLE.0, 76);
    assert_eq!(Errno::SPIPE.name(), Some("spipe"));
    assert_eq!(Errno::TOOBIG.name(), Some("2big"));
    assert_eq!(Errno::NOTCAPABLE.name(), Some("notcapable"));
    assert!((0..=76).all(|n| Errno(n).name().is_some()));
    assert_eq!(Errno(77).name(), None);
    assert_eq!(Errno(200).name(), None);
}

// ---- GuestMemory ----

#[test]
fn memory_bounds_at_the_edges() {
    let mut m = vec![0u8; 64];
    m[61..64].copy_from_slice(&[1, 2, 3]);
    let mut g = GuestMemory::from_slice(&mut m);
    assert_eq!(g.size(), 64);
    assert_eq!(g.read_u32(60), Ok(0x0302_0100));
    assert_eq!(g.read_u32(61), Err(Errno::FAULT));
    assert_eq!(g.read_u32(63), Err(Errno::FAULT)); // size - 1, 4-byte access
    assert_eq!(g.read_u8(63), Ok(3));
    assert_eq!(g.read_u8(64), Err(Errno::FAULT));
    assert_eq!(g.read_u16(63), Err(Errno::FAULT));
    assert_eq!(g.read_u64(56), Ok(0x0302_0100_0000_0000));
    assert_eq!(g.read_u64(57), Err(Errno::FAULT));
    assert_eq!(g.write_u32(61, 7), Err(Errno::FAULT));
    assert_eq!(g.write_u64(u32::MAX, 7), Err(Errno::FAULT));
    // address + length overflows u32.
    assert_eq!(g.check(0xFFFF_FFF0, 0x20), Err(Errno::FAULT));
    assert_eq!(g.check(u32::MAX, u32::MAX), Err(Errno::FAULT));
    assert_eq!(g.slice(1, u32::MAX), Err(Errno::FAULT));
    // Empty ranges up to the end are fine; one past is not.
    assert_eq!(g.slice(64, 0), Ok(&[][..]));
    assert_eq!(g.check(65, 0), Err(Errno::FAULT));
    assert_eq!(g.check(0, 64), Ok(0..64));
    assert_eq!(g.check(0, 65), Err(Errno::FAULT));
    // count * record size overflows u32.
    assert_eq!(g.check_array(0, 0x2000_0000, 8), Err(Errno::FAULT));
    assert_eq!(g.check_array(0, 8, 8), Ok(()));
    assert_eq!(g.check_array(8, 8, 8), Err(Errno::FAULT));
    // Unaligned, little endian.
    g.write_u64(3, 0x0102_0304_0506_0708).unwrap();
    g.write_u16(33, 0xBEEF).unwrap();
    assert_eq!(g.read_u64(3), Ok(0x0102_0304_0506_0708));
    assert_eq!(&m[3..11], &[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(&m[33..35], &[0xEF, 0xBE]);
}

#[test]
fn memory_of_size_zero_and_raw_constructor() {
    // SAFETY: a null base with size 0: no access is ever made.
    let g = unsafe { GuestMemory::new(core::ptr::null_mut(), 0) };
    assert_eq!(g.slice(0, 0), Ok(&[][..]));
    assert_eq!(g.read_u8(0), Err(Errno::FAULT));

    let mut m = vec![0u8; 16];
    // SAFETY: `m` is 16 writable bytes, not otherwise used while `g` lives.
    let mut g = unsafe { GuestMemory::new(m.as_mut_ptr(), m.len()) };
    g.write_u32(12, 0xAABB_CCDD).unwrap();
    assert_eq!(g.iovec(8, 0), Err(Errno::FAULT)); // buf 0, buf_len 0xAABBCCDD
    assert_eq!(get32(&m, 12), 0xAABB_CCDD);
}

// ---- args / environ ----

#[test]
fn args_sizes_get_and_args_get() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(run(WasiFunc::ArgsSizesGet, &mut m, &mut h, &[0, 4]), OK);
    assert_eq!(get32(&m, 0), 3);
    assert_eq!(get32(&m, 4), 5 + 4 + 1);
    assert_eq!(run(WasiFunc::ArgsGet, &mut m, &mut h, &[16, 100]), OK);
    assert_eq!(get32(&m, 16), 100);
    assert_eq!(get32(&m, 20), 105);
    assert_eq!(get32(&m, 24), 109);
    assert_eq!(m[28], FILL, "no terminator slot written");
    assert_eq!(&m[100..110], b"prog\0a b\0\0");
    assert_eq!(m[110], FILL);
}

#[test]
fn environ_sizes_get_and_environ_get() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(run(WasiFunc::EnvironSizesGet, &mut m, &mut h, &[8, 12]), OK);
    assert_eq!((get32(&m, 8), get32(&m, 12)), (2, 7 + 3));
    assert_eq!(run(WasiFunc::EnvironGet, &mut m, &mut h, &[32, 200]), OK);
    assert_eq!((get32(&m, 32), get32(&m, 36)), (200, 207));
    assert_eq!(&m[200..210], b"HOME=/\0X=\0");
    // The buffer ends exactly at the end of memory.
    let end = (MEM - 10) as u64;
    assert_eq!(run(WasiFunc::EnvironGet, &mut m, &mut h, &[32, end]), OK);
    assert_eq!(&m[MEM - 10..], b"HOME=/\0X=\0");
}

#[test]
fn args_and_environ_empty_lists() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    h.args.clear();
    h.environ.clear();
    assert_eq!(run(WasiFunc::ArgsSizesGet, &mut m, &mut h, &[0, 4]), OK);
    assert_eq!((get32(&m, 0), get32(&m, 4)), (0, 0));
    assert_eq!(run(WasiFunc::EnvironSizesGet, &mut m, &mut h, &[8, 12]), OK);
    assert_eq!((get32(&m, 8), get32(&m, 12)), (0, 0));
    let before = m.clone();
    // Empty arrays at the very end of memory are in bounds.
    let end = MEM as u64;
    assert_eq!(run(WasiFunc::ArgsGet, &mut m, &mut h, &[end, end]), OK);
    assert_eq!(run(WasiFunc::EnvironGet, &mut m, &mut h, &[end, end]), OK);
    assert_eq!(m, before);
}

#[test]
fn args_out_of_bounds_is_efault_and_writes_nothing() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    let before = m.clone();
    // Buffer one byte short of the 10 it needs.
    let buf = (MEM - 9) as u64;
    assert_eq!(
        run(WasiFunc::ArgsGet, &mut m, &mut h, &[0, buf]),
        ret(Errno::FAULT)
    );
    // Pointer array: 3 slots from size - 11 needs 12 bytes.
    let ptrs = (MEM - 11) as u64;
    assert_eq!(
        run(WasiFunc::ArgsGet, &mut m, &mut h, &[ptrs, 0]),
        ret(Errno::FAULT)
    );
    // Sizes: second pointer at size - 1 (4-byte store): nothing written, not even argc.
    let last = (MEM - 1) as u64;
    assert_eq!(
        run(WasiFunc::ArgsSizesGet, &mut m, &mut h, &[0, last]),
        ret(Errno::FAULT)
    );
    assert_eq!(
        run(WasiFunc::EnvironSizesGet, &mut m, &mut h, &[last, 0]),
        ret(Errno::FAULT)
    );
    assert_eq!(m, before);
    // Missing argument.
    assert_eq!(
        run(WasiFunc::ArgsGet, &mut m, &mut h, &[0]),
        ret(Errno::INVAL)
    );
}

// ---- fd_write ----

/// Writes iovecs `(buf, len)` at `at`.
fn iovecs(m: &mut [u8], at: usize, list: &[(u32, u32)]) {
    for (i, &(buf, len)) in list.iter().enumerate() {
        put32(m, at + 8 * i, buf);
        put32(m, at + 8 * i + 4, len);
    }
}

#[test]
fn fd_write_gathers_iovecs_to_stdout_and_stderr() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    m[100..106].copy_from_slice(b"hello ");
    m[150..156].copy_from_slice(b"world\n");
    iovecs(&mut m, 0, &[(100, 6), (120, 0), (150, 6)]);
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 3, 40]), OK);
    assert_eq!(get32(&m, 40), 12);
    assert_eq!(h.output(1), b"hello world\n");
    // The empty iovec is not passed on.
    assert_eq!(h.writes.len(), 2);
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[2, 16, 1, 44]), OK);
    assert_eq!(get32(&m, 44), 6);
    assert_eq!(h.output(2), b"world\n");
    // No iovecs at all.
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 0, 48]), OK);
    assert_eq!(get32(&m, 48), 0);
    // A buffer that ends exactly at the end of memory.
    m[MEM - 3..].copy_from_slice(b"end");
    iovecs(&mut m, 0, &[((MEM - 3) as u32, 3)]);
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 1, 48]), OK);
    assert_eq!(h.output(1), b"hello world\nend");
}

#[test]
fn fd_write_bad_fds() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    iovecs(&mut m, 0, &[(100, 4)]);
    for (fd, e) in [
        (0, Errno::NOTCAPABLE),
        (3, Errno::BADF),
        (u64::from(u32::MAX), Errno::BADF),
    ] {
        assert_eq!(
            run(WasiFunc::FdWrite, &mut m, &mut h, &[fd, 0, 1, 40]),
            ret(e)
        );
    }
    // Only the low 32 bits of an i32 argument count.
    assert_eq!(
        run(
            WasiFunc::FdWrite,
            &mut m,
            &mut h,
            &[0x1_0000_0001, 0, 1, 40]
        ),
        OK
    );
    assert_eq!(h.writes.len(), 1);
}

#[test]
fn fd_write_out_of_bounds_writes_nothing() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    // Second iovec's buffer runs one byte past the end: nothing is written, not even the
    // first buffer.
    iovecs(&mut m, 0, &[(100, 4), ((MEM - 3) as u32, 4)]);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 2, 40]),
        ret(Errno::FAULT)
    );
    // address + length overflows u32.
    iovecs(&mut m, 0, &[(100, 4), (0xFFFF_FFF0, 0x20)]);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 2, 40]),
        ret(Errno::FAULT)
    );
    // iovec array past the end, and iovs_len * 8 overflowing u32.
    let last_iov = (MEM - 4) as u64;
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, last_iov, 1, 40]),
        ret(Errno::FAULT)
    );
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 0x2000_0001, 40]),
        ret(Errno::FAULT)
    );
    // nwritten at size - 1.
    iovecs(&mut m, 0, &[(100, 4)]);
    let last = (MEM - 1) as u64;
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 1, last]),
        ret(Errno::FAULT)
    );
    assert!(h.writes.is_empty());
    assert_eq!(get32(&m, 40), u32::from_le_bytes([FILL; 4]));
}

#[test]
fn fd_write_partial_failure() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    m[100..104].copy_from_slice(b"abcd");
    iovecs(&mut m, 0, &[(100, 2), (102, 2)]);
    // The host fails on the second buffer: a short write of the first.
    h.fail_after = Some(1);
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 2, 40]), OK);
    assert_eq!(get32(&m, 40), 2);
    assert_eq!(h.output(1), b"ab");
    // The host fails on the first buffer: its errno, nwritten untouched.
    put32(&mut m, 40, 0x5555_5555);
    h.fail_with = Errno::PIPE;
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 2, 40]),
        ret(Errno::PIPE)
    );
    assert_eq!(get32(&m, 40), 0x5555_5555);
}

#[test]
fn fd_write_overlapping_iovecs() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    m[100..108].copy_from_slice(b"12345678");
    iovecs(&mut m, 0, &[(100, 8), (100, 8), (104, 4)]);
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 3, 40]), OK);
    assert_eq!(get32(&m, 40), 20);
    assert_eq!(h.output(1), b"12345678123456785678");
}

#[test]
fn fd_write_total_capped_at_u32_max() {
    // 4097 iovecs of the whole 1 MiB memory: 4097 MiB > u32::MAX bytes. The call is a short
    // write of exactly u32::MAX bytes (the 4096th iovec cut one byte short).
    const MIB: u32 = 1 << 20;
    let mut m = vec![0u8; MIB as usize];
    iovecs(&mut m, 0, &vec![(0, MIB); 4097]);
    let mut h = FakeHost::new();
    h.count_only = true;
    let nwritten = u64::from(MIB - 4);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 4097, nwritten]),
        OK
    );
    assert_eq!(get32(&m, (MIB - 4) as usize), u32::MAX);
    assert_eq!(h.counted, u64::from(u32::MAX));
    assert_eq!(h.writes.len(), 4096);
    assert_eq!(h.lens[4095], (MIB - 1) as usize);
}

// ---- fd_read ----

#[test]
fn fd_read_of_stdin_is_end_of_file() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    iovecs(&mut m, 0, &[(100, 16)]);
    put32(&mut m, 40, 99);
    assert_eq!(run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]), OK);
    assert_eq!(get32(&m, 40), 0);
    assert_eq!(m[100], FILL);
    assert_eq!(
        run(WasiFunc::FdRead, &mut m, &mut h, &[1, 0, 1, 40]),
        ret(Errno::NOTCAPABLE)
    );
    assert_eq!(
        run(WasiFunc::FdRead, &mut m, &mut h, &[9, 0, 1, 40]),
        ret(Errno::BADF)
    );
    iovecs(&mut m, 0, &[((MEM - 15) as u32, 16)]);
    assert_eq!(
        run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]),
        ret(Errno::FAULT)
    );
}

#[test]
fn fd_read_scatters_stdin_and_blocks_when_empty() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    h.input = Some((b"hello world".to_vec(), false, None));
    iovecs(&mut m, 0, &[(100, 4), (150, 0), (200, 16)]);
    assert_eq!(run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 3, 40]), OK);
    assert_eq!(get32(&m, 40), 11);
    assert_eq!(&m[100..104], b"hell");
    assert_eq!(&m[200..207], b"o world");
    assert_eq!(m[207], FILL);
    // Empty, not closed: Pending, and nothing written.
    put32(&mut m, 40, 99);
    let before = m.clone();
    assert_eq!(
        run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 3, 40]),
        WasiOutcome::Pending
    );
    assert_eq!(m, before);
    // Asking for nothing does not block; bad iovecs fail rather than block.
    iovecs(&mut m, 0, &[(100, 0)]);
    assert_eq!(run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]), OK);
    assert_eq!(get32(&m, 40), 0);
    iovecs(&mut m, 0, &[((MEM - 15) as u32, 16)]);
    assert_eq!(
        run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]),
        ret(Errno::FAULT)
    );
    // More input, shorter than the buffer; then end of file.
    h.input = Some((b"xy".to_vec(), true, None));
    iovecs(&mut m, 0, &[(100, 16)]);
    assert_eq!(run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]), OK);
    assert_eq!((get32(&m, 40), &m[100..102]), (2, &b"xy"[..]));
    assert_eq!(run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]), OK);
    assert_eq!(get32(&m, 40), 0, "end of file");
    // A broken input (a corrupted ring) is the host's errno.
    h.input = Some((Vec::new(), false, Some(Errno::IO)));
    assert_eq!(
        run(WasiFunc::FdRead, &mut m, &mut h, &[0, 0, 1, 40]),
        ret(Errno::IO)
    );
}

// ---- preopens ----

#[test]
fn preopens_come_from_the_hosts_table() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    // No files: EBADF for every fd.
    for fd in [0, 3, 4] {
        assert_eq!(
            run(WasiFunc::FdPrestatGet, &mut m, &mut h, &[fd, 0]),
            ret(Errno::BADF)
        );
    }
    let mut t = files::FdTable::new();
    assert_eq!(t.add_preopen(7, b"data", 0, 0), Ok(3));
    assert_eq!(t.add_preopen(8, b"/tmp/x", 0, 0), Ok(4));
    h.files = Some(t);
    assert_eq!(run(WasiFunc::FdPrestatGet, &mut m, &mut h, &[4, 16]), OK);
    assert_eq!(
        (m[16], get32(&m, 20)),
        (0, 6),
        "a directory, 6 bytes of name"
    );
    assert_eq!(
        run(WasiFunc::FdPrestatDirName, &mut m, &mut h, &[4, 32, 6]),
        OK
    );
    assert_eq!(&m[32..38], b"/tmp/x");
    assert_eq!(m[38], FILL, "not NUL-terminated");
    assert_eq!(
        run(WasiFunc::FdPrestatDirName, &mut m, &mut h, &[3, 32, 3]),
        ret(Errno::INVAL),
        "too short for the name"
    );
    for fd in [0, 1, 2, 5, u32::MAX as u64] {
        assert_eq!(
            run(WasiFunc::FdPrestatGet, &mut m, &mut h, &[fd, 16]),
            ret(Errno::BADF),
            "{fd}"
        );
    }
    assert_eq!(
        run(
            WasiFunc::FdPrestatGet,
            &mut m,
            &mut h,
            &[3, (MEM - 4) as u64]
        ),
        ret(Errno::FAULT)
    );
    // A file in the table is not a preopen.
    let f = files::FdEntry {
        handle: 9,
        kind: files::FdKind::File { filetype: 4 },
        rights_base: 0,
        rights_inheriting: 0,
        fdflags: 0,
    };
    assert_eq!(h.files.as_mut().unwrap().insert(f), Ok(5));
    assert_eq!(
        run(WasiFunc::FdPrestatGet, &mut m, &mut h, &[5, 16]),
        ret(Errno::BADF)
    );
}

// ---- fdstat / filestat ----

#[test]
fn fd_fdstat_get_layout() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(run(WasiFunc::FdFdstatGet, &mut m, &mut h, &[1, 8]), OK);
    let rights = RIGHT_FD_WRITE | RIGHT_POLL_FD_READWRITE | RIGHT_FD_FILESTAT_GET;
    assert_eq!(rights, 0x0820_0040);
    let mut want = [0u8; 24];
    want[0] = 2; // character_device
    want[8..16].copy_from_slice(&rights.to_le_bytes());
    assert_eq!(&m[8..32], &want);
    assert_eq!((m[7], m[32]), (FILL, FILL));
    // No seek/tell rights: wasi-libc's isatty() is true.
    assert_eq!(get64(&m, 16) & (RIGHT_FD_SEEK | RIGHT_FD_TELL), 0);

    h.filetype = FILETYPE_SOCKET_STREAM;
    assert_eq!(run(WasiFunc::FdFdstatGet, &mut m, &mut h, &[0, 64]), OK);
    assert_eq!(m[64], 6);
    assert_eq!(
        get64(&m, 72),
        RIGHT_FD_READ | RIGHT_POLL_FD_READWRITE | RIGHT_FD_FILESTAT_GET
    );
    assert_eq!(get64(&m, 80), 0);

    let edge = (MEM - 23) as u64;
    assert_eq!(
        run(WasiFunc::FdFdstatGet, &mut m, &mut h, &[2, edge]),
        ret(Errno::FAULT)
    );
    let fits = (MEM - 24) as u64;
    assert_eq!(run(WasiFunc::FdFdstatGet, &mut m, &mut h, &[2, fits]), OK);
    assert_eq!(
        run(WasiFunc::FdFdstatGet, &mut m, &mut h, &[3, 8]),
        ret(Errno::BADF)
    );
}

#[test]
fn fd_filestat_get_layouts() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(run(WasiFunc::FdFilestatGet, &mut m, &mut h, &[1, 0]), OK);
    let mut want = [0u8; 64];
    want[16] = 2;
    want[24] = 1; // nlink u64
    assert_eq!(&m[..64], &want);
    assert_eq!(m[64], FILL);

    let mut m = mem();
    assert_eq!(
        run(WasiFunc::Snapshot0FdFilestatGet, &mut m, &mut h, &[2, 0]),
        OK
    );
    let mut want = [0u8; 56];
    want[16] = 2;
    want[20] = 1; // nlink u32
    assert_eq!(&m[..56], &want);
    assert_eq!(m[56], FILL);
    assert_eq!(
        run(WasiFunc::FdFilestatGet, &mut m, &mut h, &[4, 0]),
        ret(Errno::BADF)
    );
    let edge = (MEM - 63) as u64;
    assert_eq!(
        run(WasiFunc::FdFilestatGet, &mut m, &mut h, &[1, edge]),
        ret(Errno::FAULT)
    );
}

// ---- the simple fd functions ----

#[test]
fn fd_functions_errnos() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    let before = m.clone();
    let cases: &[(WasiFunc, &[u64], Errno)] = &[
        (WasiFunc::FdClose, &[0], Errno::SUCCESS),
        (WasiFunc::FdClose, &[2], Errno::SUCCESS),
        (WasiFunc::FdClose, &[3], Errno::BADF),
        (WasiFunc::FdSeek, &[1, 0, 0, 8], Errno::SPIPE),
        (WasiFunc::FdSeek, &[0, 5, 1, 8], Errno::SPIPE),
        (WasiFunc::FdSeek, &[7, 0, 0, 8], Errno::BADF),
        (WasiFunc::FdTell, &[2, 8], Errno::SPIPE),
        (WasiFunc::FdPread, &[0, 0, 1, 0, 8], Errno::SPIPE),
        (WasiFunc::FdPwrite, &[1, 0, 1, 0, 8], Errno::SPIPE),
        (WasiFunc::FdPwrite, &[5, 0, 1, 0, 8], Errno::BADF),
        (WasiFunc::FdAdvise, &[1, 0, 0, 0], Errno::SPIPE),
        (WasiFunc::FdAllocate, &[1, 0, 0], Errno::SPIPE),
        (WasiFunc::FdSync, &[1], Errno::NOTCAPABLE),
        (WasiFunc::FdDatasync, &[1], Errno::NOTCAPABLE),
        (WasiFunc::FdDatasync, &[9], Errno::BADF),
        (WasiFunc::FdFdstatSetFlags, &[1, 0], Errno::NOTCAPABLE),
        (WasiFunc::FdFilestatSetSize, &[1, 0], Errno::NOTCAPABLE),
        (
            WasiFunc::FdFilestatSetTimes,
            &[1, 0, 0, 0],
            Errno::NOTCAPABLE,
        ),
        (
            WasiFunc::FdFdstatSetRights,
            &[1, RIGHT_FD_WRITE, 0],
            Errno::SUCCESS,
        ),
        (
            WasiFunc::FdFdstatSetRights,
            &[1, RIGHT_FD_READ, 0],
            Errno::NOTCAPABLE,
        ),
        (WasiFunc::FdFdstatSetRights, &[1, 0, 1], Errno::NOTCAPABLE),
        (WasiFunc::FdFdstatSetRights, &[3, 0, 0], Errno::BADF),
        (WasiFunc::FdRenumber, &[1, 2], Errno::NOTSUP),
        (WasiFunc::FdRenumber, &[1, 3], Errno::BADF),
        (WasiFunc::FdPrestatGet, &[3, 8], Errno::BADF),
        (WasiFunc::FdPrestatGet, &[0, 8], Errno::BADF),
        (WasiFunc::FdPrestatDirName, &[3, 8, 4], Errno::BADF),
        (WasiFunc::FdReaddir, &[1, 8, 4, 0, 16], Errno::NOTDIR),
        (WasiFunc::FdReaddir, &[3, 8, 4, 0, 16], Errno::BADF),
        (
            WasiFunc::PathOpen,
            &[3, 0, 8, 4, 0, 0, 0, 0, 16],
            Errno::BADF,
        ),
        (
            WasiFunc::PathOpen,
            &[0, 0, 8, 4, 0, 0, 0, 0, 16],
            Errno::NOTDIR,
        ),
        (WasiFunc::PathCreateDirectory, &[3, 8, 4], Errno::BADF),
        (WasiFunc::PathFilestatGet, &[1, 0, 8, 4, 16], Errno::NOTDIR),
        (
            WasiFunc::PathFilestatSetTimes,
            &[4, 0, 8, 4, 0, 0, 0],
            Errno::BADF,
        ),
        (WasiFunc::PathReadlink, &[3, 8, 4, 16, 4, 24], Errno::BADF),
        (WasiFunc::PathRemoveDirectory, &[3, 8, 4], Errno::BADF),
        (WasiFunc::PathUnlinkFile, &[3, 8, 4], Errno::BADF),
        (WasiFunc::PathLink, &[1, 0, 8, 4, 2, 16, 4], Errno::NOTDIR),
        (WasiFunc::PathLink, &[1, 0, 8, 4, 3, 16, 4], Errno::BADF),
        (WasiFunc::PathRename, &[3, 8, 4, 1, 16, 4], Errno::BADF),
        (WasiFunc::PathRename, &[0, 8, 4, 1, 16, 4], Errno::NOTDIR),
        (WasiFunc::PathSymlink, &[8, 4, 3, 16, 4], Errno::BADF),
        (WasiFunc::PathSymlink, &[8, 4, 1, 16, 4], Errno::NOTDIR),
        (WasiFunc::SockAccept, &[1, 0, 8], Errno::NOTSOCK),
        (WasiFunc::SockRecv, &[3, 0, 1, 0, 8, 12], Errno::BADF),
        (WasiFunc::SockSend, &[1, 0, 1, 0, 8], Errno::NOTSOCK),
        (WasiFunc::SockShutdown, &[2, 0], Errno::NOTSOCK),
        (WasiFunc::ProcRaise, &[6], Errno::NOSYS),
        (WasiFunc::SchedYield, &[], Errno::SUCCESS),
        (WasiFunc::FdClose, &[], Errno::INVAL),
    ];
    for &(f, args, e) in cases {
        assert_eq!(run(f, &mut m, &mut h, args), ret(e), "{f:?} {args:?}");
    }
    // None of these touch memory or the host.
    assert_eq!(m, before);
    assert!(h.writes.is_empty() && h.slept.is_empty());
    // With a host that keeps no descriptor state, fd_close leaves the stream usable.
    iovecs(&mut m, 0, &[(100, 1)]);
    assert_eq!(run(WasiFunc::FdWrite, &mut m, &mut h, &[1, 0, 1, 40]), OK);
}

// ---- clocks, random, exit ----

#[test]
fn clocks() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(
        run(
            WasiFunc::ClockTimeGet,
            &mut m,
            &mut h,
            &[CLOCK_MONOTONIC.into(), 1, 3]
        ),
        OK
    );
    assert_eq!(get64(&m, 3), 5_001);
    assert_eq!(m[11], FILL);
    assert_eq!(
        run(
            WasiFunc::ClockTimeGet,
            &mut m,
            &mut h,
            &[CLOCK_REALTIME.into(), 0, 16]
        ),
        OK
    );
    assert_eq!(get64(&m, 16), 5_000);
    for id in [CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID] {
        assert_eq!(
            run(WasiFunc::ClockTimeGet, &mut m, &mut h, &[id.into(), 0, 16]),
            OK
        );
    }
    assert_eq!(
        run(WasiFunc::ClockTimeGet, &mut m, &mut h, &[4, 0, 16]),
        ret(Errno::INVAL)
    );
    let edge = (MEM - 7) as u64;
    assert_eq!(
        run(WasiFunc::ClockTimeGet, &mut m, &mut h, &[0, 0, edge]),
        ret(Errno::FAULT)
    );
    assert_eq!(
        run(
            WasiFunc::ClockResGet,
            &mut m,
            &mut h,
            &[CLOCK_MONOTONIC.into(), 24]
        ),
        OK
    );
    assert_eq!(get64(&m, 24), 1_001);
    // The host has no resolution for the cputime clocks.
    assert_eq!(
        run(WasiFunc::ClockResGet, &mut m, &mut h, &[2, 24]),
        ret(Errno::INVAL)
    );
    assert_eq!(
        run(WasiFunc::ClockResGet, &mut m, &mut h, &[0, edge]),
        ret(Errno::FAULT)
    );
}

#[test]
fn random_get() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(run(WasiFunc::RandomGet, &mut m, &mut h, &[10, 4]), OK);
    assert_eq!(&m[9..15], &[FILL, 0xA0, 0xA1, 0xA2, 0xA3, FILL]);
    let end = MEM as u64;
    assert_eq!(run(WasiFunc::RandomGet, &mut m, &mut h, &[end, 0]), OK);
    assert_eq!(
        run(WasiFunc::RandomGet, &mut m, &mut h, &[end - 3, 4]),
        ret(Errno::FAULT)
    );
    assert_eq!(
        run(
            WasiFunc::RandomGet,
            &mut m,
            &mut h,
            &[8, u64::from(u32::MAX)]
        ),
        ret(Errno::FAULT)
    );
}

/// A host whose random bytes are one stream (byte `k` of everything it ever produced is
/// `k * 7 + k / 251`), and which wants the CPU back at every `interrupt_every`-th check.
struct StreamHost {
    produced: u64,
    checks: u64,
    interrupt_every: u64,
}

impl WasiHost for StreamHost {
    fn write(&mut self, _: u32, _: &[u8]) -> Result<(), Errno> {
        Ok(())
    }
    fn clock_time_ns(&mut self, _: u32) -> Option<u64> {
        None
    }
    fn clock_res_ns(&mut self, _: u32) -> Option<u64> {
        None
    }
    fn random(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        for b in buf.iter_mut() {
            let k = self.produced;
            *b = (k.wrapping_mul(7) + k / 251) as u8;
            self.produced += 1;
        }
        Ok(())
    }
    fn args(&self) -> &[&[u8]] {
        &[]
    }
    fn environ(&self) -> &[&[u8]] {
        &[]
    }
    fn interrupt_pending(&mut self) -> bool {
        self.checks += 1;
        self.interrupt_every != 0 && self.checks.is_multiple_of(self.interrupt_every)
    }
}

/// `random_get` of `len` bytes at `at` of a fresh memory, re-issued after every
/// interruption: (memory, interruptions, bytes the host produced).
fn random_get_resumed(len: u32, at: u32, interrupt_every: u64) -> (Vec<u8>, u32, u64) {
    let mut m = vec![FILL; (at + len + 16) as usize];
    let mut h = StreamHost {
        produced: 0,
        checks: 0,
        interrupt_every,
    };
    let (mut resume, mut interruptions) = (0u64, 0u32);
    let args = [u64::from(at), u64::from(len)];
    loop {
        let mut gm = GuestMemory::from_slice(&mut m);
        match call_resumable(WasiFunc::RandomGet, &mut gm, &mut h, &args, &mut resume) {
            WasiOutcome::Interrupted => {
                interruptions += 1;
                assert!(resume > 0 && resume < u64::from(len), "progress {resume}");
                assert_eq!(resume % u64::from(RANDOM_CHUNK), 0);
            }
            other => {
                assert_eq!(other, OK);
                assert_eq!(resume, 0);
                break;
            }
        }
    }
    (m, interruptions, h.produced)
}

#[test]
fn random_get_interrupted_between_chunks_resumes_exactly() {
    let len = 3 * RANDOM_CHUNK + 123;
    let (whole, n, produced) = random_get_resumed(len, 5, 0);
    assert_eq!((n, produced), (0, u64::from(len)));
    for every in [1, 2, 3] {
        let (m, n, produced) = random_get_resumed(len, 5, every);
        // Three chunk boundaries, each checked once per issue of the call.
        assert!(n >= 1, "every {every}: never interrupted");
        // No byte lost or repeated: the module sees exactly the uninterrupted stream.
        assert_eq!(produced, u64::from(len), "every {every}");
        assert_eq!(m, whole, "every {every}");
    }
    assert_eq!(&whole[..5], &[FILL; 5]);
    assert_eq!(&whole[5 + len as usize..], &[FILL; 16]);
    // A small buffer is one chunk: never interrupted.
    let (_, n, _) = random_get_resumed(100, 0, 1);
    assert_eq!(n, 0);
    // The plain `call` with such a host starts over, and still fills every byte.
    let mut m = vec![FILL; 64];
    let mut h = StreamHost {
        produced: 0,
        checks: 0,
        interrupt_every: 1,
    };
    let mut gm = GuestMemory::from_slice(&mut m);
    assert_eq!(call(WasiFunc::RandomGet, &mut gm, &mut h, &[0, 64]), OK);
}

#[test]
fn random_get_out_of_range_is_checked_before_any_byte() {
    let mut m = vec![FILL; 2 * RANDOM_CHUNK as usize];
    let mut h = StreamHost {
        produced: 0,
        checks: 0,
        interrupt_every: 1,
    };
    let mut gm = GuestMemory::from_slice(&mut m);
    let mut resume = 0;
    assert_eq!(
        call_resumable(
            WasiFunc::RandomGet,
            &mut gm,
            &mut h,
            &[1, u64::from(2 * RANDOM_CHUNK)],
            &mut resume
        ),
        ret(Errno::FAULT)
    );
    assert_eq!((h.produced, resume), (0, 0));
    assert!(m.iter().all(|&b| b == FILL));
}

#[test]
fn proc_exit() {
    let (mut m, mut h) = (mem(), FakeHost::new());
    assert_eq!(
        run(WasiFunc::ProcExit, &mut m, &mut h, &[3]),
        WasiOutcome::Exit(3)
    );
    assert_eq!(
        run(WasiFunc::ProcExit, &mut m, &mut h, &[0xFFFF_FFFF]),
        WasiOutcome::Exit(u32::MAX)
    );
    assert_eq!(
        run(WasiFunc::ProcExit, &mut m, &mut h, &[]),
        ret(Errno::INVAL)
    );
}

// ---- poll_oneoff ----

/// A preview1 clock subscription.
fn clock_sub(userdata: u64, id: u32, timeout: u64, flags: u16) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = EVENTTYPE_CLOCK;
    s[16..20].copy_from_slice(&id.to_le_bytes());
    s[24..32].copy_from_slice(&timeout.to_le_bytes());
    s[32..40].copy_from_slice(&1u64.to_le_bytes()); // precision
    s[40..42].copy_from_slice(&flags.to_le_bytes());
    s
}

/// A preview1 fd_read / fd_write subscription.
fn fd_sub(userdata: u64, kind: u8, fd: u32) -> [u8; 48] {
    let mut s = [0u8; 48];
    s[0..8].copy_from_slice(&userdata.to_le_bytes());
    s[8] = kind;
    s[16..20].copy_from_slice(&fd.to_le_bytes());
    s
}

/// An event record as the witx lays it out.
fn event(userdata: u64, error: Errno, kind: u8, nbytes: u64, flags: u16) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[0..8].copy_from_slice(&userdata.to_le_bytes());
    e[8..10].copy_from_slice(&error.0.to_le_bytes());
    e[10] = kind;
    e[16..24].copy_from_slice(&nbytes.to_le_bytes());
    e[24..26].copy_from_slice(&flags.to_le_bytes());
    e
}

/// Memory with `subs` at 0 and room for events at `EVENTS`, nevents at `NEVENTS`.
fn poll_mem(subs: &[[u8; 48]]) -> Vec<u8> {
    let mut m = vec![FILL; 1024];
    for (i, s) in subs.iter().enumerate() {
        m[48 * i..48 * (i + 1)].copy_from_slice(s);
    }
    m
}

const EVENTS: usize = 512;
const NEVENTS: usize = 1000;

fn poll(m: &mut [u8], h: &mut FakeHost, n: usize) -> WasiOutcome {
    run(
        WasiFunc::PollOneoff,
        m,
        h,
        &[0, EVENTS as u64, n as u64, NEVENTS as u64],
    )
}

#[test]
fn poll_oneoff_relative_sleep() {
    let mut h = FakeHost::new();
    let mut m = poll_mem(&[clock_sub(
        0x1122_3344_5566_7788,
        CLOCK_MONOTONIC,
        1_000_000,
        0,
    )]);
    assert_eq!(poll(&mut m, &mut h, 1), OK);
    assert_eq!(h.slept, [1_000_000]);
    assert_eq!(get32(&m, NEVENTS), 1);
    assert_eq!(
        m[EVENTS..EVENTS + 32],
        event(0x1122_3344_5566_7788, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0)
    );
    assert_eq!(m[EVENTS + 32], FILL);
}

#[test]
fn poll_oneoff_cut_short_has_no_effect_and_is_pending() {
    let mut h = FakeHost::new();
    h.cut_sleeps = 2;
    let mut m = poll_mem(&[clock_sub(9, CLOCK_MONOTONIC, 5_000, 0)]);
    let before = m.clone();
    assert_eq!(poll(&mut m, &mut h, 1), WasiOutcome::Pending);
    assert_eq!(poll(&mut m, &mut h, 1), WasiOutcome::Pending);
    assert_eq!(m, before, "an interrupted poll_oneoff writes nothing");
    assert!(h.slept.is_empty());
    // Issued again, it completes like an uninterrupted one.
    assert_eq!(poll(&mut m, &mut h, 1), OK);
    assert_eq!(h.slept, [5_000]);
    assert_eq!(get32(&m, NEVENTS), 1);
}

#[test]
fn poll_oneoff_reports_stdin_honestly() {
    let mut h = FakeHost::new();
    h.input = Some((b"abc".to_vec(), false, None));
    let mut m = poll_mem(&[fd_sub(7, EVENTTYPE_FD_READ, 0)]);
    assert_eq!(poll(&mut m, &mut h, 1), OK);
    assert_eq!(get32(&m, NEVENTS), 1);
    assert_eq!(
        m[EVENTS..EVENTS + 32],
        event(7, Errno::SUCCESS, EVENTTYPE_FD_READ, 3, 0)
    );
    // Empty and alone: the call waits for input (Pending, nothing written).
    h.input = Some((Vec::new(), false, None));
    let before = m.clone();
    assert_eq!(poll(&mut m, &mut h, 1), WasiOutcome::Pending);
    assert_eq!(m, before);
    // Empty beside a clock: sleeps for the clock, watching stdin; stdin gets no event.
    let mut m = poll_mem(&[
        fd_sub(7, EVENTTYPE_FD_READ, 0),
        clock_sub(8, CLOCK_MONOTONIC, 2_000, 0),
    ]);
    assert_eq!(poll(&mut m, &mut h, 2), OK);
    assert_eq!(
        (h.slept.as_slice(), h.slept_watching.as_slice()),
        (&[2_000][..], &[true][..])
    );
    assert_eq!(get32(&m, NEVENTS), 1);
    assert_eq!(
        m[EVENTS..EVENTS + 32],
        event(8, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0)
    );
    // End of file: ready with hangup.
    h.input = Some((Vec::new(), true, None));
    let mut m = poll_mem(&[fd_sub(7, EVENTTYPE_FD_READ, 0)]);
    assert_eq!(poll(&mut m, &mut h, 1), OK);
    assert_eq!(
        m[EVENTS..EVENTS + 32],
        event(
            7,
            Errno::SUCCESS,
            EVENTTYPE_FD_READ,
            0,
            EVENT_FD_READWRITE_HANGUP
        )
    );
}

#[test]
fn poll_oneoff_absolute_sleep() {
    let mut h = FakeHost::new(); // realtime now = 5_000
    let abs = SUBSCRIPTION_CLOCK_ABSTIME;
    let mut m = poll_mem(&[clock_sub(7, CLOCK_REALTIME, 8_000, abs)]);
    assert_eq!(poll(&mut m, &mut h, 1), OK);
    assert_eq!(h.slept, [3_000]);
    assert_eq!(get32(&m, NEVENTS), 1);
    // A deadline in the past fires at once (sleep 0).
    let mut m = poll_mem(&[clock_sub(8, CLOCK_REALTIME, 10, abs)]);
    assert_eq!(poll(&mut m, &mut h, 1), OK);
    assert_eq!(h.slept, [3_000, 0]);
    assert_eq!(
        m[EVENTS..EVENTS + 32],
        event(8, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0)
    );
}

#[test]
fn poll_oneoff_earliest_clock_wins() {
    let mut h = FakeHost::new();
    let mut m = poll_mem(&[
        clock_sub(1, CLOCK_MONOTONIC, 300, 0),
        clock_sub(2, CLOCK_MONOTONIC, 100, 0),
        clock_sub(3, CLOCK_REALTIME, 100, 0),
    ]);
    assert_eq!(poll(&mut m, &mut h, 3), OK);
    assert_eq!(h.slept, [100]);
    assert_eq!(get32(&m, NEVENTS), 2);
    assert_eq!(
        m[EVENTS..EVENTS + 32],
        event(2, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0)
    );
    assert_eq!(
        m[EVENTS + 32..EVENTS + 64],
        event(3, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0)
    );
    assert_eq!(m[EVENTS + 64], FILL);
}

#[test]
fn poll_oneoff_fd_subscriptions_complete_at_once() {
    let mut h = FakeHost::new();
    let mut m = poll_mem(&[
        clock_sub(1, CLOCK_MONOTONIC, 1_000, 0),
        fd_sub(2, EVENTTYPE_FD_READ, 0),
        fd_sub(3, EVENTTYPE_FD_WRITE, 1),
        fd_sub(4, EVENTTYPE_FD_READ, 9),
        fd_sub(5, EVENTTYPE_FD_WRITE, 0),
        clock_sub(6, CLOCK_MONOTONIC, 0, 0),
        clock_sub(7, 99, 0, 0),
    ]);
    assert_eq!(poll(&mut m, &mut h, 7), OK);
    assert!(h.slept.is_empty());
    assert_eq!(get32(&m, NEVENTS), 6);
    let want = [
        event(
            2,
            Errno::SUCCESS,
            EVENTTYPE_FD_READ,
            0,
            EVENT_FD_READWRITE_HANGUP,
        ),
        event(3, Errno::SUCCESS, EVENTTYPE_FD_WRITE, 0, 0),
        event(4, Errno::BADF, EVENTTYPE_FD_READ, 0, 0),
        event(5, Errno::NOTCAPABLE, EVENTTYPE_FD_WRITE, 0, 0),
        event(6, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0),
        event(7, Errno::INVAL, EVENTTYPE_CLOCK, 0, 0),
    ];
    for (i, e) in want.iter().enumerate() {
        let at = EVENTS + 32 * i;
        assert_eq!(&m[at..at + 32], e, "event {i}");
    }
    assert_eq!(m[EVENTS + 32 * 6], FILL);
}

#[test]
fn poll_oneoff_errors() {
    let mut h = FakeHost::new();
    let mut bad = fd_sub(1, 3, 0); // unknown event type
    let mut m = poll_mem(&[clock_sub(0, 1, 5, 0), bad]);
    let before = m.clone();
    assert_eq!(poll(&mut m, &mut h, 2), ret(Errno::INVAL));
    assert_eq!(poll(&mut m, &mut h, 0), ret(Errno::INVAL));
    assert_eq!(m, before);
    bad[8] = EVENTTYPE_CLOCK;
    let mut m = poll_mem(&[bad]);
    let big = 1024u64;
    // Subscriptions, events or nevents past the end of memory.
    let cases: [[u64; 4]; 5] = [
        [big - 47, 512, 1, 1000],
        [0, big - 31, 1, 1000],
        [0, 512, 1, big - 3],
        [0, 512, 0x1000_0000, 1000],
        [0xFFFF_FFF0, 512, 1, 1000],
    ];
    for args in cases {
        assert_eq!(
            run(WasiFunc::PollOneoff, &mut m, &mut h, &args),
            ret(Errno::FAULT),
            "{args:?}"
        );
    }
    assert!(h.slept.is_empty());
    assert_eq!(get32(&m, NEVENTS), u32::from_le_bytes([FILL; 4]));
}

#[test]
fn poll_oneoff_snapshot0_layout() {
    let mut h = FakeHost::new();
    // snapshot 0 clock subscription: 56 bytes, identifier @16, id @24, timeout @32,
    // precision @40, flags @48.
    let mut s = [0u8; 56];
    s[0..8].copy_from_slice(&42u64.to_le_bytes());
    s[8] = EVENTTYPE_CLOCK;
    s[16..24].copy_from_slice(&0xDEADu64.to_le_bytes());
    s[24..28].copy_from_slice(&CLOCK_REALTIME.to_le_bytes());
    s[32..40].copy_from_slice(&9_000u64.to_le_bytes());
    s[48..50].copy_from_slice(&SUBSCRIPTION_CLOCK_ABSTIME.to_le_bytes());
    let mut m = vec![FILL; 1024];
    m[..56].copy_from_slice(&s);
    assert_eq!(
        run(
            WasiFunc::Snapshot0PollOneoff,
            &mut m,
            &mut h,
            &[0, 512, 1, 1000]
        ),
        OK
    );
    assert_eq!(h.slept, [4_000]);
    assert_eq!(get32(&m, 1000), 1);
    assert_eq!(
        m[512..544],
        event(42, Errno::SUCCESS, EVENTTYPE_CLOCK, 0, 0)
    );
    // The same bytes read with the preview1 layout: clock id 0xDEAD, which the host lacks.
    let mut m2 = vec![FILL; 1024];
    m2[..56].copy_from_slice(&s);
    assert_eq!(
        run(WasiFunc::PollOneoff, &mut m2, &mut h, &[0, 512, 1, 1000]),
        OK
    );
    assert_eq!(m2[512..544], event(42, Errno::INVAL, EVENTTYPE_CLOCK, 0, 0));
    // fd subscriptions are at the same offset in both.
    let mut m3 = vec![FILL; 1024];
    m3[..48].copy_from_slice(&fd_sub(5, EVENTTYPE_FD_WRITE, 2));
    assert_eq!(
        run(
            WasiFunc::Snapshot0PollOneoff,
            &mut m3,
            &mut h,
            &[0, 512, 1, 1000]
        ),
        OK
    );
    assert_eq!(
        m3[512..544],
        event(5, Errno::SUCCESS, EVENTTYPE_FD_WRITE, 0, 0)
    );
}

// ---- hostile arguments ----

/// xorshift64*: a small deterministic generator for the robustness test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// An address or length near the interesting edges of a `size`-byte memory.
    fn edge(&mut self, size: u32) -> u64 {
        let r = self.next();
        let v = match r % 8 {
            0 => 0,
            1 => size.wrapping_sub((r >> 8) as u32 % 9),
            2 => size.wrapping_add((r >> 8) as u32 % 9),
            3 => u32::MAX - (r >> 8) as u32 % 64,
            4 => (r >> 8) as u32 % 8,
            5 => (r >> 8) as u32 % size,
            6 => 1 << ((r >> 8) % 32),
            _ => (r >> 8) as u32,
        };
        // Sometimes garbage in the upper half (only the low 32 bits of an i32 count).
        u64::from(v)
            | if r & (1 << 60) != 0 {
                r & !0xFFFF_FFFF
            } else {
                0
            }
    }
}

#[test]
fn hostile_arguments_never_touch_memory_outside_the_guest() {
    const SIZE: usize = 512;
    const GUARD: usize = 64;
    const CANARY: u8 = 0x5A;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut outer = vec![CANARY; GUARD + SIZE + GUARD];
    let mut h = FakeHost::new();
    let mut outcomes = [0usize; 3];
    for round in 0..20_000u32 {
        // Fill the guest memory with edge values so iovecs, subscriptions etc. are hostile.
        if round.is_multiple_of(64) {
            for chunk in outer[GUARD..GUARD + SIZE].chunks_mut(4) {
                let v = rng.edge(SIZE as u32) as u32;
                chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
            }
        }
        let (_, f, sig) = FUNCTIONS[rng.next() as usize % FUNCTIONS.len()];
        let n = sig.find(')').unwrap() - 1; // parameter count
        let n = (n + rng.next() as usize % 3).saturating_sub(1); // sometimes one short
        let mut args: Vec<u64> = (0..n).map(|_| rng.edge(SIZE as u32)).collect();
        // Small fds and clock ids now and then.
        if let Some(a) = args.first_mut() {
            if rng.next() & 1 == 0 {
                *a = rng.next() % 5;
            }
        }
        let base = outer[GUARD..].as_mut_ptr();
        // SAFETY: `base..base + SIZE` lies inside `outer`, which nothing else touches while
        // `mem` lives.
        let mut mem = unsafe { GuestMemory::new(base, SIZE) };
        h.writes.clear();
        h.slept.clear();
        match call(f, &mut mem, &mut h, &args) {
            WasiOutcome::Return(0) => outcomes[0] += 1,
            WasiOutcome::Return(e) => {
                assert!(e <= 76, "{f:?}: {e}");
                outcomes[1] += 1;
            }
            WasiOutcome::Exit(_) => outcomes[2] += 1,
            WasiOutcome::Pending => panic!("{f:?}: pending with an unlimited host"),
            WasiOutcome::Interrupted => panic!("{f:?}: interrupted by a host that never asks"),
        }
        assert!(
            outer[..GUARD].iter().all(|&b| b == CANARY)
                && outer[GUARD + SIZE..].iter().all(|&b| b == CANARY),
            "{f:?} {args:x?} wrote outside the guest memory"
        );
    }
    // Both successes and failures were exercised.
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}

#[test]
fn closed_descriptor_is_gone_for_every_fd_call() {
    let mut m = mem();
    let mut host = FakeHost::new();
    host.track_close = true;
    assert_eq!(
        run(WasiFunc::FdClose, &mut m, &mut host, &[2]),
        ret(Errno::SUCCESS)
    );
    assert_eq!(host.closed, vec![2]);
    // iovec {buf 0x10, len 1} at 0x20; nwritten at 0x30.
    put32(&mut m, 0x20, 0x10);
    put32(&mut m, 0x24, 1);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut host, &[2, 0x20, 1, 0x30]),
        ret(Errno::BADF)
    );
    assert!(
        host.output(2).is_empty(),
        "nothing reached the closed stream"
    );
    assert_eq!(
        run(WasiFunc::FdFdstatGet, &mut m, &mut host, &[2, 0x40]),
        ret(Errno::BADF)
    );
    assert_eq!(
        run(WasiFunc::FdClose, &mut m, &mut host, &[2]),
        ret(Errno::BADF)
    );
    // stdout is untouched.
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut host, &[1, 0x20, 1, 0x30]),
        ret(Errno::SUCCESS)
    );
}

#[test]
fn limited_output_gives_short_writes_then_pending() {
    let mut m = mem();
    let mut host = FakeHost::new();
    m[0x10..0x18].copy_from_slice(b"abcdefgh");
    // Two iovecs of 4 bytes at 0x20; nwritten at 0x30.
    put32(&mut m, 0x20, 0x10);
    put32(&mut m, 0x24, 4);
    put32(&mut m, 0x28, 0x14);
    put32(&mut m, 0x2c, 4);
    host.room = Some(6);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut host, &[1, 0x20, 2, 0x30]),
        ret(Errno::SUCCESS)
    );
    assert_eq!(get32(&m, 0x30), 6, "a short write of what fits");
    assert_eq!(host.output(1), b"abcdef");
    host.room = Some(0);
    put32(&mut m, 0x30, 0xdead);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut host, &[1, 0x20, 2, 0x30]),
        WasiOutcome::Pending
    );
    assert_eq!(get32(&m, 0x30), 0xdead, "pending has no effect");
    assert_eq!(host.output(1), b"abcdef");
    // Nothing to write is not pending, nor is an invalid call.
    put32(&mut m, 0x24, 0);
    put32(&mut m, 0x2c, 0);
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut host, &[1, 0x20, 2, 0x30]),
        ret(Errno::SUCCESS)
    );
    assert_eq!(
        run(WasiFunc::FdWrite, &mut m, &mut host, &[0, 0x20, 2, 0x30]),
        ret(Errno::NOTCAPABLE)
    );
}

#[test]
fn guest_copy_within_checks_both_ranges_and_allows_overlap() {
    let mut bytes: Vec<u8> = (0..64).collect();
    let mut m = GuestMemory::from_slice(&mut bytes);
    assert_eq!(m.copy_within(0, 4, 8), Ok(()));
    assert_eq!(m.copy_within(60, 0, 5), Err(Errno::FAULT));
    assert_eq!(m.copy_within(0, 60, 5), Err(Errno::FAULT));
    assert_eq!(m.copy_within(u32::MAX, 0, 2), Err(Errno::FAULT));
    assert_eq!(m.copy_within(64, 64, 0), Ok(()));
    assert_eq!(&bytes[..12], &[0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]);
}
