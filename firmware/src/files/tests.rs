//! [`RunFiles`] on the host, as in a run: every request goes through a real file channel
//! ([`Channel`]) in a 64-byte-aligned block, and a test "tool" reads it
//! ([`Channel::read_request`]), serves it with the tool's real file server
//! ([`tzwasm_tool::files::FileServer`], on temporary directories) or with a hostile answer,
//! and writes the reply ([`Channel::write_reply`]). Each module call is driven as the secure
//! world drives it: `None` means a request was posted (the run pauses with FILE_REQUEST),
//! the tool answers, and the same call is issued again until it has its answer.

use super::{FilesError, RunFiles, MAX_FILE, SEALED_BIT, SEALED_DIR};
use std::alloc::{alloc_zeroed, Layout};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tzwasm_aot_loader::wasi::files::{FileAnswer, FileRequest};
use tzwasm_aot_loader::wasi::Errno;
use tzwasm_attest::sealed_dir::{DirKey, MAX_HOST_NAME, OVERHEAD};
use tzwasm_attest::{DeviceKeys, DeviceSecret};
use tzwasm_smc::files::{block_size, Channel, ChannelError, FileOp, Preopen, Reply, Request};
use tzwasm_smc::shared::SharedRegion;
use tzwasm_tool::files::FileServer;

// WASI flags, as the WASI layer forwards them.
const O_CREAT: u64 = 1;
const O_DIRECTORY: u64 = 2;
const O_EXCL: u64 = 4;
const O_TRUNC: u64 = 8;
const READ_WRITE: u64 = 3;
const FILETYPE_DIRECTORY: u64 = 3;
const FILETYPE_REGULAR: u64 = 4;

/// The tool's handle of the first granted directory.
const DATA: u64 = 1;
/// The sealed directory's handle, as the module's descriptor table holds it.
const SEALED: u64 = SEALED_DIR as u64;

// ---------------------------------------------------------------------------------------
// The shared block, the temporary directories, the keys.

/// A zeroed channel block for a data area of `capacity` bytes, 64-aligned. It is never
/// freed, so the region can be `'static` as the secure world's channel is.
fn shared(capacity: usize) -> SharedRegion<'static> {
    let len = block_size(capacity);
    let layout = Layout::from_size_align(len, 64).expect("layout");
    // SAFETY: the layout's size is at least the 256-byte header, never zero.
    let base = unsafe { alloc_zeroed(layout) };
    assert!(!base.is_null(), "out of memory");
    // SAFETY: [base, base + len) was just allocated for this block alone and is never freed
    // (leaked, so it lives for 'static); no Rust reference to it exists. Its only users are
    // the copies of this region in the test tool's channel and in RunFiles' channel, which
    // this one thread uses in turn.
    unsafe { SharedRegion::new(base, len) }.expect("a 64-aligned block")
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tzwasm-firmware-files-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("temporary directory");
        TempDir(path)
    }

    /// The names in it, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The directory key of the module measured `[m; 32]` on the test device.
fn key(m: u8) -> DirKey {
    let keys = DeviceKeys::derive(&DeviceSecret::new([7; 32])).expect("device keys");
    DirKey::derive(&keys, &[m; 32]).expect("directory key")
}

/// The host file name `key` stores `name` under.
fn host_name(key: &DirKey, name: &[u8]) -> String {
    let mut buf = [0u8; MAX_HOST_NAME];
    let n = key.encode_name(name, &mut buf).expect("a valid name");
    String::from_utf8(buf[..n].to_vec()).expect("hex")
}

static NONCES: AtomicU64 = AtomicU64::new(0x2545_f491_4f6c_dd1d);

/// The platform's random source, for the sealing nonces (distinct every call).
fn random(buf: &mut [u8]) {
    for b in buf {
        let x = NONCES.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        *b = (x ^ (x >> 31)) as u8;
    }
}

/// A small xorshift PRNG (for the garbage tool).
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------
// The run and its tool.

/// What the tool replies: the reply's fields, its data the first `len` bytes of `out`.
struct Told {
    seq: u64,
    errno: u16,
    values: [u64; 4],
    len: usize,
}

/// How the tool serves one request: the real server, or something else.
type Tool<'t> = dyn FnMut(&Request<'_>, &mut FileServer, &mut [u8]) -> Told + 't;

/// The real file server's answer.
fn honest(req: &Request<'_>, server: &mut FileServer, out: &mut [u8]) -> Told {
    let a = server.serve(req, out);
    Told {
        seq: req.seq,
        errno: a.errno,
        values: a.values,
        len: a.len,
    }
}

/// One run: its RunFiles, and the tool's side of the same channel.
struct Run {
    files: RunFiles,
    channel: Channel<'static>,
    server: FileServer,
    /// Requests the tool served.
    served: usize,
}

/// The most requests one module call may make before the test gives up.
const MAX_REQUESTS: usize = 20_000;

