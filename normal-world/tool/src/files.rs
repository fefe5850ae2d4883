//! The tool's side of the file channel (docs/files.md, issue 13; not yet wired into
//! `tzwasm run`): a [`FileServer`] holds the directories the user granted (`--dir`,
//! `--map-dir`) and the files the module opened, and performs one [`Request`] at a time
//! with WASI preview1 semantics, as WAMR's iwasm does on Linux.
//!
//! - **Handles.** The secure world names every directory and file by a `u32` handle this
//!   server gave (preopens from [`FileServer::new`], the rest in replies to
//!   [`FileOp::Open`]). Handles are untrusted: an unknown one is `EBADF`, a file where a
//!   directory is needed `ENOTDIR`. At most [`MAX_HANDLES`] are open (`EMFILE` beyond).
//! - **Confinement.** Every path is checked lexically first (NUL `EINVAL`, absolute or
//!   climbing above its directory with `..` `ENOTCAPABLE`, empty `ENOENT`), then resolved by
//!   the kernel with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so neither `..` nor a
//!   symlink can leave the granted directory (`EXDEV` there becomes `ENOTCAPABLE`, as
//!   iwasm reports it). Symlinks that stay inside are followed. Ops on a name rather than an
//!   open file (mkdir, unlink, rename, link, symlink, readlink, stat and set-times of a
//!   path) open the parent directory beneath (`O_PATH`) and act on the last component;
//!   where they follow a final symlink they read it and resolve its target again beneath
//!   the same directory (at most 40 links, then `ELOOP`).
//! - **Symlink creation** follows WAMR's `validate_path`: the target is resolved with
//!   `realpath` from the tool's working directory, and refused with `EBADF` only if it
//!   names an existing file outside every granted directory (by string prefix, as WAMR
//!   compares). `path_link` checks its two last components the same way.
//! - **Errnos** are WASI's ([`wasi_errno`] maps Linux's).
//! - **Kernel.** `openat2` needs Linux 5.6 or later; without it [`FileServer::new`] fails
//!   (there is no fallback resolver).
//! - **Directory listings** use the host's directory offsets (`getdents64` `d_off`) as
//!   cookies, as iwasm passes `telldir` values; `.` and `..` are listed as the host lists
//!   them.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tzwasm_smc::files::{FileOp, Preopen, Reply, Request, MAX_PREOPENS};

/// The most handles open at once (preopens included).
pub const MAX_HANDLES: usize = 1024;
/// Bytes of a WASI `filestat`.
pub const FILESTAT_SIZE: usize = 64;
/// Bytes of a WASI `dirent` header (the name follows).
pub const DIRENT_SIZE: usize = 24;
/// How many symlinks one path may pass through before `ELOOP` (Linux's limit).
const MAX_LINKS: usize = 40;

/// WASI errnos used here by name (preview1 numbering).
pub mod errno {
    /// `E2BIG`.
    pub const TOOBIG: u16 = 1;
    /// `EBADF`.
    pub const BADF: u16 = 8;
    /// `EINVAL`.
    pub const INVAL: u16 = 28;
    /// `EIO`.
    pub const IO: u16 = 29;
    /// `EISDIR`.
    pub const ISDIR: u16 = 31;
    /// `ELOOP`.
    pub const LOOP: u16 = 32;
    /// `EMFILE`.
    pub const MFILE: u16 = 33;
    /// `ENOBUFS`.
    pub const NOBUFS: u16 = 42;
    /// `ENOENT`.
    pub const NOENT: u16 = 44;
    /// `ENOTDIR`.
    pub const NOTDIR: u16 = 54;
    /// `ENOTSUP`.
    pub const NOTSUP: u16 = 58;
    /// `ENXIO`.
    pub const NXIO: u16 = 60;
    /// `ESPIPE`.
    pub const SPIPE: u16 = 70;
    /// `EXDEV`.
    pub const XDEV: u16 = 75;
    /// `ENOTCAPABLE`.
    pub const NOTCAPABLE: u16 = 76;
}

