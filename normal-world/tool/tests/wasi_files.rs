//! End to end: the secure side's WASI file functions (`tzwasm_aot_loader::wasi`, fds 3 and
//! up) against the tool's real file server (`tzwasm_tool::files::FileServer`) on temporary
//! directories, every request and reply passing through a real file channel
//! (`tzwasm_smc::files::Channel`) in a shared block, as in a run:
//!
//! 1. the module's call writes one request into the channel and is `Pending`, with no effect
//!    (the memory, the descriptor table and the host directory are unchanged);
//! 2. the tool reads the request, serves it and writes the reply;
//! 3. the same call is issued again and completes from the reply (the secure side checks the
//!    sequence number, the errno and the data length as `Channel::read_reply` does).
//!
//! The preopens reach the secure side's `FdTable` through the channel's preopen table too.
//! Calls the secure world must answer alone (rights, closed fds, escaping paths) are checked
//! to send no request at all.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tzwasm_aot_loader::wasi::files::{FdTable, FileAnswer, FileRequest};
use tzwasm_aot_loader::wasi::{call, rights, Errno, GuestMemory, WasiFunc, WasiHost, WasiOutcome};
use tzwasm_smc::files::{block_size, Channel, ChannelError, FileOp, Request, MAX_DATA};
use tzwasm_smc::shared::SharedRegion;
use tzwasm_tool::files::FileServer;

// WASI errnos the tests expect.
const SUCCESS: u16 = 0;
const EBADF: u16 = 8;
const EEXIST: u16 = 20;
const EILSEQ: u16 = 25;
const EINVAL: u16 = 28;
const EIO: u16 = 29;
const ELOOP: u16 = 32;
const ENOENT: u16 = 44;
const ENOTEMPTY: u16 = 55;
const ENOTCAPABLE: u16 = 76;

// WASI flags.
const O_CREAT: u64 = 1;
const O_DIRECTORY: u64 = 2;
const O_TRUNC: u64 = 8;
const FOLLOW: u64 = 1;
const WHENCE_SET: u64 = 0;
const WHENCE_CUR: u64 = 1;
const WHENCE_END: u64 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// The module's linear memory.
const MEM_SIZE: usize = 1 << 20;
/// Where the bump allocator of test data starts (below: scratch that no test uses).
const MEM_START: u32 = 1024;

/// The rights a read-write regular file is opened with.
const FILE_RW: u64 = rights::REGULAR_FILE_BASE;

// ---------------------------------------------------------------------------------------
// The shared block and the temporary directories.

/// One 64-byte line of the channel block (the block must be 64-aligned).
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

/// A zeroed block for a channel with the full data area.
fn block() -> Vec<Line> {
    vec![Line([0; 64]); block_size(MAX_DATA).div_ceil(64)]
}

/// The block as a shared region, borrowing it for the region's lifetime.
fn region(block: &mut [Line]) -> SharedRegion<'_> {
    let len = std::mem::size_of_val(block);
    // SAFETY: `block` is borrowed mutably for the whole lifetime of the region, so nothing
    // reaches those bytes through a Rust reference meanwhile; the two sides of the channel
    // (the tool and the secure host) use their copies on this one thread, in turn.
    unsafe { SharedRegion::new(block.as_mut_ptr().cast(), len) }.expect("a 64-aligned block")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system's temporary directory, removed on drop (symlinks in
/// it are removed, not followed).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tzwasm-wasi-files-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir` with its contents (directories as `None`), for "nothing changed".
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let meta = fs::symlink_metadata(&p).expect("metadata");
            let rel = p.strip_prefix(dir).expect("inside").to_path_buf();
            if meta.is_dir() {
                todo.push(p);
                all.insert(rel, None);
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&p).expect("link");
                all.insert(rel, Some(target.into_os_string().into_encoded_bytes()));
            } else {
                all.insert(rel, Some(fs::read(&p).expect("contents")));
            }
        }
    }
    all
}

// ---------------------------------------------------------------------------------------
// The tool: reads a request from the channel, serves it, writes the reply.

/// A way the tool's reply is made hostile (once).
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// The reply's values, those that are `Some`, replaced.
    Values([Option<u64>; 4]),
    /// The reply carries this many bytes more data than the server gave.
    ExtraData(usize),
    /// The reply echoes another sequence number.
    Seq,
    /// The reply's errno is not a WASI errno.
    Errno(u16),
}

struct Tool<'a> {
    channel: Channel<'a>,
    server: FileServer,
    /// The request, copied out of the channel.
    buf: Vec<u8>,
    /// The server's data for the reply.
    out: Vec<u8>,
    tamper: Option<Tamper>,
    /// Every op served, in order.
    served: Vec<FileOp>,
}

impl Tool<'_> {
    /// One turn of the tool while the run is paused with a request.
    fn turn(&mut self) {
        let req = self
            .channel
            .read_request(&mut self.buf)
            .expect("a well-formed request");
        let answer = self.server.serve(&req, &mut self.out);
        assert!(answer.len <= self.out.len());
        let mut reply = answer.reply(req.seq, &self.out);
        match self.tamper.take() {
            None => {}
            Some(Tamper::Values(v)) => {
                for (slot, new) in reply.values.iter_mut().zip(v) {
                    if let Some(new) = new {
                        *slot = new;
                    }
                }
            }
            Some(Tamper::ExtraData(n)) => reply.data = &self.out[..answer.len + n],
            Some(Tamper::Seq) => reply.seq = req.seq.wrapping_add(1),
            Some(Tamper::Errno(e)) => reply.errno = e,
        }
        self.served.push(req.op);
        assert!(self.channel.write_reply(&reply), "the reply fits");
    }
}

// ---------------------------------------------------------------------------------------
// The secure side's host: the descriptor table and the channel, as the firmware would use
// them.

/// The request a pending call sent, owned, to check that the re-issued call asks the same.
#[derive(Debug, PartialEq, Eq)]
struct Sent {
    op: FileOp,
    args: [u64; 6],
    path: Vec<u8>,
    path2: Vec<u8>,
    data: Vec<u8>,
}

impl Sent {
    fn of(req: &FileRequest<'_>) -> Self {
        Sent {
            op: req.op,
            args: req.args,
            path: req.path.to_vec(),
            path2: req.path2.to_vec(),
            data: req.data.to_vec(),
        }
    }
}

struct SecureHost<'a> {
    table: FdTable,
    channel: Channel<'a>,
    seq: u64,
    /// The request in the channel, waiting for its reply.
    sent: Option<(u64, Sent)>,
    /// Requests sent so far.
    requests: usize,
    /// Replies `Channel::read_reply` refused (each became `EIO`).
    refused: Vec<ChannelError>,
    /// Once: the answer claims this many bytes more than the call's buffer holds.
    lie_len: Option<usize>,
}

impl WasiHost for SecureHost<'_> {
    fn write(&mut self, _fd: u32, _bytes: &[u8]) -> Result<(), Errno> {
        Ok(())
    }
    fn clock_time_ns(&mut self, _: u32) -> Option<u64> {
        None
    }
    fn clock_res_ns(&mut self, _: u32) -> Option<u64> {
        None
    }
    fn random(&mut self, _: &mut [u8]) -> Result<(), Errno> {
        Ok(())
    }
    fn args(&self) -> &[&[u8]] {
        &[]
    }
    fn environ(&self) -> &[&[u8]] {
        &[]
    }
    fn files(&mut self) -> Option<&mut FdTable> {
        Some(&mut self.table)
    }
    fn file_capacity(&self) -> usize {
        self.channel.capacity()
    }

    fn file(&mut self, req: &FileRequest<'_>, out: &mut [u8]) -> Option<FileAnswer> {
        let Some((seq, sent)) = self.sent.take() else {
            // First time: the request goes out and the run pauses.
            self.seq += 1;
            let wire = Request {
                seq: self.seq,
                op: req.op,
                args: req.args,
                path: req.path,
                path2: req.path2,
                data: req.data,
            };
            assert!(
                self.channel.write_request(&wire),
                "a request larger than the channel: {req:?}"
            );
            self.sent = Some((self.seq, Sent::of(req)));
            self.requests += 1;
            return None;
        };
        // The call issued again: it must ask exactly what it sent.
        assert_eq!(Sent::of(req), sent, "the re-issued call asks the same");
        let mut answer = match self.channel.read_reply(seq, out.len(), out) {
            Ok(reply) => FileAnswer {
                errno: Errno(reply.errno),
                values: reply.values,
                len: reply.data.len(),
            },
            Err(e) => {
                self.refused.push(e);
                FileAnswer {
                    errno: Errno::IO,
                    values: [0; 4],
                    len: 0,
                }
            }
        };
        if let Some(extra) = self.lie_len.take() {
            answer.len = out.len().saturating_add(extra);
        }
        Some(answer)
    }
}