impl Run {
    /// A run granted `dirs` (a directory named `/sealed` is the sealed one, with `key`),
    /// over a channel with a data area of `capacity` bytes.
    fn new(dirs: &[(&str, &Path)], capacity: usize, key: Option<DirKey>) -> Self {
        let (server, mut preopens) = FileServer::new(dirs).expect("file server");
        for p in &mut preopens {
            p.sealed = p.name == b"/sealed";
        }
        let region = shared(capacity);
        let channel = Channel::format(region, &preopens).expect("format");
        let files = RunFiles::attach(
            Channel::attach(region).expect("attach"),
            move || key,
            random,
        )
        .expect("RunFiles::attach");
        Run {
            files,
            channel,
            server,
            served: 0,
        }
    }

    /// Serves the request in the channel with `tool`.
    fn serve(&mut self, tool: &mut Tool<'_>) {
        let cap = self.channel.capacity();
        let mut buf = vec![0u8; cap];
        let req = self
            .channel
            .read_request(&mut buf)
            .expect("a valid request");
        let mut out = vec![0u8; cap];
        let told = tool(&req, &mut self.server, &mut out);
        let reply = Reply {
            seq: told.seq,
            errno: told.errno,
            values: told.values,
            data: &out[..told.len],
        };
        assert!(self.channel.write_reply(&reply), "reply fits");
        self.served += 1;
    }

    /// Issues `req` as the secure world does until it has its answer, `tool` serving every
    /// request it posts.
    fn call_with(
        &mut self,
        req: &FileRequest<'_>,
        out: &mut [u8],
        tool: &mut Tool<'_>,
    ) -> FileAnswer {
        for _ in 0..MAX_REQUESTS {
            match self.files.file(req, out) {
                Some(answer) => {
                    assert!(!self.files.take_posted(), "an answer posts nothing");
                    assert!(answer.len <= out.len());
                    return answer;
                }
                None => {
                    assert!(self.files.take_posted(), "None means a request was posted");
                    self.serve(tool);
                }
            }
        }
        panic!("{:?} made more than {MAX_REQUESTS} requests", req.op);
    }

    /// `req` with the real file server.
    fn call(&mut self, req: &FileRequest<'_>, out: &mut [u8]) -> FileAnswer {
        self.call_with(req, out, &mut honest)
    }

    /// A call without data back: its errno and values.
    fn simple(&mut self, req: &FileRequest<'_>) -> Result<[u64; 4], Errno> {
        let a = self.call(req, &mut []);
        if a.errno == Errno::SUCCESS {
            Ok(a.values)
        } else {
            Err(a.errno)
        }
    }

    fn open(&mut self, dir: u64, path: &[u8], oflags: u64) -> Result<u64, Errno> {
        let req = FileRequest {
            path,
            ..on(FileOp::Open, dir, &[0, oflags, 0, READ_WRITE])
        };
        let values = self.simple(&req)?;
        let want = if oflags & O_DIRECTORY != 0 || path == b"." {
            FILETYPE_DIRECTORY
        } else {
            FILETYPE_REGULAR
        };
        assert_eq!(values[1], want, "filetype of {:?}", bstr(path));
        Ok(values[0])
    }

    fn close(&mut self, h: u64) -> Result<(), Errno> {
        self.simple(&on(FileOp::Close, h, &[])).map(drop)
    }

    /// Writes all of `data` (the WASI layer's writes are short at the channel's capacity).
    fn write(&mut self, h: u64, data: &[u8]) -> Result<(), Errno> {
        for chunk in data.chunks(self.channel.capacity()) {
            let req = FileRequest {
                data: chunk,
                ..on(FileOp::Write, h, &[])
            };
            let n = self.simple(&req)?[0];
            assert_eq!(n, chunk.len() as u64, "a whole write");
        }
        Ok(())
    }

    /// Reads from the file's position to its end.
    fn read_to_end(&mut self, h: u64) -> Result<Vec<u8>, Errno> {
        let mut all = Vec::new();
        let mut out = vec![0u8; 1000];
        loop {
            let req = on(FileOp::Read, h, &[out.len() as u64]);
            let a = self.call(&req, &mut out);
            if a.errno != Errno::SUCCESS {
                return Err(a.errno);
            }
            if a.len == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&out[..a.len]);
        }
    }

    /// The whole file `name` of directory `dir`, opened, read and closed.
    fn read_file(&mut self, dir: u64, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let h = self.open(dir, name, 0)?;
        let data = self.read_to_end(h);
        self.close(h).expect("close");
        data
    }

    /// Creates (or truncates) `name` in `dir` with `data`.
    fn create(&mut self, dir: u64, name: &[u8], data: &[u8]) {
        let h = self
            .open(dir, name, O_CREAT | O_TRUNC)
            .unwrap_or_else(|e| panic!("create {:?}: {e:?}", bstr(name)));
        self.write(h, data).expect("write");
        self.close(h).expect("close");
    }

    /// The names `fd_readdir` lists in `dir`, in order (all in one call).
    fn list(&mut self, dir: u64) -> Result<Vec<Vec<u8>>, Errno> {
        let mut out = vec![0u8; 4096];
        let a = self.call(&on(FileOp::Readdir, dir, &[0, 4096]), &mut out);
        if a.errno != Errno::SUCCESS {
            return Err(a.errno);
        }
        assert!(a.len < out.len(), "the listing fits");
        let mut rest = &out[..a.len];
        let mut names = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_le_bytes(rest[16..20].try_into().unwrap()) as usize;
            names.push(rest[24..24 + len].to_vec());
            rest = &rest[24 + len..];
        }
        Ok(names)
    }

    /// The size in a path filestat of `name`.
    fn size(&mut self, dir: u64, name: &[u8]) -> Result<u64, Errno> {
        let mut out = [0u8; 64];
        let req = FileRequest {
            path: name,
            ..on(FileOp::PathFilestat, dir, &[0])
        };
        let a = self.call(&req, &mut out);
        if a.errno != Errno::SUCCESS {
            return Err(a.errno);
        }
        assert_eq!(a.len, 64);
        Ok(u64::from_le_bytes(out[32..40].try_into().unwrap()))
    }
}