/// WASI filetypes.
pub mod filetype {
    /// `unknown`.
    pub const UNKNOWN: u8 = 0;
    /// `block_device`.
    pub const BLOCK_DEVICE: u8 = 1;
    /// `character_device`.
    pub const CHARACTER_DEVICE: u8 = 2;
    /// `directory`.
    pub const DIRECTORY: u8 = 3;
    /// `regular_file`.
    pub const REGULAR_FILE: u8 = 4;
    /// `socket_dgram`.
    pub const SOCKET_DGRAM: u8 = 5;
    /// `socket_stream` (also what WAMR reports for a FIFO).
    pub const SOCKET_STREAM: u8 = 6;
    /// `symbolic_link`.
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `oflags`.
const O_CREAT: u64 = 1;
const O_DIRECTORY: u64 = 2;
const O_EXCL: u64 = 4;
const O_TRUNC: u64 = 8;
/// `fdflags`.
const FD_APPEND: u64 = 1;
const FD_DSYNC: u64 = 2;
const FD_NONBLOCK: u64 = 4;
const FD_RSYNC: u64 = 8;
const FD_SYNC: u64 = 16;
/// `lookupflags::symlink_follow`.
const SYMLINK_FOLLOW: u64 = 1;
/// `fstflags`.
const ATIM: u64 = 1;
const ATIM_NOW: u64 = 2;
const MTIM: u64 = 4;
const MTIM_NOW: u64 = 8;

/// Linux errno → WASI errno (every errno Linux defines that WASI has; anything else `EIO`).
pub fn wasi_errno(e: i32) -> u16 {
    use libc::*;
    let table: &[(i32, u16)] = &[
        (E2BIG, 1),
        (EACCES, 2),
        (EADDRINUSE, 3),
        (EADDRNOTAVAIL, 4),
        (EAFNOSUPPORT, 5),
        (EAGAIN, 6),
        (EALREADY, 7),
        (EBADF, 8),
        (EBADMSG, 9),
        (EBUSY, 10),
        (ECANCELED, 11),
        (ECHILD, 12),
        (ECONNABORTED, 13),
        (ECONNREFUSED, 14),
        (ECONNRESET, 15),
        (EDEADLK, 16),
        (EDESTADDRREQ, 17),
        (EDOM, 18),
        (EDQUOT, 19),
        (EEXIST, 20),
        (EFAULT, 21),
        (EFBIG, 22),
        (EHOSTUNREACH, 23),
        (EIDRM, 24),
        (EILSEQ, 25),
        (EINPROGRESS, 26),
        (EINTR, 27),
        (EINVAL, 28),
        (EIO, 29),
        (EISCONN, 30),
        (EISDIR, 31),
        (ELOOP, 32),
        (EMFILE, 33),
        (EMLINK, 34),
        (EMSGSIZE, 35),
        (EMULTIHOP, 36),
        (ENAMETOOLONG, 37),
        (ENETDOWN, 38),
        (ENETRESET, 39),
        (ENETUNREACH, 40),
        (ENFILE, 41),
        (ENOBUFS, 42),
        (ENODEV, 43),
        (ENOENT, 44),
        (ENOEXEC, 45),
        (ENOLCK, 46),
        (ENOLINK, 47),
        (ENOMEM, 48),
        (ENOMSG, 49),
        (ENOPROTOOPT, 50),
        (ENOSPC, 51),
        (ENOSYS, 52),
        (ENOTCONN, 53),
        (ENOTDIR, 54),
        (ENOTEMPTY, 55),
        (ENOTRECOVERABLE, 56),
        (ENOTSOCK, 57),
        (ENOTSUP, 58),
        (ENOTTY, 59),
        (ENXIO, 60),
        (EOVERFLOW, 61),
        (EOWNERDEAD, 62),
        (EPERM, 63),
        (EPIPE, 64),
        (EPROTO, 65),
        (EPROTONOSUPPORT, 66),
        (EPROTOTYPE, 67),
        (ERANGE, 68),
        (EROFS, 69),
        (ESPIPE, 70),
        (ESRCH, 71),
        (ESTALE, 72),
        (ETIMEDOUT, 73),
        (ETXTBSY, 74),
        (EXDEV, 75),
    ];
    table
        .iter()
        .find(|(l, _)| *l == e)
        .map_or(errno::IO, |(_, w)| *w)
}

/// The answer to one request: what [`Reply`] carries besides the sequence number, its data
/// being the first `len` bytes of the buffer given to [`FileServer::serve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// WASI errno (0: success).
    pub errno: u16,
    /// The op's results.
    pub values: [u64; 4],
    /// Bytes of data.
    pub len: usize,
}

impl Answer {
    fn ok(values: [u64; 4], len: usize) -> Self {
        Answer {
            errno: 0,
            values,
            len,
        }
    }

    fn err(errno: u16) -> Self {
        Answer {
            errno,
            values: [0; 4],
            len: 0,
        }
    }

    /// The reply to request `seq`, its data borrowed from `out` (the buffer given to
    /// [`FileServer::serve`]), for `Channel::write_reply`.
    pub fn reply<'a>(&self, seq: u64, out: &'a [u8]) -> Reply<'a> {
        Reply {
            seq,
            errno: self.errno,
            values: self.values,
            data: &out[..self.len.min(out.len())],
        }
    }
}