// ---------------------------------------------------------------------------------------
// The world: a module's memory, the secure host, the tool and the directories.

struct World<'a> {
    mem: Vec<u8>,
    top: u32,
    host: SecureHost<'a>,
    tool: Tool<'a>,
    /// Granted as "data" (fd 3).
    root: PathBuf,
    /// Granted as "other" (fd 4).
    root2: PathBuf,
    /// Not granted; holds `secret.txt`.
    outside: PathBuf,
    tmp: TempDir,
}

/// Runs `f` with a fresh world: "data" (fd 3) and "other" (fd 4) granted, "outside" not.
fn with_world(f: impl FnOnce(&mut World<'_>)) {
    let mut b = block();
    let mem = region(&mut b);
    let tmp = TempDir::new();
    let (root, root2, outside) = (
        tmp.0.join("root"),
        tmp.0.join("root2"),
        tmp.0.join("outside"),
    );
    for d in [&root, &root2, &outside] {
        fs::create_dir(d).expect("mkdir");
    }
    fs::write(outside.join("secret.txt"), b"secret").expect("secret");
    let dirs = [("data", root.clone()), ("other", root2.clone())];
    let (server, preopens) = FileServer::new(&dirs).expect("file server (needs openat2)");
    // The tool formats the block with the preopen table, before RUN.
    let tool_channel = Channel::format(mem, &preopens).expect("format");
    // The secure world attaches and copies the preopens into its descriptor table, once.
    let secure = Channel::attach(mem).expect("attach");
    let mut buf = vec![0u8; secure.capacity()];
    let mut table = FdTable::new();
    let n = secure
        .read_preopens(&mut buf, |p| {
            table
                .add_preopen(
                    p.handle,
                    p.name,
                    rights::DIRECTORY_BASE,
                    rights::DIRECTORY_INHERITING,
                )
                .expect("preopen");
        })
        .expect("preopens");
    assert_eq!(n, 2);
    let capacity = tool_channel.capacity();
    let mut w = World {
        mem: vec![0; MEM_SIZE],
        top: MEM_START,
        host: SecureHost {
            table,
            channel: secure,
            seq: 0,
            sent: None,
            requests: 0,
            refused: Vec::new(),
            lie_len: None,
        },
        tool: Tool {
            channel: tool_channel,
            server,
            buf: vec![0; capacity],
            out: vec![0; capacity],
            tamper: None,
            served: Vec::new(),
        },
        root,
        root2,
        outside,
        tmp,
    };
    f(&mut w);
    assert!(w.host.sent.is_none(), "no request left without its reply");
}

impl World<'_> {
    // ---- memory ----

    /// Room for `n` bytes (8-aligned), zeroed.
    fn alloc(&mut self, n: usize) -> u32 {
        let at = self.top;
        let end = at as usize + n;
        assert!(end <= MEM_SIZE, "test memory exhausted");
        self.mem[at as usize..end].fill(0);
        self.top = u32::try_from(end.next_multiple_of(8)).expect("fits");
        at
    }

    /// `bytes` copied into memory; their address.
    fn put(&mut self, bytes: &[u8]) -> u32 {
        let at = self.alloc(bytes.len());
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        at
    }

    /// A path argument pair (address, length).
    fn path(&mut self, p: &[u8]) -> [u64; 2] {
        [u64::from(self.put(p)), p.len() as u64]
    }

    /// An iovec array of `bufs` (address, length) pairs.
    fn iovs(&mut self, bufs: &[(u32, u32)]) -> u32 {
        let mut rec = Vec::new();
        for (b, l) in bufs {
            rec.extend_from_slice(&b.to_le_bytes());
            rec.extend_from_slice(&l.to_le_bytes());
        }
        self.put(&rec)
    }

    fn u32_at(&self, at: u32) -> u32 {
        let at = at as usize;
        u32::from_le_bytes(self.mem[at..at + 4].try_into().expect("4 bytes"))
    }

    fn u64_at(&self, at: u32) -> u64 {
        let at = at as usize;
        u64::from_le_bytes(self.mem[at..at + 8].try_into().expect("8 bytes"))
    }

    fn bytes(&self, at: u32, n: usize) -> &[u8] {
        &self.mem[at as usize..at as usize + n]
    }

    /// `name` in the temporary directory that holds the granted ones.
    fn tmp_path(&self, name: &str) -> PathBuf {
        self.tmp.0.join(name)
    }

    // ---- calls ----

    fn call_once(&mut self, f: WasiFunc, args: &[u64]) -> WasiOutcome {
        let mut mem = GuestMemory::from_slice(&mut self.mem);
        call(f, &mut mem, &mut self.host, args)
    }

    /// The first issue of a call: `Some(errno)` if the secure world answered alone (no
    /// request sent), `None` if it is pending with a request in the channel and no effect.
    fn begin(&mut self, f: WasiFunc, args: &[u64]) -> Option<u16> {
        let before = self.mem.clone();
        let (requests, open) = (self.host.requests, self.host.table.open_count());
        match self.call_once(f, args) {
            WasiOutcome::Return(e) => {
                assert_eq!(self.host.requests, requests, "{f:?}: answered, yet sent");
                Some(u16::try_from(e).expect("an errno"))
            }
            WasiOutcome::Pending => {
                assert_eq!(self.host.requests, requests + 1, "{f:?}: one request");
                assert!(self.host.sent.is_some());
                assert!(self.mem == before, "{f:?}: a pending call wrote memory");
                assert_eq!(self.host.table.open_count(), open, "{f:?}: table changed");
                None
            }
            other => panic!("{f:?}: {other:?}"),
        }
    }

    /// The tool serves the pending request, then the same call is issued again and completes.
    fn finish(&mut self, f: WasiFunc, args: &[u64]) -> u16 {
        let served = self.tool.served.len();
        self.tool.turn();
        assert_eq!(self.tool.served.len(), served + 1);
        let requests = self.host.requests;
        match self.call_once(f, args) {
            WasiOutcome::Return(e) => {
                assert!(self.host.sent.is_none(), "{f:?}: the reply was not used");
                assert_eq!(self.host.requests, requests, "{f:?}: a second request");
                u16::try_from(e).expect("an errno")
            }
            other => panic!("{f:?} issued again: {other:?}"),
        }
    }

    /// A call that must go to the tool: pending first, then its errno.
    fn served(&mut self, f: WasiFunc, args: &[u64]) -> u16 {
        if let Some(e) = self.begin(f, args) {
            panic!("{f:?} {args:?}: answered {e} without asking the tool");
        }
        self.finish(f, args)
    }

    /// A call the secure world must answer alone: its errno.
    fn local(&mut self, f: WasiFunc, args: &[u64]) -> u16 {
        match self.begin(f, args) {
            Some(e) => e,
            None => panic!("{f:?} {args:?}: sent a request to the tool"),
        }
    }

    // ---- WASI calls ----

    /// `path_open`'s arguments and the address of `fd_out`.
    #[allow(clippy::too_many_arguments)]
    fn open_args(
        &mut self,
        dir: u32,
        path: &[u8],
        lookup: u64,
        oflags: u64,
        base: u64,
        inheriting: u64,
        fdflags: u64,
    ) -> (Vec<u64>, u32) {
        let [p, l] = self.path(path);
        let out = self.alloc(4);
        let args = vec![
            u64::from(dir),
            lookup,
            p,
            l,
            oflags,
            base,
            inheriting,
            fdflags,
            u64::from(out),
        ];
        (args, out)
    }

    /// `path_open` through the tool: the new fd or the errno.
    fn open(
        &mut self,
        dir: u32,
        path: &str,
        lookup: u64,
        oflags: u64,
        base: u64,
    ) -> Result<u32, u16> {
        let (args, out) = self.open_args(dir, path.as_bytes(), lookup, oflags, base, 0, 0);
        match self.served(WasiFunc::PathOpen, &args) {
            SUCCESS => Ok(self.u32_at(out)),
            e => Err(e),
        }
    }

    /// `fd_write` (or `fd_pwrite` at `offset`) of `data` in one iovec: bytes written.
    fn write(&mut self, fd: u32, data: &[u8], offset: Option<u64>) -> Result<u32, u16> {
        let buf = self.put(data);
        let iov = self.iovs(&[(buf, data.len() as u32)]);
        let out = self.alloc(4);
        let (f, args) = match offset {
            None => (
                WasiFunc::FdWrite,
                vec![fd.into(), iov.into(), 1, out.into()],
            ),
            Some(o) => (
                WasiFunc::FdPwrite,
                vec![fd.into(), iov.into(), 1, o, out.into()],
            ),
        };
        match self.served(f, &args) {
            SUCCESS => Ok(self.u32_at(out)),
            e => Err(e),
        }
    }

    /// `fd_read` (or `fd_pread` at `offset`) into one iovec of `len` bytes: the bytes read.
    fn read(&mut self, fd: u32, len: usize, offset: Option<u64>) -> Result<Vec<u8>, u16> {
        let buf = self.alloc(len);
        let iov = self.iovs(&[(buf, len as u32)]);
        let out = self.alloc(4);
        let (f, args) = match offset {
            None => (WasiFunc::FdRead, vec![fd.into(), iov.into(), 1, out.into()]),
            Some(o) => (
                WasiFunc::FdPread,
                vec![fd.into(), iov.into(), 1, o, out.into()],
            ),
        };
        match self.served(f, &args) {
            SUCCESS => {
                let n = self.u32_at(out) as usize;
                assert!(n <= len);
                Ok(self.bytes(buf, n).to_vec())
            }
            e => Err(e),
        }
    }

    /// `fd_seek`: the new offset.
    fn seek(&mut self, fd: u32, offset: i64, whence: u64) -> Result<u64, u16> {
        let out = self.alloc(8);
        let args = [fd.into(), offset as u64, whence, out.into()];
        match self.served(WasiFunc::FdSeek, &args) {
            SUCCESS => Ok(self.u64_at(out)),
            e => Err(e),
        }
    }

    /// `fd_tell`.
    fn tell(&mut self, fd: u32) -> Result<u64, u16> {
        let out = self.alloc(8);
        match self.served(WasiFunc::FdTell, &[fd.into(), out.into()]) {
            SUCCESS => Ok(self.u64_at(out)),
            e => Err(e),
        }
    }

    fn close(&mut self, fd: u32) -> u16 {
        self.served(WasiFunc::FdClose, &[fd.into()])
    }

    /// A path call of the form `f(fd, path, path_len)`.
    fn path_call(&mut self, f: WasiFunc, fd: u32, path: &str) -> u16 {
        let [p, l] = self.path(path.as_bytes());
        self.served(f, &[fd.into(), p, l])
    }

    fn rename(&mut self, fd: u32, old: &str, new_fd: u32, new: &str) -> u16 {
        let [p1, l1] = self.path(old.as_bytes());
        let [p2, l2] = self.path(new.as_bytes());
        self.served(
            WasiFunc::PathRename,
            &[fd.into(), p1, l1, new_fd.into(), p2, l2],
        )
    }

    /// `path_filestat_get`: the 64-byte filestat.
    fn path_stat(&mut self, fd: u32, lookup: u64, path: &str) -> Result<Filestat, u16> {
        let [p, l] = self.path(path.as_bytes());
        let out = self.alloc(64);
        match self.served(
            WasiFunc::PathFilestatGet,
            &[fd.into(), lookup, p, l, out.into()],
        ) {
            SUCCESS => Ok(Filestat::parse(self.bytes(out, 64))),
            e => Err(e),
        }
    }

    /// `fd_filestat_get`.
    fn fd_stat(&mut self, fd: u32) -> Result<Filestat, u16> {
        let out = self.alloc(64);
        match self.served(WasiFunc::FdFilestatGet, &[fd.into(), out.into()]) {
            SUCCESS => Ok(Filestat::parse(self.bytes(out, 64))),
            e => Err(e),
        }
    }

    /// `fd_readdir` into a buffer of `len` bytes from `cookie`: the bytes it filled.
    fn readdir(&mut self, fd: u32, len: usize, cookie: u64) -> Result<Vec<u8>, u16> {
        let buf = self.alloc(len);
        let out = self.alloc(4);
        let args = [fd.into(), buf.into(), len as u64, cookie, out.into()];
        match self.served(WasiFunc::FdReaddir, &args) {
            SUCCESS => {
                let n = self.u32_at(out) as usize;
                assert!(n <= len, "bufused {n} > {len}");
                Ok(self.bytes(buf, n).to_vec())
            }
            e => Err(e),
        }
    }

    /// `fd_fdstat_get` (never leaves the secure world): (filetype, rights base, inheriting).
    fn fdstat(&mut self, fd: u32) -> Result<(u8, u64, u64), u16> {
        let out = self.alloc(24);
        match self.local(WasiFunc::FdFdstatGet, &[fd.into(), out.into()]) {
            SUCCESS => Ok((
                self.mem[out as usize],
                self.u64_at(out + 8),
                self.u64_at(out + 16),
            )),
            e => Err(e),
        }
    }

    /// Creates `path` through WASI with `contents`, and closes it.
    fn create(&mut self, dir: u32, path: &str, contents: &[u8]) {
        let fd = self
            .open(dir, path, 0, O_CREAT | O_TRUNC, FILE_RW)
            .expect("create");
        if !contents.is_empty() {
            assert_eq!(self.write(fd, contents, None), Ok(contents.len() as u32));
        }
        assert_eq!(self.close(fd), SUCCESS);
    }
}