/// A request on handle `h` with the rest of its arguments, as the WASI layer makes it.
fn on(op: FileOp, h: u64, rest: &[u64]) -> FileRequest<'static> {
    let mut args = [0u64; 6];
    args[0] = h;
    args[1..1 + rest.len()].copy_from_slice(rest);
    FileRequest {
        op,
        args,
        path: &[],
        path2: &[],
        data: &[],
    }
}

fn bstr(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn names(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|n| n.as_bytes().to_vec()).collect()
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// Attach.

#[test]
fn attach_builds_the_descriptor_table_from_the_preopens() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let mut run = Run::new(
        &[("/data", &data.0), ("/sealed", &sealed.0)],
        4096,
        Some(key(1)),
    );
    assert_eq!(run.files.capacity(), 4096);
    let t = run.files.table();
    assert_eq!(t.get(3).expect("fd 3").handle, 1);
    assert_eq!(t.get(4).expect("fd 4").handle, SEALED_DIR);
    assert_eq!(t.preopen_name(0), Some(&b"/data"[..]));
    assert_eq!(t.preopen_name(1), Some(&b"/sealed"[..]));
    assert!(t.get(5).is_err());
}

#[test]
fn attach_refuses_bad_preopens() {
    let attach = |preopens: &[Preopen<'_>], key: Option<DirKey>| {
        let region = shared(4096);
        Channel::format(region, preopens).expect("format");
        RunFiles::attach(
            Channel::attach(region).expect("attach"),
            move || key,
            random,
        )
        .map(drop)
    };
    let p = |handle, name: &'static [u8]| Preopen {
        handle,
        name,
        sealed: name == b"/sealed",
    };
    assert!(attach(&[p(1, b"/a"), p(2, b"/sealed")], Some(key(1))).is_ok());
    // A tool handle in the secure world's own range.
    assert!(matches!(
        attach(&[p(SEALED_BIT, b"/a")], None),
        Err(FilesError::Channel(ChannelError::Preopens))
    ));
    // Two sealed directories.
    assert!(matches!(
        attach(&[p(1, b"/sealed"), p(2, b"/sealed")], Some(key(1))),
        Err(FilesError::Channel(ChannelError::Preopens))
    ));
    // A sealed directory without a device secret.
    assert!(matches!(
        attach(&[p(1, b"/sealed")], None),
        Err(FilesError::NoSealing)
    ));
    // No sealed directory: no key needed.
    assert!(attach(&[p(1, b"/a")], None).is_ok());
    // An unformatted block is not a channel at all.
    assert_eq!(
        Channel::attach(shared(4096)).err(),
        Some(ChannelError::Layout)
    );
}

// ---------------------------------------------------------------------------------------
// A plain directory.

#[test]
fn plain_dir_write_then_read_back_through_the_channel() {
    let dir = TempDir::new();
    let mut run = Run::new(&[("/data", &dir.0)], 64 << 10, None);
    let h = run
        .open(DATA, b"hello.txt", O_CREAT | O_TRUNC)
        .expect("open");
    assert!(h < u64::from(SEALED_BIT));
    let before = run.served;
    run.write(h, b"hello, world\n").expect("write");
    assert_eq!(run.served, before + 1, "one call, one request");
    // Read back from offset 0 (pread), then the position (at the end) reads nothing.
    let mut out = [0u8; 64];
    let a = run.call(&on(FileOp::Pread, h, &[64, 0]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 13));
    assert_eq!(&out[..13], b"hello, world\n");
    let a = run.call(&on(FileOp::Read, h, &[64]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 0));
    run.close(h).expect("close");
    assert_eq!(
        fs::read(dir.0.join("hello.txt")).expect("host file"),
        b"hello, world\n"
    );
    assert_eq!(
        run.read_file(DATA, b"hello.txt").expect("read"),
        b"hello, world\n"
    );
    assert_eq!(run.open(DATA, b"missing", 0), Err(Errno::NOENT));
    assert_eq!(
        run.server.open_handles(),
        1,
        "only the preopen is left open"
    );
}