/// A WASI errno as the error of an internal step.
type Res<T> = Result<T, u16>;

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The WASI errno of the last failed call.
fn fail<T>() -> Res<T> {
    Err(wasi_errno(last_errno()))
}

/// `r` as a success (non-negative) or the WASI errno of the failure.
fn check(r: libc::c_long) -> Res<libc::c_long> {
    if r < 0 {
        fail()
    } else {
        Ok(r)
    }
}

fn check_int(r: libc::c_int) -> Res<()> {
    check(r as libc::c_long).map(drop)
}

/// One open handle.
#[derive(Debug)]
struct Entry {
    fd: OwnedFd,
    dir: bool,
}

/// The directories granted to a run and the files its module opened.
#[derive(Debug)]
pub struct FileServer {
    /// Handle `i + 1` is slot `i` (0 is never a handle).
    slots: Vec<Option<Entry>>,
    /// The granted directories' real paths (for WAMR's `validate_path` rule).
    roots: Vec<PathBuf>,
}

impl FileServer {
    /// Opens each granted host directory (`O_DIRECTORY | O_RDONLY | O_CLOEXEC`) and returns
    /// the server and the preopen table for `Channel::format`: handles 1, 2, ... in the given
    /// order, each with its guest name.
    pub fn new<'a, N: AsRef<[u8]>, P: AsRef<Path>>(
        dirs: &'a [(N, P)],
    ) -> io::Result<(Self, Vec<Preopen<'a>>)> {
        if dirs.len() > MAX_PREOPENS {
            return Err(io::Error::other(format!(
                "at most {MAX_PREOPENS} directories can be granted"
            )));
        }
        let mut server = FileServer {
            slots: Vec::new(),
            roots: Vec::new(),
        };
        let mut preopens = Vec::with_capacity(dirs.len());
        for (name, path) in dirs {
            let path = path.as_ref();
            let c = CString::new(path.as_os_str().as_bytes())
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            // SAFETY: `c` is a NUL-terminated string that outlives the call.
            let fd = unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
            }
            // SAFETY: `fd` was just opened and is owned by nobody else.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            // Without openat2 (Linux before 5.6, some sandboxes, qemu-user 7) every path
            // would fail with ENOSYS: refuse to start instead, so the user sees why.
            let probe = beneath_c(fd.as_raw_fd(), c".", libc::O_PATH | libc::O_DIRECTORY, 0);
            if probe.err() == Some(wasi_errno(libc::ENOSYS)) {
                return Err(io::Error::other(
                    "the kernel has no openat2 (Linux 5.6 or later is needed to confine --dir)",
                ));
            }
            server.roots.push(std::fs::canonicalize(path)?);
            let handle = server
                .insert(Entry { fd, dir: true })
                .map_err(|_| io::Error::from_raw_os_error(libc::EMFILE))?;
            preopens.push(Preopen {
                handle,
                name: name.as_ref(),
                sealed: false,
            });
        }
        Ok((server, preopens))
    }

    /// How many handles are open.
    pub fn open_handles(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    fn insert(&mut self, entry: Entry) -> Res<u32> {
        if let Some(i) = self.slots.iter().position(Option::is_none) {
            self.slots[i] = Some(entry);
            return Ok(i as u32 + 1);
        }
        if self.slots.len() >= MAX_HANDLES {
            return Err(errno::MFILE);
        }
        self.slots.push(Some(entry));
        Ok(self.slots.len() as u32)
    }

    fn entry(&self, h: u64) -> Res<&Entry> {
        let i = usize::try_from(h)
            .ok()
            .and_then(|h| h.checked_sub(1))
            .ok_or(errno::BADF)?;
        self.slots
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(errno::BADF)
    }

    /// The raw fd of handle `h`.
    fn fd(&self, h: u64) -> Res<RawFd> {
        Ok(self.entry(h)?.fd.as_raw_fd())
    }

    /// The raw fd of directory handle `h` (`ENOTDIR` for a file).
    fn dir(&self, h: u64) -> Res<RawFd> {
        let e = self.entry(h)?;
        if !e.dir {
            return Err(errno::NOTDIR);
        }
        Ok(e.fd.as_raw_fd())
    }

    /// Performs `req`, writing its data into `out` (whose length bounds every read, listing,
    /// stat and link contents). Never panics on any request.
    pub fn serve(&mut self, req: &Request<'_>, out: &mut [u8]) -> Answer {
        match self.perform(req, out) {
            Ok(a) => a,
            Err(e) => Answer::err(e),
        }
    }

    fn perform(&mut self, req: &Request<'_>, out: &mut [u8]) -> Res<Answer> {
        let a = req.args;
        let done = Answer::ok([0; 4], 0);
        match req.op {
            FileOp::Open => self.open(a, req.path),
            FileOp::Close => {
                self.entry(a[0])?;
                // The slot exists (checked above); dropping the entry closes the fd.
                self.slots[a[0] as usize - 1] = None;
                Ok(done)
            }
            FileOp::Read | FileOp::Pread => {
                let fd = self.fd(a[0])?;
                let len = clamp(a[1], out.len());
                let n = if req.op == FileOp::Read {
                    // SAFETY: `out` holds at least `len` writable bytes.
                    check(unsafe { libc::read(fd, out.as_mut_ptr().cast(), len) } as _)?
                } else {
                    let off = offset(a[2])?;
                    // SAFETY: as above.
                    check(unsafe { libc::pread(fd, out.as_mut_ptr().cast(), len, off) } as _)?
                };
                Ok(Answer::ok([0; 4], n as usize))
            }
            FileOp::Write | FileOp::Pwrite => {
                let fd = self.fd(a[0])?;
                let d = req.data;
                let n = if req.op == FileOp::Write {
                    // SAFETY: `d` is a readable slice of `d.len()` bytes.
                    check(unsafe { libc::write(fd, d.as_ptr().cast(), d.len()) } as _)?
                } else {
                    let off = offset(a[1])?;
                    // SAFETY: as above.
                    check(unsafe { libc::pwrite(fd, d.as_ptr().cast(), d.len(), off) } as _)?
                };
                Ok(Answer::ok([n as u64, 0, 0, 0], 0))
            }
            FileOp::Seek => {
                let e = self.entry(a[0])?;
                if e.dir {
                    return Err(errno::SPIPE);
                }
                let whence = match a[2] {
                    0 => libc::SEEK_SET,
                    1 => libc::SEEK_CUR,
                    2 => libc::SEEK_END,
                    _ => return Err(errno::INVAL),
                };
                // SAFETY: lseek on an fd this server owns.
                let r = unsafe { libc::lseek(e.fd.as_raw_fd(), a[1] as i64, whence) };
                let r = check(r as _)?;
                Ok(Answer::ok([r as u64, 0, 0, 0], 0))
            }
            FileOp::Sync | FileOp::Datasync => {
                let fd = self.fd(a[0])?;
                // SAFETY: syncing an fd this server owns.
                check_int(unsafe {
                    if req.op == FileOp::Sync {
                        libc::fsync(fd)
                    } else {
                        libc::fdatasync(fd)
                    }
                })?;
                Ok(done)
            }
            FileOp::Advise => {
                let fd = self.fd(a[0])?;
                let advice = match a[3] {
                    0 => libc::POSIX_FADV_NORMAL,
                    1 => libc::POSIX_FADV_SEQUENTIAL,
                    2 => libc::POSIX_FADV_RANDOM,
                    3 => libc::POSIX_FADV_WILLNEED,
                    4 => libc::POSIX_FADV_DONTNEED,
                    5 => libc::POSIX_FADV_NOREUSE,
                    _ => return Err(errno::INVAL),
                };
                // SAFETY: advice on an fd this server owns; returns an errno, not -1.
                let r = unsafe { libc::posix_fadvise(fd, offset(a[1])?, offset(a[2])?, advice) };
                if r != 0 {
                    return Err(wasi_errno(r));
                }
                Ok(done)
            }
            FileOp::Allocate => {
                let fd = self.fd(a[0])?;
                // SAFETY: as above.
                let r = unsafe { libc::posix_fallocate(fd, offset(a[1])?, offset(a[2])?) };
                if r != 0 {
                    return Err(wasi_errno(r));
                }
                Ok(done)
            }
            FileOp::SetFlags => {
                let fd = self.fd(a[0])?;
                let flags = fd_flags(a[1])?;
                // SAFETY: F_SETFL on an fd this server owns.
                check_int(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) })?;
                Ok(done)
            }
            FileOp::Filestat => {
                let fd = self.fd(a[0])?;
                stat_into(fstat(fd)?, out)
            }
            FileOp::PathFilestat => {
                let dir = self.dir(a[0])?;
                let st = if a[1] & SYMLINK_FOLLOW != 0 {
                    let f = beneath(dir, req.path, libc::O_PATH, 0)?;
                    fstat(f.as_raw_fd())?
                } else {
                    let (p, last) = name_in(dir, req.path, false)?;
                    fstatat(p.as_raw_fd(), &last, libc::AT_SYMLINK_NOFOLLOW)?
                };
                stat_into(st, out)
            }
            FileOp::SetSize => {
                let fd = self.fd(a[0])?;
                // SAFETY: ftruncate on an fd this server owns.
                check_int(unsafe { libc::ftruncate(fd, offset(a[1])?) })?;
                Ok(done)
            }
            FileOp::SetTimes => {
                let fd = self.fd(a[0])?;
                let ts = times(a[1], a[2], a[3])?;
                // SAFETY: `ts` is two valid timespecs.
                check_int(unsafe { libc::futimens(fd, ts.as_ptr()) })?;
                Ok(done)
            }
            FileOp::PathSetTimes => {
                let dir = self.dir(a[0])?;
                let ts = times(a[2], a[3], a[4])?;
                let (p, last) = name_in(dir, req.path, a[1] & SYMLINK_FOLLOW != 0)?;
                // SAFETY: `last` is a NUL-terminated name, `ts` two valid timespecs.
                check_int(unsafe {
                    libc::utimensat(
                        p.as_raw_fd(),
                        last.as_ptr(),
                        ts.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                })?;
                Ok(done)
            }
            FileOp::Readdir => {
                let e = self.entry(a[0])?;
                if !e.dir {
                    return Err(errno::NOTDIR);
                }
                let max = clamp(a[2], out.len());
                let n = readdir(e.fd.as_raw_fd(), a[1], &mut out[..max])?;
                Ok(Answer::ok([0; 4], n))
            }
            FileOp::Mkdir => {
                let (p, last) = name_in(self.dir(a[0])?, req.path, false)?;
                // SAFETY: `last` is a NUL-terminated name.
                check_int(unsafe { libc::mkdirat(p.as_raw_fd(), last.as_ptr(), 0o777) })?;
                Ok(done)
            }
            FileOp::Rmdir | FileOp::Unlink => {
                let (p, last) = name_in(self.dir(a[0])?, req.path, false)?;
                let flag = if req.op == FileOp::Rmdir {
                    libc::AT_REMOVEDIR
                } else {
                    0
                };
                if last.as_bytes() == b"." && req.op == FileOp::Rmdir {
                    // `rmdir("x/..")` reaches here as "."; POSIX refuses both.
                    return Err(errno::INVAL);
                }
                // SAFETY: as above.
                check_int(unsafe { libc::unlinkat(p.as_raw_fd(), last.as_ptr(), flag) })?;
                Ok(done)
            }
            FileOp::Rename => {
                let (p1, l1) = name_in(self.dir(a[0])?, req.path, false)?;
                let (p2, l2) = name_in(self.dir(a[1])?, req.path2, false)?;
                if l1.as_bytes() == b"." || l2.as_bytes() == b"." {
                    return Err(errno::INVAL);
                }
                // SAFETY: NUL-terminated names relative to directory fds.
                check_int(unsafe {
                    libc::renameat(p1.as_raw_fd(), l1.as_ptr(), p2.as_raw_fd(), l2.as_ptr())
                })?;
                Ok(done)
            }
            FileOp::Link => {
                let (p1, l1) = name_in(self.dir(a[0])?, req.path, a[1] & SYMLINK_FOLLOW != 0)?;
                let (p2, l2) = name_in(self.dir(a[2])?, req.path2, false)?;
                if !self.validate(l1.as_bytes()) || !self.validate(l2.as_bytes()) {
                    return Err(errno::BADF);
                }
                // SAFETY: as above.
                check_int(unsafe {
                    libc::linkat(p1.as_raw_fd(), l1.as_ptr(), p2.as_raw_fd(), l2.as_ptr(), 0)
                })?;
                Ok(done)
            }
            FileOp::Symlink => {
                let target = cstring(req.path)?;
                let (p, last) = name_in(self.dir(a[0])?, req.path2, false)?;
                if !self.validate(req.path) {
                    return Err(errno::BADF);
                }
                // SAFETY: NUL-terminated target and name.
                check_int(unsafe {
                    libc::symlinkat(target.as_ptr(), p.as_raw_fd(), last.as_ptr())
                })?;
                Ok(done)
            }
            FileOp::Readlink => {
                let (p, last) = name_in(self.dir(a[0])?, req.path, false)?;
                let max = clamp(a[1], out.len());
                // SAFETY: `out` holds at least `max` writable bytes.
                let n = check(unsafe {
                    libc::readlinkat(p.as_raw_fd(), last.as_ptr(), out.as_mut_ptr().cast(), max)
                } as _)?;
                Ok(Answer::ok([0; 4], n as usize))
            }
        }
    }

    fn open(&mut self, a: [u64; 6], path: &[u8]) -> Res<Answer> {
        let dir = self.dir(a[0])?;
        let (lookup, oflags, fdflags, access) = (a[1], a[2], a[3], a[4]);
        if oflags & !(O_CREAT | O_DIRECTORY | O_EXCL | O_TRUNC) != 0 || access & !3 != 0 {
            return Err(errno::INVAL);
        }
        let mut flags = fd_flags(fdflags)? | libc::O_NOCTTY;
        for (w, l) in [
            (O_CREAT, libc::O_CREAT),
            (O_DIRECTORY, libc::O_DIRECTORY),
            (O_EXCL, libc::O_EXCL),
            (O_TRUNC, libc::O_TRUNC),
        ] {
            if oflags & w != 0 {
                flags |= l;
            }
        }
        if lookup & SYMLINK_FOLLOW == 0 {
            flags |= libc::O_NOFOLLOW;
        }
        flags |= match access {
            3 => libc::O_RDWR,
            2 => libc::O_WRONLY,
            _ => libc::O_RDONLY,
        };
        let mode = if flags & libc::O_CREAT != 0 { 0o666 } else { 0 };
        let fd = match beneath(dir, path, flags, mode) {
            Ok(fd) => fd,
            Err(e) if e == errno::NOTDIR && flags & libc::O_NOFOLLOW != 0 => {
                // Linux answers ENOTDIR for O_NOFOLLOW | O_DIRECTORY on a symlink; WAMR
                // reports ELOOP, as for any other O_NOFOLLOW open of a link.
                return Err(match self.kind_nofollow(dir, path) {
                    Some(filetype::SYMBOLIC_LINK) => errno::LOOP,
                    _ => e,
                });
            }
            Err(e) if e == errno::NXIO => {
                // Linux answers ENXIO when opening a socket; WAMR reports ENOTSUP.
                return Err(match self.kind_nofollow(dir, path) {
                    Some(filetype::SOCKET_STREAM) => errno::NOTSUP,
                    _ => e,
                });
            }
            Err(e) => return Err(e),
        };
        let st = fstat(fd.as_raw_fd())?;
        let ft = file_type(st.st_mode);
        let handle = self.insert(Entry {
            fd,
            dir: ft == filetype::DIRECTORY,
        })?;
        Ok(Answer::ok([u64::from(handle), u64::from(ft), 0, 0], 0))
    }

    /// The filetype of `path`'s last component itself, if it can be read.
    fn kind_nofollow(&self, dir: RawFd, path: &[u8]) -> Option<u8> {
        let (p, last) = name_in(dir, path, false).ok()?;
        let st = fstatat(p.as_raw_fd(), &last, libc::AT_SYMLINK_NOFOLLOW).ok()?;
        Some(file_type(st.st_mode))
    }

    /// WAMR's `validate_path`: false only if `path`, resolved with `realpath` from the
    /// working directory, exists and lies outside every granted directory (by prefix).
    fn validate(&self, path: &[u8]) -> bool {
        let p = Path::new(std::ffi::OsStr::from_bytes(path));
        let Ok(real) = std::fs::canonicalize(p) else {
            return true;
        };
        let real = real.as_os_str().as_bytes();
        self.roots
            .iter()
            .any(|r| real.starts_with(r.as_os_str().as_bytes()))
    }
}

