//! Host tests of the file server against temporary directories: every op, hostile paths
//! and handles, and directory listings across calls.

use super::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory `base` holding `root` (granted as handle 1), `root2` (handle 2) and
/// `outside.txt` (not granted); removed on drop.
struct Fixture {
    base: PathBuf,
    root: PathBuf,
    srv: FileServer,
    out: Vec<u8>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Fixture {
    fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("tzwasm-fsrv-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let root = base.join("root");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(base.join("root2")).unwrap();
        fs::write(base.join("outside.txt"), b"secret").unwrap();
        let dirs = [("data", root.clone()), ("other", base.join("root2"))];
        let (srv, pre) = FileServer::new(&dirs).unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!((pre[0].handle, pre[0].name), (1, &b"data"[..]));
        assert_eq!((pre[1].handle, pre[1].name), (2, &b"other"[..]));
        Fixture {
            base,
            root,
            srv,
            out: vec![0; 64 << 10],
        }
    }

    fn call(&mut self, op: FileOp, args: &[u64], path: &[u8], path2: &[u8], data: &[u8]) -> Answer {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        let req = Request {
            seq: 7,
            op,
            args: a,
            path,
            path2,
            data,
        };
        let ans = self.srv.serve(&req, &mut self.out);
        assert!(ans.len <= self.out.len());
        let reply = ans.reply(7, &self.out);
        assert_eq!(reply.data.len(), ans.len);
        ans
    }

    fn path(&mut self, op: FileOp, args: &[u64], path: &str) -> u16 {
        self.call(op, args, path.as_bytes(), b"", b"").errno
    }

    /// Opens `path` in handle 1: `(errno, handle, filetype)`.
    fn open(
        &mut self,
        path: &str,
        lookup: u64,
        oflags: u64,
        fdflags: u64,
        access: u64,
    ) -> (u16, u32, u8) {
        let a = self.call(
            FileOp::Open,
            &[1, lookup, oflags, fdflags, access],
            path.as_bytes(),
            b"",
            b"",
        );
        (a.errno, a.values[0] as u32, a.values[1] as u8)
    }

    fn ok_open(&mut self, path: &str, oflags: u64, access: u64) -> u32 {
        let (e, h, _) = self.open(path, SYMLINK_FOLLOW, oflags, 0, access);
        assert_eq!(e, 0, "open {path}");
        h
    }

    fn read(&mut self, h: u32, len: u64) -> Vec<u8> {
        let a = self.call(FileOp::Read, &[h.into(), len], b"", b"", b"");
        assert_eq!(a.errno, 0);
        self.out[..a.len].to_vec()
    }

    fn stat(&mut self, h: u32) -> [u8; 64] {
        let a = self.call(FileOp::Filestat, &[h.into()], b"", b"", b"");
        assert_eq!((a.errno, a.len), (0, 64));
        self.out[..64].try_into().unwrap()
    }

    fn path_stat(&mut self, path: &str, follow: bool) -> Result<[u8; 64], u16> {
        let a = self.call(
            FileOp::PathFilestat,
            &[1, follow as u64],
            path.as_bytes(),
            b"",
            b"",
        );
        if a.errno != 0 {
            return Err(a.errno);
        }
        Ok(self.out[..64].try_into().unwrap())
    }

    /// The entries of `base` and `root` (recursively), to check nothing appeared outside.
    fn base_listing(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.base)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn u64_at(rec: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(rec[at..at + 8].try_into().unwrap())
}

#[test]
fn errno_table() {
    assert_eq!(wasi_errno(libc::ENOENT), 44);
    assert_eq!(wasi_errno(libc::EXDEV), 75);
    assert_eq!(wasi_errno(libc::EPERM), 63);
    assert_eq!(wasi_errno(libc::ENOTEMPTY), 55);
    assert_eq!(wasi_errno(libc::EEXIST), 20);
    assert_eq!(wasi_errno(libc::ELOOP), 32);
    assert_eq!(wasi_errno(libc::EAGAIN), 6);
    assert_eq!(wasi_errno(libc::ENOTSUP), 58);
    assert_eq!(wasi_errno(libc::ETXTBSY), 74);
    assert_eq!(wasi_errno(9999), errno::IO);
}

#[test]
fn lexical_checks() {
    assert_eq!(check_path(b""), Err(errno::NOENT));
    assert_eq!(check_path(b"a\0b"), Err(errno::INVAL));
    assert_eq!(check_path(b"/etc/passwd"), Err(errno::NOTCAPABLE));
    assert_eq!(check_path(b".."), Err(errno::NOTCAPABLE));
    assert_eq!(check_path(b"a/../../x"), Err(errno::NOTCAPABLE));
    assert_eq!(check_path(b"./.././x"), Err(errno::NOTCAPABLE));
    assert_eq!(check_path(b"a/../b"), Ok(()));
    assert_eq!(check_path(b"a//b/./c/"), Ok(()));
}

#[test]
fn file_read_write_seek_stat_close() {
    let mut f = Fixture::new();
    let (e, h, ft) = f.open("a.txt", SYMLINK_FOLLOW, O_CREAT, 0, 3);
    assert_eq!((e, ft), (0, filetype::REGULAR_FILE));
    assert!(h > 2);
    let a = f.call(FileOp::Write, &[h.into()], b"", b"", b"hello world");
    assert_eq!((a.errno, a.values[0]), (0, 11));
    let a = f.call(FileOp::Seek, &[h.into(), 0, 0], b"", b"", b"");
    assert_eq!((a.errno, a.values[0]), (0, 0));
    assert_eq!(f.read(h, 5), b"hello");
    // tell = seek(0, CUR)
    assert_eq!(
        f.call(FileOp::Seek, &[h.into(), 0, 1], b"", b"", b"")
            .values[0],
        5
    );
    let a = f.call(FileOp::Pread, &[h.into(), 5, 6], b"", b"", b"");
    assert_eq!((a.errno, &f.out[..a.len]), (0, &b"world"[..]));
    let a = f.call(FileOp::Pwrite, &[h.into(), 6], b"", b"", b"W");
    assert_eq!((a.errno, a.values[0]), (0, 1));
    // pread/pwrite leave the offset alone
    assert_eq!(
        f.call(FileOp::Seek, &[h.into(), 0, 1], b"", b"", b"")
            .values[0],
        5
    );
    assert_eq!(
        f.call(FileOp::Seek, &[h.into(), (-2i64) as u64, 2], b"", b"", b"")
            .values[0],
        9
    );
    assert_eq!(f.read(h, 100), b"ld");
    assert_eq!(f.read(h, 100), b"");
    // a negative result and a bad whence are EINVAL
    assert_eq!(
        f.call(
            FileOp::Seek,
            &[h.into(), (-100i64) as u64, 1],
            b"",
            b"",
            b""
        )
        .errno,
        errno::INVAL
    );
    assert_eq!(
        f.call(FileOp::Seek, &[h.into(), 0, 3], b"", b"", b"").errno,
        errno::INVAL
    );
    // reads are bounded by the output buffer
    let mut small = [0u8; 4];
    let req = Request {
        seq: 1,
        op: FileOp::Pread,
        args: [h.into(), 1 << 40, 0, 0, 0, 0],
        path: b"",
        path2: b"",
        data: b"",
    };
    let a = f.srv.serve(&req, &mut small);
    assert_eq!((a.errno, a.len, &small), (0, 4, b"hell"));
    let st = f.stat(h);
    assert_eq!(st[16], filetype::REGULAR_FILE);
    assert_eq!(u64_at(&st, 32), 11);
    assert_eq!(u64_at(&st, 24), 1);
    let md = fs::metadata(f.root.join("a.txt")).unwrap();
    assert_eq!(u64_at(&st, 8), md.ino());
    assert_eq!(u64_at(&st, 0), md.dev());
    assert_eq!(
        f.call(FileOp::SetSize, &[h.into(), 3], b"", b"", b"").errno,
        0
    );
    assert_eq!(u64_at(&f.stat(h), 32), 3);
    for op in [FileOp::Sync, FileOp::Datasync] {
        assert_eq!(f.call(op, &[h.into()], b"", b"", b"").errno, 0);
    }
    assert_eq!(
        f.call(FileOp::Advise, &[h.into(), 0, 3, 1], b"", b"", b"")
            .errno,
        0
    );
    assert_eq!(
        f.call(FileOp::Advise, &[h.into(), 0, 3, 6], b"", b"", b"")
            .errno,
        errno::INVAL
    );
    assert_eq!(
        f.call(FileOp::Allocate, &[h.into(), 0, 100], b"", b"", b"")
            .errno,
        0
    );
    assert_eq!(u64_at(&f.stat(h), 32), 100);
    assert_eq!(
        f.call(FileOp::SetSize, &[h.into(), 3], b"", b"", b"").errno,
        0
    );
    let before = f.srv.open_handles();
    assert_eq!(f.call(FileOp::Close, &[h.into()], b"", b"", b"").errno, 0);
    assert_eq!(f.srv.open_handles(), before - 1);
    assert_eq!(
        f.call(FileOp::Read, &[h.into(), 1], b"", b"", b"").errno,
        errno::BADF
    );
    assert_eq!(
        f.call(FileOp::Close, &[h.into()], b"", b"", b"").errno,
        errno::BADF
    );
    assert_eq!(fs::read(f.root.join("a.txt")).unwrap(), b"hel");
}

#[test]
fn open_flags_and_fd_flags() {
    let mut f = Fixture::new();
    fs::write(f.root.join("f"), b"12345").unwrap();
    fs::create_dir(f.root.join("sub")).unwrap();
    assert_eq!(f.open("f", 1, O_CREAT | O_EXCL, 0, 3).0, 20); // EEXIST
    assert_eq!(f.open("f", 1, O_DIRECTORY, 0, 1).0, errno::NOTDIR);
    assert_eq!(f.open("missing", 1, 0, 0, 1).0, errno::NOENT);
    let (e, d, ft) = f.open("sub", 1, O_DIRECTORY, 0, 1);
    assert_eq!((e, ft), (0, filetype::DIRECTORY));
    // a directory is no file to read or seek
    assert_eq!(
        f.call(FileOp::Read, &[d.into(), 4], b"", b"", b"").errno,
        errno::ISDIR
    );
    assert_eq!(
        f.call(FileOp::Seek, &[d.into(), 0, 0], b"", b"", b"").errno,
        errno::SPIPE
    );
    // open relative to an opened directory
    let a = f.call(
        FileOp::Open,
        &[d.into(), 1, O_CREAT, 0, 2],
        b"inner",
        b"",
        b"",
    );
    assert_eq!(a.errno, 0);
    assert!(f.root.join("sub/inner").is_file());
    // a file handle where a directory is needed
    let h = f.ok_open("f", 0, 1);
    let a = f.call(FileOp::Open, &[h.into(), 1, 0, 0, 1], b"x", b"", b"");
    assert_eq!(a.errno, errno::NOTDIR);
    assert_eq!(
        f.call(FileOp::Readdir, &[h.into(), 0, 100], b"", b"", b"")
            .errno,
        errno::NOTDIR
    );
    assert_eq!(
        f.call(FileOp::Mkdir, &[h.into()], b"x", b"", b"").errno,
        errno::NOTDIR
    );
    // read-only: writing is EBADF from the host
    assert_eq!(
        f.call(FileOp::Write, &[h.into()], b"", b"", b"x").errno,
        errno::BADF
    );
    // TRUNC
    let t = f.ok_open("f", O_TRUNC, 2);
    assert_eq!(u64_at(&f.stat(t), 32), 0);
    // APPEND at open, and through SetFlags
    fs::write(f.root.join("g"), b"ab").unwrap();
    let (e, g, _) = f.open("g", 1, 0, FD_APPEND, 2);
    assert_eq!(e, 0);
    assert_eq!(f.call(FileOp::Write, &[g.into()], b"", b"", b"cd").errno, 0);
    let g2 = f.ok_open("g", 0, 3);
    assert_eq!(
        f.call(FileOp::SetFlags, &[g2.into(), FD_APPEND], b"", b"", b"")
            .errno,
        0
    );
    assert_eq!(
        f.call(FileOp::Write, &[g2.into()], b"", b"", b"ef").errno,
        0
    );
    assert_eq!(
        f.call(FileOp::SetFlags, &[g2.into(), 1 << 9], b"", b"", b"")
            .errno,
        errno::INVAL
    );
    assert_eq!(fs::read(f.root.join("g")).unwrap(), b"abcdef");
    // bad oflags / access bits
    assert_eq!(f.open("g", 1, 1 << 5, 0, 1).0, errno::INVAL);
    assert_eq!(f.open("g", 1, 0, 0, 4).0, errno::INVAL);
}

#[test]
fn directories_names_and_links() {
    let mut f = Fixture::new();
    fs::write(f.root.join("a.txt"), b"A").unwrap();
    assert_eq!(f.path(FileOp::Mkdir, &[1], "d"), 0);
    assert!(f.root.join("d").is_dir());
    assert_eq!(f.path(FileOp::Mkdir, &[1], "d"), 20);
    assert_eq!(f.path(FileOp::Mkdir, &[1], "d/e/"), 0);
    assert_eq!(f.path(FileOp::Mkdir, &[1], "."), 20);
    assert_eq!(f.path(FileOp::Rmdir, &[1], "d"), 55); // ENOTEMPTY
    assert_eq!(f.path(FileOp::Unlink, &[1], "d"), errno::ISDIR);
    assert_eq!(f.path(FileOp::Rmdir, &[1], "a.txt"), errno::NOTDIR);
    assert_eq!(f.path(FileOp::Unlink, &[1], "a.txt/"), errno::NOTDIR);
    assert_eq!(f.path(FileOp::Rmdir, &[1], "."), errno::INVAL);
    assert_eq!(f.path(FileOp::Rmdir, &[1], "d/e/.."), errno::INVAL);
    assert_eq!(f.path(FileOp::Rmdir, &[1], "d/e"), 0);
    assert_eq!(f.path(FileOp::Rmdir, &[1], "d"), 0);
    assert!(!f.root.join("d").exists());
    // rename, within and between preopens
    assert_eq!(
        f.call(FileOp::Rename, &[1, 1], b"a.txt", b"b.txt", b"")
            .errno,
        0
    );
    assert!(f.root.join("b.txt").is_file() && !f.root.join("a.txt").exists());
    assert_eq!(
        f.call(FileOp::Rename, &[1, 2], b"b.txt", b"moved.txt", b"")
            .errno,
        0
    );
    assert_eq!(fs::read(f.base.join("root2/moved.txt")).unwrap(), b"A");
    assert_eq!(
        f.call(FileOp::Rename, &[2, 1], b"moved.txt", b"a.txt", b"")
            .errno,
        0
    );
    assert_eq!(
        f.call(FileOp::Rename, &[1, 1], b"missing", b"x", b"").errno,
        errno::NOENT
    );
    // hard links
    assert_eq!(
        f.call(FileOp::Link, &[1, 0, 1], b"a.txt", b"hard", b"")
            .errno,
        0
    );
    assert_eq!(u64_at(&f.path_stat("hard", false).unwrap(), 24), 2);
    assert_eq!(
        f.call(FileOp::Link, &[1, 0, 2], b"a.txt", b"hard2", b"")
            .errno,
        0
    );
    assert!(f.base.join("root2/hard2").is_file());
    fs::create_dir(f.root.join("sub")).unwrap();
    assert_eq!(
        f.call(FileOp::Link, &[1, 0, 1], b"sub", b"subl", b"").errno,
        63
    ); // EPERM
    assert_eq!(
        f.call(FileOp::Link, &[1, 0, 1], b"a.txt", b"hard", b"")
            .errno,
        20
    );
    // symlinks
    assert_eq!(f.call(FileOp::Symlink, &[1], b"a.txt", b"sl", b"").errno, 0);
    assert_eq!(
        fs::read_link(f.root.join("sl")).unwrap(),
        Path::new("a.txt")
    );
    let a = f.call(FileOp::Readlink, &[1, 100], b"sl", b"", b"");
    assert_eq!((a.errno, &f.out[..a.len]), (0, &b"a.txt"[..]));
    let a = f.call(FileOp::Readlink, &[1, 3], b"sl", b"", b"");
    assert_eq!((a.errno, &f.out[..a.len]), (0, &b"a.t"[..]));
    assert_eq!(
        f.call(FileOp::Readlink, &[1, 100], b"a.txt", b"", b"")
            .errno,
        errno::INVAL
    );
    // a hard link to the symlink itself (no follow), and through it (follow)
    assert_eq!(
        f.call(FileOp::Link, &[1, 0, 1], b"sl", b"sl2", b"").errno,
        0
    );
    assert!(fs::symlink_metadata(f.root.join("sl2"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        f.call(FileOp::Link, &[1, 1, 1], b"sl", b"hard3", b"").errno,
        0
    );
    assert!(fs::symlink_metadata(f.root.join("hard3"))
        .unwrap()
        .is_file());
    assert_eq!(f.path(FileOp::Unlink, &[1], "sl"), 0);
    assert!(!f.root.join("sl").exists() && f.root.join("a.txt").exists());
}

#[test]
fn stats_and_times() {
    let mut f = Fixture::new();
    fs::write(f.root.join("a.txt"), b"abc").unwrap();
    symlink("a.txt", f.root.join("ln")).unwrap();
    let st = f.path_stat("a.txt", false).unwrap();
    assert_eq!((st[16], u64_at(&st, 32)), (filetype::REGULAR_FILE, 3));
    assert_eq!(
        f.path_stat("ln", false).unwrap()[16],
        filetype::SYMBOLIC_LINK
    );
    assert_eq!(f.path_stat("ln", true).unwrap()[16], filetype::REGULAR_FILE);
    assert_eq!(f.path_stat(".", true).unwrap()[16], filetype::DIRECTORY);
    assert_eq!(f.path_stat("nope", true), Err(errno::NOENT));
    let (atim, mtim) = (1_000_000_000_123u64, 2_000_000_000_456u64);
    let a = f.call(
        FileOp::PathSetTimes,
        &[1, 1, atim, mtim, ATIM | MTIM],
        b"ln",
        b"",
        b"",
    );
    assert_eq!(a.errno, 0);
    let st = f.path_stat("a.txt", false).unwrap();
    assert_eq!((u64_at(&st, 40), u64_at(&st, 48)), (atim, mtim));
    // only mtime; atime kept
    let a = f.call(
        FileOp::PathSetTimes,
        &[1, 0, 0, 5_000_000_000, MTIM],
        b"a.txt",
        b"",
        b"",
    );
    assert_eq!(a.errno, 0);
    let st = f.path_stat("a.txt", false).unwrap();
    assert_eq!((u64_at(&st, 40), u64_at(&st, 48)), (atim, 5_000_000_000));
    // no follow: the link's own times (the file is unchanged)
    let a = f.call(
        FileOp::PathSetTimes,
        &[1, 0, 7, 7_000_000_000, MTIM],
        b"ln",
        b"",
        b"",
    );
    assert_eq!(a.errno, 0);
    assert_eq!(
        u64_at(&f.path_stat("ln", false).unwrap(), 48),
        7_000_000_000
    );
    assert_eq!(
        u64_at(&f.path_stat("a.txt", false).unwrap(), 48),
        5_000_000_000
    );
    let h = f.ok_open("a.txt", 0, 3);
    let a = f.call(
        FileOp::SetTimes,
        &[h.into(), 0, 9_000_000_001, MTIM],
        b"",
        b"",
        b"",
    );
    assert_eq!(a.errno, 0);
    assert_eq!(u64_at(&f.stat(h), 48), 9_000_000_001);
    assert_eq!(
        f.call(FileOp::SetTimes, &[h.into(), 0, 0, MTIM_NOW], b"", b"", b"")
            .errno,
        0
    );
    assert!(u64_at(&f.stat(h), 48) > 1_600_000_000_000_000_000);
    for bad in [ATIM | ATIM_NOW, MTIM | MTIM_NOW, 16] {
        assert_eq!(
            f.call(FileOp::SetTimes, &[h.into(), 0, 0, bad], b"", b"", b"")
                .errno,
            errno::INVAL
        );
    }
    // a filestat needs 64 bytes of room
    let mut small = [0u8; 63];
    let req = Request {
        seq: 1,
        op: FileOp::Filestat,
        args: [h.into(), 0, 0, 0, 0, 0],
        path: b"",
        path2: b"",
        data: b"",
    };
    assert_eq!(f.srv.serve(&req, &mut small).errno, errno::NOBUFS);
}

#[test]
fn hostile_paths_stay_inside() {
    let mut f = Fixture::new();
    fs::write(f.root.join("a.txt"), b"inside").unwrap();
    fs::create_dir(f.root.join("sub")).unwrap();
    symlink("../outside.txt", f.root.join("esc")).unwrap();
    symlink("/etc/passwd", f.root.join("abs")).unwrap();
    symlink("..", f.root.join("up")).unwrap();
    symlink(&f.base, f.root.join("absdir")).unwrap();
    symlink("../created", f.root.join("dangling")).unwrap();
    symlink(f.base.join("created2"), f.root.join("dangling_abs")).unwrap();
    let before = f.base_listing();
    let nc = errno::NOTCAPABLE;
    for p in [
        "../x",
        "/etc/passwd",
        "sub/../../x",
        "a.txt/../../x",
        "..",
        "up/x",
        "absdir/x",
        "esc",
        "abs",
    ] {
        assert_eq!(f.open(p, 1, O_CREAT, 0, 3).0, nc, "open {p}");
    }
    for p in [
        "../x",
        "/tmp/x",
        "sub/../../x",
        "up/x",
        "absdir/x",
        "up/outside.txt",
    ] {
        assert_eq!(f.path(FileOp::Mkdir, &[1], p), nc, "mkdir {p}");
        assert_eq!(f.path(FileOp::Unlink, &[1], p), nc, "unlink {p}");
        assert_eq!(f.path(FileOp::Rmdir, &[1], p), nc, "rmdir {p}");
        assert_eq!(f.path_stat(p, true), Err(nc), "stat {p}");
        assert_eq!(f.path_stat(p, false), Err(nc), "lstat {p}");
        assert_eq!(
            f.call(FileOp::Rename, &[1, 1], b"a.txt", p.as_bytes(), b"")
                .errno,
            nc,
            "rename {p}"
        );
        assert_eq!(
            f.call(FileOp::Rename, &[1, 1], p.as_bytes(), b"got", b"")
                .errno,
            nc,
            "rename from {p}"
        );
        assert_eq!(
            f.call(FileOp::Link, &[1, 0, 1], b"a.txt", p.as_bytes(), b"")
                .errno,
            nc,
            "link {p}"
        );
        assert_eq!(
            f.call(FileOp::Link, &[1, 0, 1], p.as_bytes(), b"got", b"")
                .errno,
            nc,
            "link from {p}"
        );
        assert_eq!(
            f.call(FileOp::Symlink, &[1], b"a.txt", p.as_bytes(), b"")
                .errno,
            nc,
            "symlink {p}"
        );
        assert_eq!(
            f.call(FileOp::Readlink, &[1, 64], p.as_bytes(), b"", b"")
                .errno,
            nc,
            "readlink {p}"
        );
        let a = f.call(
            FileOp::PathSetTimes,
            &[1, 1, 0, 0, MTIM],
            p.as_bytes(),
            b"",
            b"",
        );
        assert_eq!(a.errno, nc, "utimes {p}");
    }
    // following a link that leaves: ENOTCAPABLE; the link itself can be read and stat'ed
    for p in ["esc", "abs"] {
        assert_eq!(f.open(p, 1, 0, 0, 1).0, nc);
        assert_eq!(f.path_stat(p, true), Err(nc));
        assert_eq!(f.path_stat(p, false).unwrap()[16], filetype::SYMBOLIC_LINK);
        let a = f.call(
            FileOp::PathSetTimes,
            &[1, 1, 0, 0, MTIM],
            p.as_bytes(),
            b"",
            b"",
        );
        assert_eq!(a.errno, nc);
        assert_eq!(
            f.call(FileOp::Link, &[1, 1, 1], p.as_bytes(), b"got", b"")
                .errno,
            nc
        );
    }
    // creating through a dangling link whose target is outside
    for p in ["dangling", "dangling_abs"] {
        assert_eq!(f.open(p, 1, O_CREAT, 0, 3).0, nc);
        assert_eq!(f.open(p, 1, O_CREAT | O_EXCL, 0, 3).0, 20); // the name exists (the link)
        let a = f.call(
            FileOp::PathSetTimes,
            &[1, 1, 0, 0, MTIM],
            p.as_bytes(),
            b"",
            b"",
        );
        assert_eq!(a.errno, nc);
    }
    let a = f.call(FileOp::Readlink, &[1, 64], b"esc", b"", b"");
    assert_eq!(&f.out[..a.len], b"../outside.txt");
    // NUL in a path
    assert_eq!(f.open("a\0b", 1, O_CREAT, 0, 3).0, errno::INVAL);
    assert_eq!(f.path(FileOp::Mkdir, &[1], "a\0"), errno::INVAL);
    assert_eq!(
        f.call(FileOp::Symlink, &[1], b"a\0", b"n", b"").errno,
        errno::INVAL
    );
    // empty
    assert_eq!(f.open("", 1, 0, 0, 1).0, errno::NOENT);
    // nothing was created or changed outside, nothing stray inside
    assert_eq!(f.base_listing(), before);
    assert_eq!(fs::read(f.base.join("outside.txt")).unwrap(), b"secret");
    assert!(!f.root.join("got").exists());
    let md = fs::metadata(f.base.join("outside.txt")).unwrap();
    assert_ne!(md.mtime(), 0);
}

#[test]
fn symlinks_inside_are_followed() {
    let mut f = Fixture::new();
    fs::write(f.root.join("a.txt"), b"inside").unwrap();
    fs::create_dir(f.root.join("sub")).unwrap();
    symlink("a.txt", f.root.join("in")).unwrap();
    symlink("sub", f.root.join("ind")).unwrap();
    symlink("../a.txt", f.root.join("sub/back")).unwrap();
    symlink("l2", f.root.join("l1")).unwrap();
    symlink("l1", f.root.join("l2")).unwrap();
    let h = f.ok_open("in", 0, 1);
    assert_eq!(f.read(h, 64), b"inside");
    let h = f.ok_open("sub/back", 0, 1);
    assert_eq!(f.read(h, 64), b"inside");
    let (e, _, ft) = f.open("ind", 1, O_DIRECTORY, 0, 1);
    assert_eq!((e, ft), (0, filetype::DIRECTORY));
    assert_eq!(f.path(FileOp::Mkdir, &[1], "ind/made"), 0);
    assert!(f.root.join("sub/made").is_dir());
    let h = f.ok_open("ind/new.txt", O_CREAT, 2);
    assert_eq!(
        f.call(FileOp::Write, &[h.into()], b"", b"", b"via link")
            .errno,
        0
    );
    assert_eq!(fs::read(f.root.join("sub/new.txt")).unwrap(), b"via link");
    // O_NOFOLLOW on a link: ELOOP, also with O_DIRECTORY (Linux says ENOTDIR there)
    assert_eq!(f.open("in", 0, 0, 0, 1).0, errno::LOOP);
    assert_eq!(f.open("ind", 0, O_DIRECTORY, 0, 1).0, errno::LOOP);
    // loops
    assert_eq!(f.open("l1", 1, 0, 0, 1).0, errno::LOOP);
    assert_eq!(f.path_stat("l1", true), Err(errno::LOOP));
    let a = f.call(FileOp::PathSetTimes, &[1, 1, 0, 0, MTIM], b"l1", b"", b"");
    assert_eq!(a.errno, errno::LOOP);
    // symlink creation: WAMR's rule (an existing target outside every preopen is EBADF)
    assert_eq!(
        f.call(FileOp::Symlink, &[1], b"/etc/passwd", b"p", b"")
            .errno,
        errno::BADF
    );
    let outside = f.base.join("outside.txt");
    let a = f.call(
        FileOp::Symlink,
        &[1],
        outside.as_os_str().as_bytes(),
        b"p",
        b"",
    );
    assert_eq!(a.errno, errno::BADF);
    let inside = f.root.join("a.txt");
    assert_eq!(
        f.call(
            FileOp::Symlink,
            &[1],
            inside.as_os_str().as_bytes(),
            b"p",
            b""
        )
        .errno,
        0
    );
    assert_eq!(
        f.call(FileOp::Symlink, &[1], b"does/not/exist", b"q", b"")
            .errno,
        0
    );
    assert!(fs::symlink_metadata(f.root.join("q"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn unknown_handles() {
    let mut f = Fixture::new();
    for h in [0u64, 3, 999, 1025, u32::MAX as u64 + 2, u64::MAX] {
        for op in FileOp::ALL {
            let a = f.call(op, &[h, 0, h, 0, 0, 0], b"x", b"y", b"z");
            assert_eq!(a.errno, errno::BADF, "{op:?} on handle {h}");
            assert_eq!(a.len, 0);
        }
    }
}

#[test]
fn handle_table_is_bounded() {
    let mut f = Fixture::new();
    fs::write(f.root.join("a"), b"").unwrap();
    let mut last = 0;
    for _ in 2..MAX_HANDLES {
        last = f.ok_open("a", 0, 1);
    }
    assert_eq!(f.srv.open_handles(), MAX_HANDLES);
    assert_eq!(last as usize, MAX_HANDLES);
    assert_eq!(f.open("a", 1, 0, 0, 1).0, errno::MFILE);
    assert_eq!(f.call(FileOp::Close, &[5], b"", b"", b"").errno, 0);
    assert_eq!(f.ok_open("a", 0, 1), 5);
}

/// Lists handle `h` with `fd_readdir` calls of `buf` bytes, as wasi-libc does: records are
/// parsed until one is cut off, and the next call starts at the last whole record's cookie.
fn list(f: &mut Fixture, h: u32, buf: u64) -> (Vec<(String, u8, u64)>, usize) {
    let mut cookie = 0u64;
    let mut names = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls < 10_000);
        let a = f.call(FileOp::Readdir, &[h.into(), cookie, buf], b"", b"", b"");
        assert_eq!(a.errno, 0);
        assert!(a.len as u64 <= buf);
        let data = f.out[..a.len].to_vec();
        let mut at = 0;
        let mut whole = 0;
        while at + DIRENT_SIZE <= data.len() {
            let next = u64_at(&data, at);
            let ino = u64_at(&data, at + 8);
            let namlen = u32::from_le_bytes(data[at + 16..at + 20].try_into().unwrap()) as usize;
            if at + DIRENT_SIZE + namlen > data.len() {
                break;
            }
            let name = String::from_utf8(data[at + 24..at + 24 + namlen].to_vec()).unwrap();
            names.push((name, data[at + 20], ino));
            cookie = next;
            whole += 1;
            at += DIRENT_SIZE + namlen;
        }
        if a.len < buf as usize {
            assert_eq!(at, data.len(), "a short answer holds whole records only");
            return (names, calls);
        }
        assert!(whole > 0, "buffer {buf} too small for one record");
    }
}

#[test]
fn readdir_across_calls() {
    let mut f = Fixture::new();
    fs::create_dir(f.root.join("dir")).unwrap();
    fs::create_dir(f.root.join("dir/subdir")).unwrap();
    for i in 0..300 {
        fs::write(
            f.root
                .join(format!("dir/entry-with-a-rather-long-name-number-{i:03}")),
            b"x",
        )
        .unwrap();
    }
    symlink("subdir", f.root.join("dir/link")).unwrap();
    let (e, h, _) = f.open("dir", 1, O_DIRECTORY, 0, 1);
    assert_eq!(e, 0);
    for buf in [100u64, 300, 4096, 65536] {
        let (names, calls) = list(&mut f, h, buf);
        let mut seen = BTreeMap::new();
        for (n, t, ino) in &names {
            assert!(
                seen.insert(n.clone(), (*t, *ino)).is_none(),
                "{n} listed twice (buffer {buf})"
            );
        }
        assert_eq!(seen.len(), 304, "buffer {buf}");
        assert_eq!(seen["."].0, filetype::DIRECTORY);
        assert_eq!(seen[".."].0, filetype::DIRECTORY);
        assert_eq!(seen["subdir"].0, filetype::DIRECTORY);
        assert_eq!(seen["link"].0, filetype::SYMBOLIC_LINK);
        let md = fs::metadata(f.root.join("dir/subdir")).unwrap();
        assert_eq!(seen["subdir"].1, md.ino());
        assert_eq!(
            seen["entry-with-a-rather-long-name-number-042"].0,
            filetype::REGULAR_FILE
        );
        if buf == 100 {
            assert!(calls > 300);
        }
    }
    // fd_readdir's edge cases: a cut-off record fills the buffer exactly, 0 bytes gives 0
    let a = f.call(FileOp::Readdir, &[h.into(), 0, 30], b"", b"", b"");
    assert_eq!((a.errno, a.len), (0, 30));
    let a = f.call(FileOp::Readdir, &[h.into(), 0, 0], b"", b"", b"");
    assert_eq!((a.errno, a.len), (0, 0));
    // the listing of a preopen handle, and of an empty directory
    fs::create_dir(f.root.join("empty")).unwrap();
    let (_, eh, _) = f.open("empty", 1, O_DIRECTORY, 0, 1);
    let (names, _) = list(&mut f, eh, 4096);
    let mut n: Vec<_> = names.into_iter().map(|x| x.0).collect();
    n.sort();
    assert_eq!(n, [".", ".."]);
    let (names, _) = list(&mut f, 1, 4096);
    assert_eq!(names.len(), 4); // . .. dir empty
}

#[repr(C, align(64))]
struct Block([u8; tzwasm_smc::files::block_size(8192)]);

#[test]
fn through_the_channel() {
    use tzwasm_smc::files::Channel;
    use tzwasm_smc::shared::SharedRegion;
    let f = Fixture::new();
    fs::write(f.root.join("a.txt"), b"over the channel").unwrap();
    let dirs = [("data", f.root.clone())];
    let (mut srv, pre) = FileServer::new(&dirs).unwrap();
    let mut block = Box::new(Block([0; tzwasm_smc::files::block_size(8192)]));
    // SAFETY: the block is 64-aligned, lives for the test and is only used through the region.
    let mem = unsafe { SharedRegion::new(block.0.as_mut_ptr(), block.0.len()) }.unwrap();
    let tool = Channel::format(mem, &pre).unwrap();
    let secure = Channel::attach(mem).unwrap();
    let mut names = Vec::new();
    let mut buf = vec![0u8; secure.capacity()];
    secure
        .read_preopens(&mut buf, |p| names.push((p.handle, p.name.to_vec())))
        .unwrap();
    assert_eq!(names, [(1, b"data".to_vec())]);
    let mut rbuf = vec![0u8; tool.capacity()];
    let mut out = vec![0u8; tool.capacity()];
    let mut step = |seq: u64, op, args: [u64; 6], path: &[u8]| {
        let req = Request {
            seq,
            op,
            args,
            path,
            path2: b"",
            data: b"",
        };
        assert!(secure.write_request(&req));
        let got = tool.read_request(&mut rbuf).unwrap();
        let ans = srv.serve(&got, &mut out);
        assert!(tool.write_reply(&ans.reply(got.seq, &out)));
        let mut back = vec![0u8; secure.capacity()];
        let r = secure.read_reply(seq, 1024, &mut back).unwrap();
        (r.errno, r.values, r.data.to_vec())
    };
    let (e, v, _) = step(1, FileOp::Open, [1, 1, 0, 0, 1, 0], b"a.txt");
    assert_eq!((e, v[1]), (0, u64::from(filetype::REGULAR_FILE)));
    let (e, _, d) = step(2, FileOp::Read, [v[0], 1024, 0, 0, 0, 0], b"");
    assert_eq!((e, &d[..]), (0, &b"over the channel"[..]));
    let (e, _, _) = step(3, FileOp::Open, [1, 1, 0, 0, 1, 0], b"../outside.txt");
    assert_eq!(e, errno::NOTCAPABLE);
}