#[test]
fn hostile_replies_are_eio_and_the_run_goes_on() {
    let dir = TempDir::new();
    fs::write(dir.0.join("f"), b"0123456789").expect("host file");
    let mut run = Run::new(&[("/data", &dir.0)], 4096, None);
    let h = run.open(DATA, b"f", 0).expect("open");
    let read = on(FileOp::Pread, h, &[4, 0]);
    let mut out = [0u8; 4];

    // Each lie, then an honest call that works.
    type Lie = fn(&Request<'_>, &mut FileServer, &mut [u8]) -> Told;
    let lies: [(&str, Lie); 4] = [
        ("wrong sequence number", |r, s, o| Told {
            seq: r.seq + 1,
            ..honest(r, s, o)
        }),
        ("errno 99", |r, s, o| Told {
            errno: 99,
            ..honest(r, s, o)
        }),
        ("more data than asked", |r, s, o| Told {
            len: 100,
            ..honest(r, s, o)
        }),
        (
            "no reply at all (the last one left in the channel)",
            |r, _, _| Told {
                seq: r.seq - 1,
                errno: 0,
                values: [0; 4],
                len: 0,
            },
        ),
    ];
    for (what, lie) in lies {
        let mut lie = lie;
        let a = run.call_with(&read, &mut out, &mut lie);
        assert_eq!(a.errno, Errno::IO, "{what}");
        assert_eq!((a.values, a.len), ([0; 4], 0), "{what}");
        let a = run.call(&read, &mut out);
        assert_eq!((a.errno, a.len), (Errno::SUCCESS, 4), "after {what}");
        assert_eq!(&out, b"0123");
    }

    // An open whose handle would name the secure world's own files.
    let open = FileRequest {
        path: b"f",
        ..on(FileOp::Open, DATA, &[0, 0, 0, 1])
    };
    let a = run.call_with(&open, &mut [], &mut |r, s, o| {
        let mut t = honest(r, s, o);
        t.values[0] = u64::from(SEALED_BIT);
        t
    });
    assert_eq!(a.errno, Errno::IO);
    let a = run.call_with(&open, &mut [], &mut |r, s, o| {
        let mut t = honest(r, s, o);
        t.values[0] = 0xffff_ffff_ffff;
        t
    });
    assert_eq!(a.errno, Errno::IO);
    // The module's descriptor still works, and so do new opens.
    let a = run.call(&on(FileOp::Pread, h, &[4, 6]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 4));
    assert_eq!(&out, b"6789");
    let h2 = run.open(DATA, b"f", 0).expect("open after the lies");
    assert_eq!(run.read_to_end(h2).expect("read"), b"0123456789");
}

#[test]
fn requests_that_do_not_fit_are_eio_without_a_request() {
    let dir = TempDir::new();
    let mut run = Run::new(&[("/data", &dir.0)], 4096, None);
    let h = run.open(DATA, b"f", O_CREAT).expect("open");
    let big = vec![1u8; 4097];
    let req = FileRequest {
        data: &big,
        ..on(FileOp::Write, h, &[])
    };
    let before = run.served;
    assert_eq!(run.call(&req, &mut []).errno, Errno::IO);
    assert_eq!(run.served, before, "nothing was posted");
    run.write(h, &big[..4096]).expect("a write that fits");
}

// ---------------------------------------------------------------------------------------
// The sealed directory.

/// A run with a plain directory `/data` (handle 1) and the sealed one (module `[m; 32]`).
fn sealed_run(data: &TempDir, sealed: &TempDir, m: u8, capacity: usize) -> Run {
    Run::new(
        &[("/data", &data.0), ("/sealed", &sealed.0)],
        capacity,
        Some(key(m)),
    )
}

const NOTES: &[u8] = b"notes.txt";
const SECRET: &[u8] = b"the secret plaintext of the sealed file, twice: the secret plaintext";

#[test]
fn sealed_file_survives_a_new_run_and_the_host_sees_only_ciphertext() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    {
        let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
        let h = run.open(SEALED, NOTES, O_CREAT).expect("create");
        assert!(h > u64::from(SEALED_BIT));
        run.write(h, SECRET).expect("write");
        // Seek back and read from the plaintext kept in secure memory.
        let a = run.call(&on(FileOp::Seek, h, &[0, 0]), &mut []);
        assert_eq!((a.errno, a.values[0]), (Errno::SUCCESS, 0));
        assert_eq!(run.read_to_end(h).expect("read"), SECRET);
        run.close(h).expect("close");
        assert_eq!(run.close(h), Err(Errno::BADF), "closed twice");
        assert_eq!(run.server.open_handles(), 2, "no host handle left open");
    }
    // The host directory: one file, named in hex, holding none of the plaintext.
    let names = sealed.names();
    assert_eq!(names, [host_name(&key(1), NOTES)]);
    let blob = fs::read(sealed.0.join(&names[0])).expect("host file");
    assert_eq!(blob.len(), SECRET.len() + OVERHEAD);
    for n in &names {
        assert!(n
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(!n.contains("notes") && !n.contains(&hex(NOTES)));
    }
    let hex_name = hex(NOTES);
    let needles: [&[u8]; 5] = [
        &SECRET[..16],
        b"secret",
        NOTES,
        b"notes",
        hex_name.as_bytes(),
    ];
    for needle in needles {
        assert!(!contains(&blob, needle), "{:?} in the blob", bstr(needle));
    }
    assert!(data.names().is_empty(), "nothing in the plain directory");

    // A new run of the same module on the same device reads it back.
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    assert_eq!(run.read_file(SEALED, NOTES).expect("reopen"), SECRET);
    assert_eq!(run.size(SEALED, NOTES), Ok(SECRET.len() as u64));
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["notes.txt"]));
}