/// A request's `u64` count, bounded by `max`.
fn clamp(n: u64, max: usize) -> usize {
    usize::try_from(n).map_or(max, |n| n.min(max))
}

/// A request's `u64` offset or length as an `off_t` (`EINVAL` above `i64::MAX`).
fn offset(n: u64) -> Res<i64> {
    i64::try_from(n).map_err(|_| errno::INVAL)
}

/// WASI `fdflags` → open/`F_SETFL` flags.
fn fd_flags(f: u64) -> Res<libc::c_int> {
    if f & !(FD_APPEND | FD_DSYNC | FD_NONBLOCK | FD_RSYNC | FD_SYNC) != 0 {
        return Err(errno::INVAL);
    }
    let mut flags = 0;
    for (w, l) in [
        (FD_APPEND, libc::O_APPEND),
        (FD_DSYNC, libc::O_DSYNC),
        (FD_NONBLOCK, libc::O_NONBLOCK),
        (FD_RSYNC, libc::O_RSYNC),
        (FD_SYNC, libc::O_SYNC),
    ] {
        if f & w != 0 {
            flags |= l;
        }
    }
    Ok(flags)
}

/// The two timespecs of `futimens`/`utimensat` for WASI times and `fstflags`.
fn times(atim: u64, mtim: u64, fst: u64) -> Res<[libc::timespec; 2]> {
    if fst & !(ATIM | ATIM_NOW | MTIM | MTIM_NOW) != 0
        || fst & (ATIM | ATIM_NOW) == ATIM | ATIM_NOW
        || fst & (MTIM | MTIM_NOW) == MTIM | MTIM_NOW
    {
        return Err(errno::INVAL);
    }
    let one = |t: u64, set: u64, now: u64| {
        if fst & now != 0 {
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            }
        } else if fst & set != 0 {
            libc::timespec {
                tv_sec: (t / 1_000_000_000) as _,
                tv_nsec: (t % 1_000_000_000) as _,
            }
        } else {
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            }
        }
    };
    Ok([one(atim, ATIM, ATIM_NOW), one(mtim, MTIM, MTIM_NOW)])
}