/// A preview1 filestat.
#[derive(Debug)]
struct Filestat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    mtim: u64,
}

impl Filestat {
    fn parse(b: &[u8]) -> Self {
        let w = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        Filestat {
            dev: w(0),
            ino: w(8),
            filetype: b[16],
            nlink: w(24),
            size: w(32),
            mtim: w(48),
        }
    }
}

/// One dirent record: (d_next, d_ino, d_type, name).
type Dirent = (u64, u64, u8, Vec<u8>);

/// The complete records of an `fd_readdir` buffer (a record cut at the end is dropped).
fn dirents(buf: &[u8]) -> Vec<Dirent> {
    let mut all = Vec::new();
    let mut at = 0usize;
    while at + 24 <= buf.len() {
        let w = |o: usize| u64::from_le_bytes(buf[at + o..at + o + 8].try_into().expect("8"));
        let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().expect("4")) as usize;
        let Some(name) = buf.get(at + 24..at + 24 + namlen) else {
            break;
        };
        all.push((w(0), w(8), buf[at + 20], name.to_vec()));
        at += 24 + namlen;
    }
    all
}

fn name_set(list: &[Dirent]) -> BTreeMap<String, (u64, u8)> {
    list.iter()
        .map(|(_, ino, t, n)| (String::from_utf8(n.clone()).expect("utf-8"), (*ino, *t)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn preopens_reach_the_module_through_the_channel() {
    with_world(|w| {
        for (fd, name) in [(3u32, &b"data"[..]), (4, b"other")] {
            let out = w.alloc(8);
            assert_eq!(
                w.local(WasiFunc::FdPrestatGet, &[fd.into(), out.into()]),
                SUCCESS
            );
            assert_eq!(
                (w.mem[out as usize], w.u32_at(out + 4)),
                (0, name.len() as u32)
            );
            let buf = w.alloc(16);
            let args = [fd.into(), buf.into(), 16];
            assert_eq!(w.local(WasiFunc::FdPrestatDirName, &args), SUCCESS);
            assert_eq!(w.bytes(buf, name.len()), name);
            assert_eq!(
                w.fdstat(fd),
                Ok((
                    FILETYPE_DIRECTORY,
                    rights::DIRECTORY_BASE,
                    rights::DIRECTORY_INHERITING
                ))
            );
        }
        let out = w.alloc(8);
        assert_eq!(w.local(WasiFunc::FdPrestatGet, &[5, out.into()]), EBADF);
    });
}

#[test]
fn create_write_seek_read_round_trip() {
    with_world(|w| {
        let host_file = w.root.join("hello.txt");
        let (args, out) = w.open_args(3, b"hello.txt", 0, O_CREAT, FILE_RW, 0, 0);
        assert_eq!(w.begin(WasiFunc::PathOpen, &args), None);
        assert!(!host_file.exists(), "a pending open created nothing yet");
        assert_eq!(w.finish(WasiFunc::PathOpen, &args), SUCCESS);
        let fd = w.u32_at(out);
        assert_eq!(fd, 5, "the lowest free fd after the preopens");
        assert!(host_file.is_file());
        assert_eq!(w.fdstat(fd), Ok((FILETYPE_REGULAR_FILE, FILE_RW, 0)));

        let text = b"Hello, secure world!";
        // Pending: nothing reaches the file until the tool serves the request.
        let buf = w.put(text);
        let iov = w.iovs(&[(buf, text.len() as u32)]);
        let nw = w.alloc(4);
        let args = [fd.into(), iov.into(), 1, nw.into()];
        assert_eq!(w.begin(WasiFunc::FdWrite, &args), None);
        assert_eq!(fs::read(&host_file).unwrap(), b"");
        assert_eq!(w.finish(WasiFunc::FdWrite, &args), SUCCESS);
        assert_eq!(w.u32_at(nw), text.len() as u32);
        assert_eq!(fs::read(&host_file).unwrap(), text);

        assert_eq!(w.tell(fd), Ok(20));
        assert_eq!(w.read(fd, 64, None), Ok(vec![]), "at the end of the file");
        assert_eq!(w.seek(fd, 0, WHENCE_SET), Ok(0));
        assert_eq!(w.read(fd, 64, None), Ok(text.to_vec()));
        assert_eq!(w.seek(fd, -6, WHENCE_END), Ok(14));
        assert_eq!(w.read(fd, 64, None), Ok(b"world!".to_vec()));
        assert_eq!(w.seek(fd, -13, WHENCE_CUR), Ok(7));
        assert_eq!(w.read(fd, 6, None), Ok(b"secure".to_vec()));
        assert_eq!(w.seek(fd, -100, WHENCE_CUR), Err(EINVAL));

        // Several iovecs: one request moves the first non-empty one (a short write).
        assert_eq!(w.seek(fd, 0, WHENCE_END), Ok(20));
        let (a, b) = (w.put(b"+one"), w.put(b"+two"));
        let iov = w.iovs(&[(a, 0), (a, 4), (b, 4)]);
        let nw = w.alloc(4);
        let args = [fd.into(), iov.into(), 3, nw.into()];
        assert_eq!(w.served(WasiFunc::FdWrite, &args), SUCCESS);
        assert_eq!(w.u32_at(nw), 4);
        assert_eq!(fs::read(&host_file).unwrap(), b"Hello, secure world!+one");

        let st = w.fd_stat(fd).unwrap();
        let meta = fs::metadata(&host_file).unwrap();
        assert_eq!((st.filetype, st.size), (FILETYPE_REGULAR_FILE, 24));
        assert_eq!((st.ino, st.dev), (meta.ino(), meta.dev()));
        assert_eq!(w.close(fd), SUCCESS);
        assert_eq!(fs::read(&host_file).unwrap(), b"Hello, secure world!+one");
        assert_eq!(
            w.tool.served,
            [
                FileOp::Open,
                FileOp::Write,
                FileOp::Seek,
                FileOp::Read,
                FileOp::Seek,
                FileOp::Read,
                FileOp::Seek,
                FileOp::Read,
                FileOp::Seek,
                FileOp::Read,
                FileOp::Seek,
                FileOp::Seek,
                FileOp::Write,
                FileOp::Filestat,
                FileOp::Close,
            ]
        );
    });
}

#[test]
fn pread_and_pwrite_at_offsets() {
    with_world(|w| {
        let host_file = w.root.join("digits");
        fs::write(&host_file, b"0123456789").unwrap();
        let fd = w.open(3, "digits", 0, 0, FILE_RW).unwrap();
        assert_eq!(w.write(fd, b"ABC", Some(3)), Ok(3));
        assert_eq!(fs::read(&host_file).unwrap(), b"012ABC6789");
        assert_eq!(w.write(fd, b"Z", Some(12)), Ok(1));
        assert_eq!(fs::read(&host_file).unwrap(), b"012ABC6789\0\0Z");
        assert_eq!(w.read(fd, 4, Some(2)), Ok(b"2ABC".to_vec()));
        assert_eq!(w.read(fd, 100, Some(9)), Ok(b"9\0\0Z".to_vec()));
        assert_eq!(w.read(fd, 8, Some(100)), Ok(vec![]), "past the end");
        // Neither moved the file position.
        assert_eq!(w.tell(fd), Ok(0));
        assert_eq!(w.read(fd, 3, None), Ok(b"012".to_vec()));
        // A negative offset (as i64) is refused by the tool.
        assert_eq!(w.read(fd, 4, Some(u64::MAX)), Err(EINVAL));
        // fd_pread with no iovec at all: EINVAL in the secure world.
        let out = w.alloc(4);
        let args = [fd.into(), out.into(), 0, 0, out.into()];
        assert_eq!(w.local(WasiFunc::FdPread, &args), EINVAL);
        assert_eq!(w.close(fd), SUCCESS);
    });
}

#[test]
fn reads_and_writes_move_at_most_one_channel_load() {
    with_world(|w| {
        let cap = w.host.channel.capacity();
        assert_eq!(cap, MAX_DATA);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let fd = w.open(3, "big", 0, O_CREAT, FILE_RW).unwrap();
        let first = w.write(fd, &data, None).unwrap() as usize;
        assert_eq!(first, cap, "a short write of one channel load");
        let second = w.write(fd, &data[first..], None).unwrap() as usize;
        assert_eq!(first + second, data.len());
        assert_eq!(fs::read(w.root.join("big")).unwrap(), data);
        assert_eq!(w.seek(fd, 0, WHENCE_SET), Ok(0));
        let a = w.read(fd, data.len(), None).unwrap();
        assert_eq!(a.len(), cap, "a short read of one channel load");
        let b = w.read(fd, data.len(), None).unwrap();
        assert_eq!([a, b].concat(), data);
        assert_eq!(w.close(fd), SUCCESS);
    });
}

#[test]
fn readdir_lists_created_names() {
    with_world(|w| {
        w.create(3, "alpha.txt", b"a");
        w.create(3, "beta", b"");
        assert_eq!(
            w.path_call(WasiFunc::PathCreateDirectory, 3, "gamma"),
            SUCCESS
        );
        let all = w.readdir(3, 4096, 0).unwrap();
        let list = dirents(&all);
        assert!(all.len() < 4096, "everything fit");
        assert_eq!(
            list.iter().map(|d| 24 + d.3.len()).sum::<usize>(),
            all.len(),
            "records back to back"
        );
        let names = name_set(&list);
        assert_eq!(
            names.keys().map(String::as_str).collect::<Vec<_>>(),
            [".", "..", "alpha.txt", "beta", "gamma"]
        );
        for (name, t) in [
            ("alpha.txt", FILETYPE_REGULAR_FILE),
            ("beta", FILETYPE_REGULAR_FILE),
            ("gamma", FILETYPE_DIRECTORY),
        ] {
            let ino = fs::metadata(w.root.join(name)).unwrap().ino();
            assert_eq!(names[name], (ino, t), "{name}");
        }
        assert_eq!(names["."].1, FILETYPE_DIRECTORY);

        // Page through with a buffer that holds one record and part of the next, resuming
        // from the last whole record's d_next, as wasi-libc does.
        let (mut paged, mut cookie, mut calls) = (Vec::new(), 0u64, 0);
        loop {
            let got = w.readdir(3, 48, cookie).unwrap();
            calls += 1;
            let whole = dirents(&got);
            if got.len() < 48 {
                paged.extend(whole);
                break;
            }
            assert_eq!(whole.len(), 1, "one whole record in 48 bytes");
            cookie = whole[0].0;
            paged.extend(whole);
            assert!(calls < 20, "the listing ends");
        }
        assert_eq!(name_set(&paged), names);
        assert_eq!(paged.len(), 5, "no record twice");

        // The other preopen is empty; a directory opened through the first lists its own.
        let names = name_set(&dirents(&w.readdir(4, 4096, 0).unwrap()));
        assert_eq!(
            names.keys().map(String::as_str).collect::<Vec<_>>(),
            [".", ".."]
        );
        let (args, out) = w.open_args(
            3,
            b"gamma",
            0,
            O_DIRECTORY,
            rights::DIRECTORY_BASE,
            rights::DIRECTORY_INHERITING,
            0,
        );
        assert_eq!(w.served(WasiFunc::PathOpen, &args), SUCCESS);
        let dir = w.u32_at(out);
        assert_eq!(w.fdstat(dir).map(|s| s.0), Ok(FILETYPE_DIRECTORY));
        w.create(dir, "inner.txt", b"in");
        assert_eq!(fs::read(w.root.join("gamma/inner.txt")).unwrap(), b"in");
        let names = name_set(&dirents(&w.readdir(dir, 4096, 0).unwrap()));
        assert_eq!(
            names.keys().map(String::as_str).collect::<Vec<_>>(),
            [".", "..", "inner.txt"]
        );
        // A file has no fd_readdir right.
        let f = w.open(3, "alpha.txt", 0, 0, FILE_RW).unwrap();
        let buf = w.alloc(64);
        let args = [f.into(), buf.into(), 64, 0, buf.into()];
        assert_eq!(w.local(WasiFunc::FdReaddir, &args), ENOTCAPABLE);
        assert_eq!(w.close(f), SUCCESS);
        assert_eq!(w.close(dir), SUCCESS);
    });
}

#[test]
fn path_filestat_get_reports_size_and_type() {
    with_world(|w| {
        let data = vec![7u8; 1234];
        fs::write(w.root.join("f.bin"), &data).unwrap();
        fs::create_dir(w.root.join("sub")).unwrap();
        symlink("f.bin", w.root.join("ln")).unwrap();
        let meta = fs::metadata(w.root.join("f.bin")).unwrap();

        let st = w.path_stat(3, 0, "f.bin").unwrap();
        assert_eq!(
            (st.filetype, st.size, st.nlink),
            (FILETYPE_REGULAR_FILE, 1234, 1)
        );
        assert_eq!((st.ino, st.dev), (meta.ino(), meta.dev()));
        let mtim = meta.mtime() as u64 * 1_000_000_000 + meta.mtime_nsec() as u64;
        assert_eq!(st.mtim, mtim);
        let st = w.path_stat(3, 0, "sub/./../f.bin").unwrap();
        assert_eq!((st.ino, st.size), (meta.ino(), 1234), "resolved lexically");
        assert_eq!(
            w.path_stat(3, 0, "sub").unwrap().filetype,
            FILETYPE_DIRECTORY
        );
        assert_eq!(w.path_stat(3, 0, ".").unwrap().filetype, FILETYPE_DIRECTORY);
        let st = w.path_stat(3, 0, "ln").unwrap();
        assert_eq!(st.filetype, FILETYPE_SYMBOLIC_LINK, "not followed");
        let st = w.path_stat(3, FOLLOW, "ln").unwrap();
        assert_eq!((st.filetype, st.ino), (FILETYPE_REGULAR_FILE, meta.ino()));
        assert_eq!(w.path_stat(3, 0, "missing").unwrap_err(), ENOENT);
        assert_eq!(w.path_stat(3, 0, "f.bin/").unwrap_err(), 54, "ENOTDIR");
    });
}

#[test]
fn rename_unlink_mkdir_rmdir_show_on_host() {
    with_world(|w| {
        let d1 = w.root.join("d1");
        let [p, l] = w.path(b"d1");
        let args = [3, p, l];
        assert_eq!(w.begin(WasiFunc::PathCreateDirectory, &args), None);
        assert!(!d1.exists(), "a pending mkdir did nothing yet");
        assert_eq!(w.finish(WasiFunc::PathCreateDirectory, &args), SUCCESS);
        assert!(d1.is_dir());
        assert_eq!(w.path_call(WasiFunc::PathCreateDirectory, 3, "d1"), EEXIST);
        assert_eq!(
            w.path_call(WasiFunc::PathCreateDirectory, 3, "d1/d2/"),
            SUCCESS
        );
        assert!(d1.join("d2").is_dir());

        fs::write(d1.join("x.txt"), b"payload").unwrap();
        assert_eq!(w.rename(3, "d1/x.txt", 3, "y.txt"), SUCCESS);
        assert!(!d1.join("x.txt").exists());
        assert_eq!(fs::read(w.root.join("y.txt")).unwrap(), b"payload");
        // Across preopens.
        assert_eq!(w.rename(3, "y.txt", 4, "moved.txt"), SUCCESS);
        assert!(!w.root.join("y.txt").exists());
        assert_eq!(fs::read(w.root2.join("moved.txt")).unwrap(), b"payload");
        assert_eq!(w.rename(3, "y.txt", 4, "again.txt"), ENOENT);

        assert_eq!(
            w.path_call(WasiFunc::PathUnlinkFile, 4, "moved.txt"),
            SUCCESS
        );
        assert!(!w.root2.join("moved.txt").exists());
        assert_eq!(
            w.path_call(WasiFunc::PathUnlinkFile, 4, "moved.txt"),
            ENOENT
        );

        assert_eq!(
            w.path_call(WasiFunc::PathRemoveDirectory, 3, "d1"),
            ENOTEMPTY
        );
        assert!(d1.is_dir());
        assert_eq!(
            w.path_call(WasiFunc::PathRemoveDirectory, 3, "d1/d2"),
            SUCCESS
        );
        assert!(!d1.join("d2").exists());
        assert_eq!(w.path_call(WasiFunc::PathRemoveDirectory, 3, "d1"), SUCCESS);
        assert!(!d1.exists());
        assert_eq!(fs::read_dir(&w.root).unwrap().count(), 0);
        assert_eq!(fs::read_dir(&w.root2).unwrap().count(), 0);
    });
}

#[test]
fn escapes_are_refused_before_any_request() {
    with_world(|w| {
        fs::write(w.root.join("a"), b"inside").unwrap();
        let before = (snapshot(&w.root), snapshot(&w.outside), snapshot(&w.root2));
        let abs = w.outside.join("secret.txt");
        let abs = abs.to_str().unwrap();
        let escapes = [
            "../x",
            "..",
            "a/../../x",
            "../outside/secret.txt",
            "./../x",
            abs,
        ];
        for path in escapes {
            let p = path.as_bytes();
            for (oflags, base) in [(O_CREAT | O_TRUNC, FILE_RW), (0, rights::FD_READ)] {
                let (args, out) = w.open_args(3, p, FOLLOW, oflags, base, 0, 0);
                assert_eq!(w.local(WasiFunc::PathOpen, &args), ENOTCAPABLE, "{path}");
                assert_eq!(w.u32_at(out), 0, "no fd written");
            }
            for f in [
                WasiFunc::PathCreateDirectory,
                WasiFunc::PathRemoveDirectory,
                WasiFunc::PathUnlinkFile,
            ] {
                let [a, l] = w.path(p);
                assert_eq!(w.local(f, &[3, a, l]), ENOTCAPABLE, "{f:?} {path}");
            }
            let [a, l] = w.path(p);
            let out = w.alloc(64);
            let args = [3, FOLLOW, a, l, out.into()];
            assert_eq!(
                w.local(WasiFunc::PathFilestatGet, &args),
                ENOTCAPABLE,
                "{path}"
            );
            let [ok, ok_len] = w.path(b"a");
            for args in [[3, a, l, 4, ok, ok_len], [3, ok, ok_len, 4, a, l]] {
                assert_eq!(w.local(WasiFunc::PathRename, &args), ENOTCAPABLE, "{path}");
            }
        }
        // /etc/passwd only with read-only calls.
        let (args, _) = w.open_args(3, b"/etc/passwd", 0, 0, rights::FD_READ, 0, 0);
        assert_eq!(w.local(WasiFunc::PathOpen, &args), ENOTCAPABLE);
        let [a, l] = w.path(b"/etc/passwd");
        let out = w.alloc(64);
        assert_eq!(
            w.local(WasiFunc::PathFilestatGet, &[3, 0, a, l, out.into()]),
            ENOTCAPABLE
        );
        // A NUL anywhere in a path: EILSEQ, before any request.
        for path in [&b"a\0b"[..], b"\0", b"a\0", b"../\0"] {
            let (args, _) = w.open_args(3, path, 0, O_CREAT, FILE_RW, 0, 0);
            assert_eq!(w.local(WasiFunc::PathOpen, &args), EILSEQ, "{path:?}");
            let [a, l] = w.path(path);
            assert_eq!(w.local(WasiFunc::PathCreateDirectory, &[3, a, l]), EILSEQ);
        }
        // An empty path: ENOENT, also without a request.
        let (args, _) = w.open_args(3, b"", 0, O_CREAT, FILE_RW, 0, 0);
        assert_eq!(w.local(WasiFunc::PathOpen, &args), ENOENT);
        assert_eq!(w.host.requests, 0, "the tool never saw one of them");
        assert!(w.tool.served.is_empty());
        assert_eq!(
            (snapshot(&w.root), snapshot(&w.outside), snapshot(&w.root2)),
            before
        );
        // "a/../b" stays inside: it is served, as "b".
        w.create(3, "a/../b", b"b");
        assert_eq!(fs::read(w.root.join("b")).unwrap(), b"b");
    });
}

#[test]
fn symlinks_out_of_the_directory_are_not_followed_out() {
    with_world(|w| {
        let secret = w.outside.join("secret.txt");
        symlink(&secret, w.root.join("abs")).unwrap();
        symlink("../outside/secret.txt", w.root.join("rel")).unwrap();
        symlink("../outside/new.txt", w.root.join("dangling")).unwrap();
        symlink(&w.outside, w.root.join("dirlink")).unwrap();
        symlink("..", w.root.join("up")).unwrap();
        fs::create_dir(w.root.join("sub")).unwrap();
        fs::write(w.root.join("sub/file.txt"), b"inside").unwrap();
        symlink("sub/file.txt", w.root.join("inner")).unwrap();
        let outside = snapshot(&w.outside);

        // Followed out of the directory: refused by the tool (openat2 RESOLVE_BENEATH).
        for path in ["abs", "rel", "dirlink/secret.txt", "up/outside/secret.txt"] {
            for (oflags, base) in [(O_TRUNC, FILE_RW), (0, rights::FD_READ)] {
                let got = w.open(3, path, FOLLOW, oflags, base);
                assert_eq!(got, Err(ENOTCAPABLE), "{path} {oflags}");
            }
            assert_eq!(
                w.path_stat(3, FOLLOW, path).unwrap_err(),
                ENOTCAPABLE,
                "{path}"
            );
        }
        let got = w.open(3, "dangling", FOLLOW, O_CREAT, FILE_RW);
        assert_eq!(
            got,
            Err(ENOTCAPABLE),
            "no file created through a dangling link"
        );
        // Without following, the link itself is what the call sees.
        assert_eq!(w.open(3, "abs", 0, 0, rights::FD_READ), Err(ELOOP));
        let st = w.path_stat(3, 0, "abs").unwrap();
        assert_eq!(st.filetype, FILETYPE_SYMBOLIC_LINK);
        // Ops on a name whose parent is a link out of the directory.
        for (f, path) in [
            (WasiFunc::PathCreateDirectory, "dirlink/newdir"),
            (WasiFunc::PathUnlinkFile, "dirlink/secret.txt"),
            (WasiFunc::PathRemoveDirectory, "up/outside"),
        ] {
            let e = w.path_call(f, 3, path);
            assert_eq!(e, ENOTCAPABLE, "{f:?} {path}");
        }
        assert_eq!(w.rename(3, "dirlink/secret.txt", 3, "stolen"), ENOTCAPABLE);
        assert_eq!(
            w.rename(3, "sub/file.txt", 3, "dirlink/planted"),
            ENOTCAPABLE
        );
        assert_eq!(snapshot(&w.outside), outside, "nothing outside changed");
        assert_eq!(fs::read(&secret).unwrap(), b"secret");
        assert!(!w.root.join("stolen").exists());
        // Unlinking the link itself is fine: the target stays.
        assert_eq!(w.path_call(WasiFunc::PathUnlinkFile, 3, "abs"), SUCCESS);
        assert!(secret.exists());

        // A link that stays inside is followed.
        let fd = w.open(3, "inner", FOLLOW, 0, rights::FD_READ).unwrap();
        assert_eq!(w.read(fd, 64, None), Ok(b"inside".to_vec()));
        assert_eq!(w.close(fd), SUCCESS);
    });
}

#[test]
fn rights_are_checked_in_the_secure_world() {
    with_world(|w| {
        let host_file = w.root.join("ro.txt");
        fs::write(&host_file, b"read only").unwrap();
        let fd = w.open(3, "ro.txt", 0, 0, rights::FD_READ).unwrap();
        assert_eq!(
            w.fdstat(fd),
            Ok((FILETYPE_REGULAR_FILE, rights::FD_READ, 0))
        );
        let requests = w.host.requests;

        let buf = w.put(b"overwrite");
        let iov = w.iovs(&[(buf, 9)]);
        let out = w.alloc(8);
        let write = [fd.into(), iov.into(), 1, out.into()];
        assert_eq!(w.local(WasiFunc::FdWrite, &write), ENOTCAPABLE);
        let pwrite = [fd.into(), iov.into(), 1, 0, out.into()];
        assert_eq!(w.local(WasiFunc::FdPwrite, &pwrite), ENOTCAPABLE);
        let seek = [fd.into(), 0, WHENCE_SET, out.into()];
        assert_eq!(
            w.local(WasiFunc::FdSeek, &seek),
            ENOTCAPABLE,
            "no fd_seek right"
        );
        assert_eq!(
            w.local(WasiFunc::FdTell, &[fd.into(), out.into()]),
            ENOTCAPABLE
        );
        assert_eq!(
            w.local(WasiFunc::FdFilestatSetSize, &[fd.into(), 0]),
            ENOTCAPABLE
        );
        assert_eq!(w.local(WasiFunc::FdSync, &[fd.into()]), ENOTCAPABLE);
        assert_eq!(
            w.local(WasiFunc::FdFilestatGet, &[fd.into(), out.into()]),
            ENOTCAPABLE
        );
        // Rights can be dropped, never regained.
        let regain = [fd.into(), rights::FD_READ | rights::FD_WRITE, 0];
        assert_eq!(w.local(WasiFunc::FdFdstatSetRights, &regain), ENOTCAPABLE);
        assert_eq!(w.host.requests, requests, "none of them reached the tool");
        assert_eq!(fs::read(&host_file).unwrap(), b"read only");

        assert_eq!(w.read(fd, 64, None), Ok(b"read only".to_vec()));
        assert_eq!(
            w.local(WasiFunc::FdFdstatSetRights, &[fd.into(), 0, 0]),
            SUCCESS
        );
        let buf = w.alloc(8);
        let iov = w.iovs(&[(buf, 8)]);
        let read = [fd.into(), iov.into(), 1, out.into()];
        assert_eq!(
            w.local(WasiFunc::FdRead, &read),
            ENOTCAPABLE,
            "fd_read dropped"
        );
        assert_eq!(w.close(fd), SUCCESS);

        // A descriptor cannot ask for more than its directory passes on (socket rights).
        let (args, _) = w.open_args(3, b"ro.txt", 0, 0, rights::FD_READ | (1 << 28), 0, 0);
        assert_eq!(w.local(WasiFunc::PathOpen, &args), ENOTCAPABLE);
        // A directory without path_create_directory / path_create_file.
        let keep =
            rights::DIRECTORY_BASE & !(rights::PATH_CREATE_DIRECTORY | rights::PATH_CREATE_FILE);
        let set = [4, keep, rights::DIRECTORY_INHERITING];
        assert_eq!(w.local(WasiFunc::FdFdstatSetRights, &set), SUCCESS);
        let [p, l] = w.path(b"newdir");
        assert_eq!(
            w.local(WasiFunc::PathCreateDirectory, &[4, p, l]),
            ENOTCAPABLE
        );
        let (args, _) = w.open_args(4, b"new.txt", 0, O_CREAT, FILE_RW, 0, 0);
        assert_eq!(w.local(WasiFunc::PathOpen, &args), ENOTCAPABLE);
        assert_eq!(fs::read_dir(&w.root2).unwrap().count(), 0);
        // Opening what exists still works there.
        fs::write(w.root2.join("there"), b"x").unwrap();
        let fd = w.open(4, "there", 0, 0, rights::FD_READ).unwrap();
        assert_eq!(w.close(fd), SUCCESS);
        // A write-only file has no fd_read right.
        let fd = w.open(3, "ro.txt", 0, 0, rights::FD_WRITE).unwrap();
        let read = [fd.into(), iov.into(), 1, out.into()];
        assert_eq!(w.local(WasiFunc::FdRead, &read), ENOTCAPABLE);
        assert_eq!(w.write(fd, b"READ", None), Ok(4));
        assert_eq!(fs::read(&host_file).unwrap(), b"READ only");
        assert_eq!(w.close(fd), SUCCESS);
    });
}

#[test]
fn closed_descriptors_are_ebadf() {
    with_world(|w| {
        fs::write(w.root.join("f"), b"data").unwrap();
        let handles = w.tool.server.open_handles();
        let fd = w.open(3, "f", 0, 0, FILE_RW).unwrap();
        assert_eq!(w.tool.server.open_handles(), handles + 1);
        assert_eq!(w.begin(WasiFunc::FdClose, &[fd.into()]), None);
        assert!(w.fdstat(fd).is_ok(), "a pending close keeps the fd");
        assert_eq!(w.finish(WasiFunc::FdClose, &[fd.into()]), SUCCESS);
        assert_eq!(
            w.tool.server.open_handles(),
            handles,
            "the tool closed it too"
        );

        let fd64 = u64::from(fd);
        let buf = w.alloc(64);
        let iov = w.iovs(&[(buf, 64)]);
        let out = w.alloc(64);
        let (iov, out) = (u64::from(iov), u64::from(out));
        let calls: [(WasiFunc, Vec<u64>); 13] = [
            (WasiFunc::FdRead, vec![fd64, iov, 1, out]),
            (WasiFunc::FdWrite, vec![fd64, iov, 1, out]),
            (WasiFunc::FdPread, vec![fd64, iov, 1, 0, out]),
            (WasiFunc::FdPwrite, vec![fd64, iov, 1, 0, out]),
            (WasiFunc::FdSeek, vec![fd64, 0, WHENCE_SET, out]),
            (WasiFunc::FdTell, vec![fd64, out]),
            (WasiFunc::FdFilestatGet, vec![fd64, out]),
            (WasiFunc::FdFdstatGet, vec![fd64, out]),
            (WasiFunc::FdReaddir, vec![fd64, buf.into(), 64, 0, out]),
            (WasiFunc::FdSync, vec![fd64]),
            (WasiFunc::FdClose, vec![fd64]),
            (WasiFunc::FdRenumber, vec![fd64, 3]),
            (WasiFunc::FdPrestatGet, vec![fd64, out]),
        ];
        for (f, args) in calls {
            assert_eq!(w.local(f, &args), EBADF, "{f:?}");
        }
        let (args, _) = w.open_args(fd, b"x", 0, O_CREAT, FILE_RW, 0, 0);
        assert_eq!(w.local(WasiFunc::PathOpen, &args), EBADF);
        assert_eq!(
            w.open(3, "f", 0, 0, FILE_RW),
            Ok(fd),
            "the fd number is free again"
        );

        // A closed preopen is gone for path calls and fd_prestat_get.
        assert_eq!(w.close(4), SUCCESS);
        let [p, l] = w.path(b"d");
        assert_eq!(w.local(WasiFunc::PathCreateDirectory, &[4, p, l]), EBADF);
        assert_eq!(w.local(WasiFunc::FdPrestatGet, &[4, out]), EBADF);
        assert_eq!(fs::read_dir(&w.root2).unwrap().count(), 0);
    });
}

#[test]
fn hostile_answers_are_eio() {
    with_world(|w| {
        fs::write(w.root.join("f"), b"0123456789").unwrap();
        let fd = w.open(3, "f", 0, 0, FILE_RW).unwrap();

        // More bytes than the call's buffer holds (the host's answer itself).
        w.host.lie_len = Some(1);
        assert_eq!(w.read(fd, 4, None), Err(EIO));
        w.host.lie_len = Some(usize::MAX - 8);
        assert_eq!(w.readdir(3, 100, 0), Err(EIO));
        w.host.lie_len = Some(1);
        assert_eq!(w.path_stat(3, 0, "f").unwrap_err(), EIO);
        w.host.lie_len = Some(1);
        assert_eq!(w.fd_stat(fd).unwrap_err(), EIO);

        // A handle that does not fit a u32, or a file type that does not exist, in the reply
        // to an open: EIO, and no descriptor.
        for values in [
            [Some(1u64 << 32), None, None, None],
            [Some(u64::MAX), None, None, None],
            [None, Some(8), None, None],
            [None, Some(1 << 8 | 4), None, None],
        ] {
            w.tool.tamper = Some(Tamper::Values(values));
            let open = w.host.table.open_count();
            let (args, out) = w.open_args(3, b"f", 0, 0, FILE_RW, 0, 0);
            assert_eq!(w.served(WasiFunc::PathOpen, &args), EIO, "{values:?}");
            assert_eq!(w.u32_at(out), 0, "no fd written");
            assert_eq!(w.host.table.open_count(), open, "no fd made");
        }

        // More bytes written than were sent.
        w.tool.tamper = Some(Tamper::Values([Some(4), None, None, None]));
        assert_eq!(w.write(fd, b"abc", None), Err(EIO));
        w.tool.tamper = Some(Tamper::Values([Some(u64::MAX), None, None, None]));
        assert_eq!(w.write(fd, b"abc", Some(0)), Err(EIO));

        // Replies the channel itself refuses: more data than asked, another sequence
        // number, an errno beyond WASI's.
        w.tool.tamper = Some(Tamper::ExtraData(1));
        assert_eq!(w.read(fd, 2, Some(0)), Err(EIO));
        w.tool.tamper = Some(Tamper::ExtraData(1));
        assert_eq!(w.path_stat(3, 0, "f").unwrap_err(), EIO);
        w.tool.tamper = Some(Tamper::Seq);
        assert_eq!(w.tell(fd), Err(EIO));
        w.tool.tamper = Some(Tamper::Errno(77));
        assert_eq!(w.tell(fd), Err(EIO));
        assert_eq!(
            w.host.refused,
            [
                ChannelError::Length,
                ChannelError::Length,
                ChannelError::Sequence,
                ChannelError::Errno
            ]
        );

        // The tool did perform the writes whose replies lied (the read with the lying answer
        // moved the position to 4 first).
        assert_eq!(fs::read(w.root.join("f")).unwrap(), b"abc3abc789");
        // The run goes on: the descriptor still works with honest replies.
        assert_eq!(w.read(fd, 4, Some(0)), Ok(b"abc3".to_vec()));
        assert_eq!(w.close(fd), SUCCESS);
    });
}

/// docs/files.md ("Trust"): a reply that breaks a rule gives the module `EIO` for that call,
/// and the descriptor stays (rights and all).
#[test]
fn a_hostile_reply_leaves_the_descriptor() {
    with_world(|w| {
        fs::write(w.root.join("f"), b"0123456789").unwrap();
        let fd = w.open(3, "f", 0, 0, FILE_RW).unwrap();
        let before = w.fdstat(fd).unwrap();
        w.tool.tamper = Some(Tamper::Values([Some(100), None, None, None]));
        assert_eq!(w.write(fd, b"abc", None), Err(EIO));
        assert_eq!(w.fdstat(fd), Ok(before), "the descriptor stays");
        assert_eq!(w.write(fd, b"def", None), Ok(3));
        assert_eq!(fs::read(w.root.join("f")).unwrap(), b"abcdef6789");
        assert_eq!(w.close(fd), SUCCESS);
    });
}

#[test]
fn links_times_sizes_flags_and_renumber_reach_the_host() {
    with_world(|w| {
        let f = w.root.join("t.txt");
        fs::write(&f, b"0123456789").unwrap();
        let fd = w.open(3, "t.txt", 0, 0, FILE_RW).unwrap();
        let fd64 = u64::from(fd);

        // fd_filestat_set_size, fd_allocate, fd_advise, fd_sync, fd_datasync.
        assert_eq!(w.served(WasiFunc::FdFilestatSetSize, &[fd64, 4]), SUCCESS);
        assert_eq!(fs::read(&f).unwrap(), b"0123");
        assert_eq!(w.served(WasiFunc::FdAllocate, &[fd64, 0, 16]), SUCCESS);
        assert_eq!(fs::metadata(&f).unwrap().len(), 16);
        assert_eq!(w.served(WasiFunc::FdAdvise, &[fd64, 0, 16, 1]), SUCCESS);
        assert_eq!(w.local(WasiFunc::FdAdvise, &[fd64, 0, 16, 6]), EINVAL);
        assert_eq!(w.served(WasiFunc::FdSync, &[fd64]), SUCCESS);
        assert_eq!(w.served(WasiFunc::FdDatasync, &[fd64]), SUCCESS);
        assert_eq!(w.served(WasiFunc::FdFilestatSetSize, &[fd64, 4]), SUCCESS);

        // fd_fdstat_set_flags(append): writes go to the end whatever the position.
        assert_eq!(w.served(WasiFunc::FdFdstatSetFlags, &[fd64, 1]), SUCCESS);
        let out = w.alloc(24);
        assert_eq!(w.local(WasiFunc::FdFdstatGet, &[fd64, out.into()]), SUCCESS);
        assert_eq!(
            u16::from_le_bytes([w.mem[out as usize + 2], w.mem[out as usize + 3]]),
            1
        );
        assert_eq!(w.seek(fd, 0, WHENCE_SET), Ok(0));
        assert_eq!(w.write(fd, b"+", None), Ok(1));
        assert_eq!(fs::read(&f).unwrap(), b"0123+");

        // fd_filestat_set_times and path_filestat_set_times (atim, mtim set).
        let (at, mt) = (1_000_000_000_123u64, 2_000_000_000_456u64);
        let args = [fd64, at, mt, 1 | 4];
        assert_eq!(w.served(WasiFunc::FdFilestatSetTimes, &args), SUCCESS);
        let meta = fs::metadata(&f).unwrap();
        assert_eq!((meta.atime(), meta.atime_nsec()), (1000, 123));
        assert_eq!((meta.mtime(), meta.mtime_nsec()), (2000, 456));
        assert_eq!(
            w.local(WasiFunc::FdFilestatSetTimes, &[fd64, 0, 0, 1 | 2]),
            EINVAL
        );
        let [p, l] = w.path(b"t.txt");
        let args = [3, 0, p, l, 0, 3_000_000_000_789, 4];
        assert_eq!(w.served(WasiFunc::PathFilestatSetTimes, &args), SUCCESS);
        let meta = fs::metadata(&f).unwrap();
        assert_eq!((meta.mtime(), meta.mtime_nsec()), (3000, 789));
        assert_eq!(meta.atime(), 1000, "atime left alone");

        // path_symlink, path_readlink, path_link.
        let [t, tl] = w.path(b"t.txt");
        let [n, nl] = w.path(b"sl");
        assert_eq!(w.served(WasiFunc::PathSymlink, &[t, tl, 3, n, nl]), SUCCESS);
        assert_eq!(
            fs::read_link(w.root.join("sl")).unwrap(),
            Path::new("t.txt")
        );
        let buf = w.alloc(64);
        let used = w.alloc(4);
        let args = [3, n, nl, buf.into(), 64, used.into()];
        assert_eq!(w.served(WasiFunc::PathReadlink, &args), SUCCESS);
        assert_eq!(w.bytes(buf, w.u32_at(used) as usize), b"t.txt");
        let args = [3, n, nl, buf.into(), 3, used.into()];
        assert_eq!(w.served(WasiFunc::PathReadlink, &args), SUCCESS);
        assert_eq!(w.u32_at(used), 3, "cut at the buffer");
        let [h, hl] = w.path(b"hard.txt");
        let args = [3, 0, t, tl, 4, h, hl];
        assert_eq!(w.served(WasiFunc::PathLink, &args), SUCCESS);
        let linked = fs::metadata(w.root2.join("hard.txt")).unwrap();
        assert_eq!(linked.ino(), fs::metadata(&f).unwrap().ino());
        assert_eq!(w.path_stat(3, 0, "t.txt").unwrap().nlink, 2);
        // A symlink name that escapes is refused in the secure world.
        let [e, el] = w.path(b"../evil");
        assert_eq!(
            w.local(WasiFunc::PathSymlink, &[t, tl, 3, e, el]),
            ENOTCAPABLE
        );
        assert!(!w.tmp_path("evil").exists());

        // fd_renumber: the second fd's file is closed (in the tool too), the first moves.
        fs::write(w.root.join("other.txt"), b"other").unwrap();
        let g = w.open(3, "other.txt", 0, 0, FILE_RW).unwrap();
        let handles = w.tool.server.open_handles();
        assert_eq!(w.served(WasiFunc::FdRenumber, &[fd64, g.into()]), SUCCESS);
        assert_eq!(w.tool.server.open_handles(), handles - 1);
        assert_eq!(w.fdstat(fd), Err(EBADF));
        assert_eq!(w.read(g, 64, Some(0)), Ok(b"0123+".to_vec()));
        assert_eq!(w.close(g), SUCCESS);
    });
}