/// `. .. names...`
fn names_of(list: &[&str]) -> Vec<Vec<u8>> {
    let mut all = names(&[".", ".."]);
    all.extend(names(list));
    all
}

#[test]
fn sealed_files_larger_than_the_channel_move_in_chunks() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let big: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    {
        let mut run = sealed_run(&data, &sealed, 1, 1024);
        run.create(SEALED, b"big", &big);
        assert_eq!(run.read_file(SEALED, b"big").expect("read"), big);
    }
    let mut run = sealed_run(&data, &sealed, 1, 1024);
    assert_eq!(run.read_file(SEALED, b"big").expect("read"), big);
    let h = run.open(SEALED, b"big", 0).expect("open");
    let mut out = [0u8; 100];
    let a = run.call(&on(FileOp::Pread, h, &[100, 9_950]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 50));
    assert_eq!(&out[..50], &big[9_950..]);
}

#[test]
fn a_changed_sealed_file_does_not_open() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    sealed_run(&data, &sealed, 1, 64 << 10).create(SEALED, NOTES, SECRET);
    let path = sealed.0.join(host_name(&key(1), NOTES));
    let good = fs::read(&path).expect("host file");
    // A flipped bit anywhere: the magic, the nonce, the ciphertext, the tag.
    for at in [0, 10, 40, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        fs::write(&path, &bad).expect("tamper");
        let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
        assert_eq!(run.open(SEALED, NOTES, 0), Err(Errno::IO), "byte {at}");
        assert_eq!(run.size(SEALED, NOTES), Err(Errno::IO), "byte {at}");
        // The run goes on: the other calls work.
        run.create(SEALED, b"other", b"fine");
        assert_eq!(run.read_file(SEALED, b"other").expect("other"), b"fine");
    }
    // Cut short, and emptied.
    for bad in [&good[..good.len() - 1], &good[..10], &[][..]] {
        fs::write(&path, bad).expect("tamper");
        let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
        assert_eq!(
            run.open(SEALED, NOTES, 0),
            Err(Errno::IO),
            "{} bytes",
            bad.len()
        );
    }
    // Put back, it opens again.
    fs::write(&path, &good).expect("restore");
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    assert_eq!(run.read_file(SEALED, NOTES).expect("restored"), SECRET);
}

#[test]
fn swapped_sealed_files_do_not_open() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    {
        let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
        run.create(SEALED, b"one", b"the first file");
        run.create(SEALED, b"two", b"the second file");
    }
    let (one, two) = (
        sealed.0.join(host_name(&key(1), b"one")),
        sealed.0.join(host_name(&key(1), b"two")),
    );
    let (a, b) = (fs::read(&one).expect("one"), fs::read(&two).expect("two"));
    fs::write(&one, &b).expect("swap");
    fs::write(&two, &a).expect("swap");
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    assert_eq!(run.open(SEALED, b"one", 0), Err(Errno::IO));
    assert_eq!(run.open(SEALED, b"two", 0), Err(Errno::IO));
    // The names still decode (only the contents are bound to them).
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["one", "two"]));
}

#[test]
fn another_module_sees_an_empty_sealed_dir() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    sealed_run(&data, &sealed, 1, 64 << 10).create(SEALED, NOTES, SECRET);
    let before = sealed.names();
    {
        let mut other = sealed_run(&data, &sealed, 2, 64 << 10);
        assert_eq!(other.list(SEALED).expect("list"), names_of(&[]));
        assert_eq!(other.open(SEALED, NOTES, 0), Err(Errno::NOENT));
        assert_eq!(other.size(SEALED, NOTES), Err(Errno::NOENT));
        // Its own file of the same name lives beside the first module's.
        other.create(SEALED, NOTES, b"module two");
        assert_eq!(other.list(SEALED).expect("list"), names_of(&["notes.txt"]));
        assert_eq!(other.read_file(SEALED, NOTES).expect("read"), b"module two");
    }
    assert_eq!(sealed.names().len(), 2);
    assert!(sealed.names().contains(&before[0]));
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    assert_eq!(run.read_file(SEALED, NOTES).expect("read"), SECRET);
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["notes.txt"]));
}