fn cstring(b: &[u8]) -> Res<CString> {
    CString::new(b).map_err(|_| errno::INVAL)
}

/// The lexical check of a path from the secure world: not empty (`ENOENT`), no NUL
/// (`EINVAL`), relative and never climbing above its directory (`ENOTCAPABLE`).
pub fn check_path(path: &[u8]) -> Result<(), u16> {
    if path.is_empty() {
        return Err(errno::NOENT);
    }
    if path.contains(&0) {
        return Err(errno::INVAL);
    }
    if path[0] == b'/' {
        return Err(errno::NOTCAPABLE);
    }
    let mut depth = 0usize;
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => depth = depth.checked_sub(1).ok_or(errno::NOTCAPABLE)?,
            _ => depth += 1,
        }
    }
    Ok(())
}

/// `openat2(dir, path, flags | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` after
/// [`check_path`]; an escape (`EXDEV`) is `ENOTCAPABLE`.
fn beneath(dir: RawFd, path: &[u8], flags: libc::c_int, mode: u64) -> Res<OwnedFd> {
    check_path(path)?;
    let c = cstring(path)?;
    beneath_c(dir, &c, flags, mode)
}

fn beneath_c(dir: RawFd, path: &CStr, flags: libc::c_int, mode: u64) -> Res<OwnedFd> {
    // SAFETY: open_how is plain data; all-zero is its "no options" value.
    let mut how: libc::open_how = unsafe { core::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // The kernel may answer EAGAIN when a rename raced a `..` lookup; try again a few times.
    for _ in 0..8 {
        // SAFETY: `path` is NUL-terminated and `how` a valid open_how of the size given;
        // both outlive the call. The result is a new fd or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const libc::open_how,
                core::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel just gave us this fd.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        match last_errno() {
            libc::EAGAIN => continue,
            libc::EXDEV => return Err(errno::NOTCAPABLE),
            e => return Err(wasi_errno(e)),
        }
    }
    Err(errno::IO)
}

/// The directory holding `path`'s last component, opened beneath `dir` (`O_PATH`), and that
/// component. A last component of `.` or `..` gives the directory it names and ".". With
/// `follow`, a final symlink is read and its target resolved again beneath `dir` (an
/// absolute target is `ENOTCAPABLE`). A trailing `/` is dropped, and then the name, if it
/// exists, must be a directory (`ENOTDIR`; a symlink there is followed first).
fn name_in(dir: RawFd, path: &[u8], follow: bool) -> Res<(OwnedFd, CString)> {
    check_path(path)?;
    let mut path = path.to_vec();
    let slash = path.last() == Some(&b'/');
    let follow = follow || slash;
    for _ in 0..=MAX_LINKS {
        while path.len() > 1 && path.last() == Some(&b'/') {
            path.pop();
        }
        // `prefix` keeps its trailing '/' (or is empty) so a link target can be appended.
        let (prefix, last) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i + 1], &path[i + 1..]),
            None => (&b""[..], &path[..]),
        };
        let parent = if prefix.is_empty() { &b"."[..] } else { prefix };
        let (p, last) = if last == b"." || last == b".." {
            let d = beneath(dir, &path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            (d, CString::from(c"."))
        } else {
            let d = beneath(dir, parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            (d, cstring(last)?)
        };
        let st = match fstatat(p.as_raw_fd(), &last, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(_) => return Ok((p, last)),
        };
        let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        if !(follow && is_link) {
            if slash && st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(errno::NOTDIR);
            }
            return Ok((p, last));
        }
        let mut target = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: `target` holds PATH_MAX writable bytes.
        let n = check(unsafe {
            libc::readlinkat(
                p.as_raw_fd(),
                last.as_ptr(),
                target.as_mut_ptr().cast(),
                target.len(),
            )
        } as _)? as usize;
        target.truncate(n);
        if target.first() == Some(&b'/') {
            return Err(errno::NOTCAPABLE);
        }
        let mut next = prefix.to_vec();
        next.extend_from_slice(&target);
        if slash {
            next.push(b'/');
        }
        check_path(&next)?;
        path = next;
    }
    Err(errno::LOOP)
}