#[test]
fn sealed_rename_unlink_and_sorted_listing() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    assert_eq!(run.list(SEALED).expect("empty"), names_of(&[]));
    for (name, text) in [("b", "bee"), ("c", "sea"), ("a", "ay")] {
        run.create(SEALED, name.as_bytes(), text.as_bytes());
    }
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["a", "b", "c"]));

    let rename = |old: &'static [u8], new: &'static [u8], to: u64| FileRequest {
        path: old,
        path2: new,
        ..on(FileOp::Rename, SEALED, &[to])
    };
    assert_eq!(run.simple(&rename(b"a", b"d", SEALED)).map(drop), Ok(()));
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["b", "c", "d"]));
    assert_eq!(run.read_file(SEALED, b"d").expect("renamed"), b"ay");
    assert_eq!(run.open(SEALED, b"a", 0), Err(Errno::NOENT));
    // Over an existing name.
    assert_eq!(run.simple(&rename(b"d", b"c", SEALED)).map(drop), Ok(()));
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["b", "c"]));
    assert_eq!(run.read_file(SEALED, b"c").expect("replaced"), b"ay");
    // Onto itself, a missing one, out of the sealed directory and into it.
    assert_eq!(run.simple(&rename(b"c", b"c", SEALED)).map(drop), Ok(()));
    assert_eq!(run.simple(&rename(b"zz", b"y", SEALED)), Err(Errno::NOENT));
    assert_eq!(run.simple(&rename(b"c", b"x", DATA)), Err(Errno::XDEV));
    let into = FileRequest {
        path: b"x",
        path2: b"c",
        ..on(FileOp::Rename, DATA, &[SEALED])
    };
    assert_eq!(run.simple(&into), Err(Errno::XDEV));

    let unlink = |name: &'static [u8]| FileRequest {
        path: name,
        ..on(FileOp::Unlink, SEALED, &[])
    };
    assert_eq!(run.simple(&unlink(b"b")).map(drop), Ok(()));
    assert_eq!(run.simple(&unlink(b"b")), Err(Errno::NOENT));
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["c"]));
    assert_eq!(sealed.names(), [host_name(&key(1), b"c")]);

    // What the flat directory does not have.
    let mkdir = FileRequest {
        path: b"sub",
        ..on(FileOp::Mkdir, SEALED, &[])
    };
    assert_eq!(run.simple(&mkdir), Err(Errno::NOTSUP));
    let link = FileRequest {
        path: b"c",
        path2: b"l",
        ..on(FileOp::Link, SEALED, &[0, SEALED])
    };
    assert_eq!(run.simple(&link), Err(Errno::NOTSUP));
    assert_eq!(run.open(SEALED, b"sub/c", 0), Err(Errno::NOENT));
    assert_eq!(
        run.open(SEALED, &[b'n'; 101], O_CREAT),
        Err(Errno::NAMETOOLONG)
    );
    assert_eq!(run.open(SEALED, b"c", O_CREAT | O_EXCL), Err(Errno::EXIST));
    assert_eq!(run.open(SEALED, b".", 0), Ok(SEALED));

    // A listing in pieces, by cookie, the last record cut as fd_readdir cuts it.
    let mut out = [0u8; 30];
    let a = run.call(&on(FileOp::Readdir, SEALED, &[2, 30]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 25));
    assert_eq!(u64::from_le_bytes(out[..8].try_into().unwrap()), 3);
    assert_eq!(&out[24..25], b"c");
    let a = run.call(&on(FileOp::Readdir, SEALED, &[2, 20]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 20));
    assert_eq!(u64::from_le_bytes(out[..8].try_into().unwrap()), 3);
    let a = run.call(&on(FileOp::Readdir, SEALED, &[3, 30]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 0));
}

#[test]
fn sealed_read_at_the_end_keeps_the_position() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    let h = run.open(SEALED, b"p", O_CREAT).expect("create");
    run.write(h, b"abc").expect("write");
    let a = run.call(&on(FileOp::Seek, h, &[100, 0]), &mut []);
    assert_eq!((a.errno, a.values[0]), (Errno::SUCCESS, 100));
    // A read past the end reads nothing and leaves the position where it was (POSIX).
    let mut out = [0u8; 10];
    let a = run.call(&on(FileOp::Read, h, &[10]), &mut out);
    assert_eq!((a.errno, a.len), (Errno::SUCCESS, 0));
    let a = run.call(&on(FileOp::Seek, h, &[0, 1]), &mut []);
    assert_eq!(a.values[0], 100, "the position after a read at the end");
    run.write(h, b"x").expect("write");
    run.close(h).expect("close");
    let mut want = b"abc".to_vec();
    want.resize(100, 0);
    want.push(b'x');
    assert_eq!(run.read_file(SEALED, b"p").expect("read"), want);
}

#[test]
fn sealed_writes_after_unlink_or_rename_follow_the_open_file() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    let rename = |old: &'static [u8], new: &'static [u8]| FileRequest {
        path: old,
        path2: new,
        ..on(FileOp::Rename, SEALED, &[SEALED])
    };
    let unlink = |name: &'static [u8]| FileRequest {
        path: name,
        ..on(FileOp::Unlink, SEALED, &[])
    };

    // Unlinked while open: the descriptor keeps working, the name stays gone.
    let h = run.open(SEALED, b"u", O_CREAT).expect("create");
    run.write(h, b"one").expect("write");
    run.simple(&unlink(b"u")).expect("unlink");
    run.write(h, b"two").expect("write after unlink");
    let mut out = [0u8; 16];
    let a = run.call(&on(FileOp::Pread, h, &[16, 0]), &mut out);
    assert_eq!(&out[..a.len], b"onetwo");
    run.close(h).expect("close");
    assert_eq!(run.list(SEALED).expect("list"), names_of(&[]));
    assert!(sealed.names().is_empty(), "the unlinked file came back");

    // Renamed while open: later writes go to the new name.
    let h = run.open(SEALED, b"r", O_CREAT).expect("create");
    run.write(h, b"1").expect("write");
    run.simple(&rename(b"r", b"s")).expect("rename");
    run.write(h, b"2").expect("write after rename");
    run.close(h).expect("close");
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["s"]));
    assert_eq!(run.read_file(SEALED, b"s").expect("read"), b"12");

    // Replaced by a rename while open: the old file's writes no longer reach the name.
    let t = run.open(SEALED, b"s", 0).expect("open");
    run.create(SEALED, b"n", b"new");
    run.simple(&rename(b"n", b"s")).expect("rename over");
    run.write(t, b"X").expect("write to the replaced file");
    run.close(t).expect("close");
    assert_eq!(run.list(SEALED).expect("list"), names_of(&["s"]));
    assert_eq!(run.read_file(SEALED, b"s").expect("read"), b"new");
    assert_eq!(sealed.names(), [host_name(&key(1), b"s")]);
}

#[test]
fn sealed_files_over_one_mib_are_efbig() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let max = MAX_FILE as u64;
    {
        let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
        let h = run.open(SEALED, b"big", O_CREAT).expect("create");
        assert_eq!(
            run.simple(&on(FileOp::SetSize, h, &[max + 1])),
            Err(Errno::FBIG)
        );
        let one = FileRequest {
            data: b"x",
            ..on(FileOp::Pwrite, h, &[max])
        };
        assert_eq!(run.simple(&one), Err(Errno::FBIG));
        assert_eq!(
            run.simple(&on(FileOp::Allocate, h, &[max, 1])),
            Err(Errno::FBIG)
        );
        assert_eq!(
            run.simple(&on(FileOp::Allocate, h, &[u64::MAX, 2])),
            Err(Errno::FBIG)
        );
        // Exactly 1 MiB is fine; one byte more by a write is not.
        assert_eq!(
            run.simple(&on(FileOp::SetSize, h, &[max])).map(drop),
            Ok(())
        );
        let end = run.call(&on(FileOp::Seek, h, &[0, 2]), &mut []);
        assert_eq!(end.values[0], max);
        let one = FileRequest {
            data: b"x",
            ..on(FileOp::Write, h, &[])
        };
        assert_eq!(run.simple(&one), Err(Errno::FBIG));
        let last = FileRequest {
            data: b"z",
            ..on(FileOp::Pwrite, h, &[max - 1])
        };
        assert_eq!(run.simple(&last).map(|v| v[0]), Ok(1));
        run.close(h).expect("close");
    }
    let mut run = sealed_run(&data, &sealed, 1, 64 << 10);
    assert_eq!(run.size(SEALED, b"big"), Ok(max));
    let h = run.open(SEALED, b"big", 0).expect("open");
    let mut out = [0u8; 2];
    let a = run.call(&on(FileOp::Pread, h, &[2, max - 2]), &mut out);
    assert_eq!((a.errno, a.len, out), (Errno::SUCCESS, 2, [0, b'z']));

    // A host file larger than any sealed file is refused without reading all of it.
    let path = sealed.0.join(host_name(&key(1), b"big"));
    fs::write(&path, vec![0u8; MAX_FILE + OVERHEAD + 1]).expect("grow");
    assert_eq!(run.open(SEALED, b"big", 0), Err(Errno::FBIG));
}

#[test]
fn sealed_requests_routed_without_a_sealed_dir_are_ebadf() {
    let dir = TempDir::new();
    let mut run = Run::new(&[("/data", &dir.0)], 4096, None);
    assert_eq!(run.open(SEALED, b"f", O_CREAT), Err(Errno::BADF));
    assert_eq!(run.close(u64::from(SEALED_BIT) + 1), Err(Errno::BADF));
    assert_eq!(run.served, 0);
}