fn fstat(fd: RawFd) -> Res<libc::stat> {
    // SAFETY: stat is plain data, filled by the kernel on success.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    check_int(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

fn fstatat(dir: RawFd, name: &CStr, flags: libc::c_int) -> Res<libc::stat> {
    // SAFETY: as in `fstat`.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated, `st` a valid out-pointer.
    check_int(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// The WASI filetype of a `st_mode` (a FIFO and a socket are `socket_stream`, as WAMR).
fn file_type(mode: libc::mode_t) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFBLK => filetype::BLOCK_DEVICE,
        libc::S_IFCHR => filetype::CHARACTER_DEVICE,
        libc::S_IFDIR => filetype::DIRECTORY,
        libc::S_IFIFO | libc::S_IFSOCK => filetype::SOCKET_STREAM,
        libc::S_IFLNK => filetype::SYMBOLIC_LINK,
        libc::S_IFREG => filetype::REGULAR_FILE,
        _ => filetype::UNKNOWN,
    }
}

/// The WASI filetype of a `d_type`.
fn dirent_type(t: u8) -> u8 {
    match t {
        libc::DT_BLK => filetype::BLOCK_DEVICE,
        libc::DT_CHR => filetype::CHARACTER_DEVICE,
        libc::DT_DIR => filetype::DIRECTORY,
        libc::DT_FIFO | libc::DT_SOCK => filetype::SOCKET_STREAM,
        libc::DT_LNK => filetype::SYMBOLIC_LINK,
        libc::DT_REG => filetype::REGULAR_FILE,
        _ => filetype::UNKNOWN,
    }
}

fn ns(sec: i64, nsec: i64) -> u64 {
    (sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

/// Writes the 64-byte WASI filestat of `st` into `out`.
// The `stat` field types differ between targets (glibc x86_64, musl aarch64), so some casts
// are no-ops on one of them.
#[allow(clippy::unnecessary_cast)]
fn stat_into(st: libc::stat, out: &mut [u8]) -> Res<Answer> {
    let rec = out.get_mut(..FILESTAT_SIZE).ok_or(errno::NOBUFS)?;
    rec.fill(0);
    let words = [
        (0, st.st_dev as u64),
        (8, st.st_ino as u64),
        (24, st.st_nlink as u64),
        (32, st.st_size as u64),
        (40, ns(st.st_atime as i64, st.st_atime_nsec as i64)),
        (48, ns(st.st_mtime as i64, st.st_mtime_nsec as i64)),
        (56, ns(st.st_ctime as i64, st.st_ctime_nsec as i64)),
    ];
    for (at, v) in words {
        rec[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    rec[16] = file_type(st.st_mode);
    Ok(Answer::ok([0; 4], FILESTAT_SIZE))
}

/// Lists directory `fd` from `cookie` (0: the start; else a `d_next` given earlier) into
/// `out` as `fd_readdir` does: records back to back, the last cut off at the end of `out`.
fn readdir(fd: RawFd, cookie: u64, out: &mut [u8]) -> Res<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    // SAFETY: lseek on a directory fd this server owns; for directories the offset is the
    // filesystem's own position token.
    check(unsafe { libc::lseek(fd, cookie as i64, libc::SEEK_SET) } as _)?;
    let mut buf = vec![0u8; 32 << 10];
    let mut used = 0usize;
    loop {
        // SAFETY: `buf` holds `buf.len()` writable bytes; the kernel writes whole records.
        let n =
            check(unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) })?
                as usize;
        if n == 0 {
            return Ok(used);
        }
        let mut at = 0usize;
        while at + 19 <= n {
            let word = |o: usize| u64::from_ne_bytes(buf[at + o..at + o + 8].try_into().unwrap());
            let ino = word(0);
            let next = word(8);
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let kind = buf[at + 18];
            if reclen < 19 || at + reclen > n {
                return Err(errno::IO);
            }
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            let mut head = [0u8; DIRENT_SIZE];
            head[0..8].copy_from_slice(&next.to_le_bytes());
            head[8..16].copy_from_slice(&ino.to_le_bytes());
            head[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            head[20] = dirent_type(kind);
            for part in [&head[..], name] {
                let take = part.len().min(out.len() - used);
                out[used..used + take].copy_from_slice(&part[..take]);
                used += take;
            }
            if used == out.len() {
                return Ok(used);
            }
            at += reclen;
        }
    }
}

#[cfg(test)]
mod tests;