/// A garbage answer to `r`: a quarter of them random in every field, the rest plausible (the
/// right sequence number, mostly success, counts within what was asked, a small handle), so
/// that jobs go deep before they fail.
fn garbage(rng: &mut Xorshift, r: &Request<'_>, o: &mut [u8]) -> Told {
    for b in o.iter_mut() {
        *b = rng.next() as u8;
    }
    if rng.below(4) == 0 {
        let seq = match rng.below(3) {
            0 => rng.next(),
            1 => r.seq.wrapping_sub(1),
            _ => r.seq,
        };
        let errno = match rng.below(3) {
            0 => rng.below(77) as u16,
            _ => rng.next() as u16,
        };
        let values = [rng.next(), rng.below(8), rng.next(), rng.next()];
        let len = rng.below(o.len() as u64 + 1) as usize;
        return Told {
            seq,
            errno,
            values,
            len,
        };
    }
    let errno = match rng.below(10) {
        0 => 44,
        1 => rng.below(77) as u16,
        _ => 0,
    };
    let asked = match r.op {
        FileOp::Read => r.args[1],
        FileOp::Readdir => r.args[2],
        _ => 0,
    }
    .min(o.len() as u64);
    let mut len = rng.below(asked + 1) as usize;
    let first = match r.op {
        FileOp::Open => 1 + rng.below(9),
        FileOp::Write => match rng.below(3) {
            0 => rng.below(r.data.len() as u64 + 2),
            _ => r.data.len() as u64,
        },
        _ => rng.below(3),
    };
    // Sometimes a well-formed dirent listing (of names that do not decode).
    if r.op == FileOp::Readdir && rng.below(2) == 0 {
        let name = b"00112233445566778899aabbccddeeff0011";
        len = 0;
        while len + 24 + name.len() <= (asked as usize).min(200) {
            o[len..len + 8].copy_from_slice(&rng.below(4).to_le_bytes());
            o[len + 16..len + 20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            o[len + 24..len + 24 + name.len()].copy_from_slice(name);
            len += 24 + name.len();
        }
    }
    Told {
        seq: r.seq,
        errno,
        values: [first, rng.below(8), 0, 0],
        len,
    }
}

#[test]
fn a_garbage_tool_never_makes_the_sealed_dir_panic() {
    let (data, sealed) = (TempDir::new(), TempDir::new());
    let mut run = sealed_run(&data, &sealed, 1, 2048);
    run.create(SEALED, b"kept", b"kept across the garbage");
    let mut rng = Xorshift(0x0123_4567_89ab_cdef);
    let file = u64::from(SEALED_BIT) + 1;
    let mut replies = 0usize;
    let mut round = 0u64;
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    while replies < 3000 {
        round += 1;
        let three: [&[u8]; 3] = [b"kept", b"f", b"g"];
        let name = three[(round % 3) as usize];
        let other = three[((round + 2) % 3) as usize];
        let req = match round % 9 {
            0 => FileRequest {
                path: name,
                ..on(FileOp::Open, SEALED, &[0, O_CREAT, 0, READ_WRITE])
            },
            1 => FileRequest {
                path: name,
                ..on(FileOp::Open, SEALED, &[0, O_TRUNC, 1, READ_WRITE])
            },
            2 => on(FileOp::Readdir, SEALED, &[0, 512]),
            3 => FileRequest {
                path: name,
                ..on(FileOp::PathFilestat, SEALED, &[0])
            },
            4 => FileRequest {
                path: name,
                ..on(FileOp::Unlink, SEALED, &[])
            },
            5 => FileRequest {
                path: name,
                path2: other,
                ..on(FileOp::Rename, SEALED, &[SEALED])
            },
            6 => FileRequest {
                data: b"some bytes",
                ..on(FileOp::Write, file + rng.below(3), &[])
            },
            7 => on(FileOp::SetSize, file + rng.below(3), &[rng.below(5000)]),
            _ => on(FileOp::Close, file + rng.below(3), &[]),
        };
        let mut out = [0u8; 512];
        let before = run.served;
        let mut garbage =
            |r: &Request<'_>, _: &mut FileServer, o: &mut [u8]| garbage(&mut rng, r, o);
        let a = run.call_with(&req, &mut out, &mut garbage);
        *answers.entry(a.errno.0).or_default() += 1;
        replies += run.served - before;
    }
    assert!(
        answers.len() > 1,
        "garbage gives various answers: {answers:?}"
    );
    assert!(answers.contains_key(&Errno::IO.0), "{answers:?}");

    // Whatever the garbage let it open, closed (so the table has room).
    for h in 1..=64 {
        let _ = run.close(u64::from(SEALED_BIT) + h);
    }
    // The honest tool again: the run goes on, and what was stored before is intact (the
    // garbage tool never touched the host directory).
    assert_eq!(
        run.read_file(SEALED, b"kept").expect("kept"),
        b"kept across the garbage"
    );
    run.create(SEALED, b"after", b"after the garbage");
    assert_eq!(
        run.read_file(SEALED, b"after").expect("after"),
        b"after the garbage"
    );
    let mut fresh = sealed_run(&data, &sealed, 1, 2048);
    assert_eq!(
        fresh.list(SEALED).expect("list"),
        names_of(&["after", "kept"])
    );
}
