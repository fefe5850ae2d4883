//! The WASI file and path functions on descriptors 3 and up (docs/files.md): every check
//! that needs no outside world is made here, in the secure world, before one request goes to
//! the host ([`WasiHost::file`]), which forwards it to the tool in the normal world.
//!
//! - **Descriptors and rights** come from the module's [`FdTable`]: an fd not in it is
//!   `EBADF`; a call whose rights the descriptor lacks is `ENOTCAPABLE`, with WAMR's rules
//!   (`posix.c`, 2.4.3): which rights each call needs, what `path_open` needs of the
//!   directory, and the rights a new descriptor gets (what it asked for, limited by its file
//!   type and its access mode). `fd_fdstat_get`, `fd_fdstat_set_rights` and `fd_prestat_*`
//!   never leave the secure world.
//! - **Paths** go through [`resolve`] first (absolute or climbing out: `ENOTCAPABLE`, a NUL:
//!   `EILSEQ`, as WAMR); only the normalized relative path is sent. `path_symlink`'s target
//!   is sent as the module wrote it (the tool applies WAMR's rule to it).
//! - **One request per call.** A request the host cannot answer yet makes the call
//!   [`FILE_PENDING`] (the embedder pauses the run, the tool answers, and the same call is
//!   issued again and completes from the answer); so every check, and every memory range the
//!   call will write, comes before the request, and nothing is written before the answer.
//!   Reads and writes therefore move at most [`WasiHost::file_capacity`] bytes, through the
//!   first non-empty iovec only: a short read or write, which wasi-libc and Rust's std
//!   retry. `fd_readdir` fills at most that many bytes too.
//! - **Answers are untrusted**: a count larger than what was asked, a file type that does not
//!   exist, a handle that does not fit are `EIO` for the module, and nothing of them is used.

use super::files::{resolve, FdEntry, FdKind, FdTable, FileAnswer, FileRequest};
use super::{check_iovecs, Args, Errno, GuestMemory, WasiFunc, WasiHost};
use super::{FDSTAT_SIZE, FILESTAT_SIZE, FILESTAT_SIZE_SNAPSHOT0};
use alloc::vec::Vec;
use tzwasm_smc::files::{FileOp, MAX_PATH};

/// Internal only, never returned to a module: the call sent a file request and waits for
/// its answer ([`super::WasiOutcome::Pending`]).
pub(super) const FILE_PENDING: Errno = Errno(u16::MAX - 2);

/// WASI rights (preview1 bit numbers; WAMR's socket rights above bit 27).
pub mod rights {
    /// `fd_datasync`.
    pub const FD_DATASYNC: u64 = 1 << 0;
    /// `fd_read`.
    pub const FD_READ: u64 = 1 << 1;
    /// `fd_seek`.
    pub const FD_SEEK: u64 = 1 << 2;
    /// `fd_fdstat_set_flags`.
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    /// `fd_sync`.
    pub const FD_SYNC: u64 = 1 << 4;
    /// `fd_tell`.
    pub const FD_TELL: u64 = 1 << 5;
    /// `fd_write`.
    pub const FD_WRITE: u64 = 1 << 6;
    /// `fd_advise`.
    pub const FD_ADVISE: u64 = 1 << 7;
    /// `fd_allocate`.
    pub const FD_ALLOCATE: u64 = 1 << 8;
    /// `path_create_directory`.
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    /// `path_create_file`.
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    /// `path_link_source`.
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    /// `path_link_target`.
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    /// `path_open`.
    pub const PATH_OPEN: u64 = 1 << 13;
    /// `fd_readdir`.
    pub const FD_READDIR: u64 = 1 << 14;
    /// `path_readlink`.
    pub const PATH_READLINK: u64 = 1 << 15;
    /// `path_rename_source`.
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    /// `path_rename_target`.
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    /// `path_filestat_get`.
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    /// `path_filestat_set_size`.
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    /// `path_filestat_set_times`.
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    /// `fd_filestat_get`.
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    /// `fd_filestat_set_size`.
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    /// `fd_filestat_set_times`.
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    /// `path_symlink`.
    pub const PATH_SYMLINK: u64 = 1 << 24;
    /// `path_remove_directory`.
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    /// `path_unlink_file`.
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    /// `poll_fd_readwrite`.
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// WAMR's socket rights (`sock_connect` .. `sock_send_to`, bits 28 to 37).
    pub const SOCK_ALL: u64 = 0x3f_f000_0000;

    /// Every right WAMR knows (`RIGHTS_ALL`).
    pub const ALL: u64 = ((1 << 28) - 1) | SOCK_ALL;
    /// A directory's rights (`RIGHTS_DIRECTORY_BASE`): what a preopen has.
    pub const DIRECTORY_BASE: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_UNLINK_FILE
        | PATH_REMOVE_DIRECTORY
        | POLL_FD_READWRITE;
    /// A regular file's rights (`RIGHTS_REGULAR_FILE_BASE`).
    pub const REGULAR_FILE_BASE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// What descriptors opened through a directory may have (`RIGHTS_DIRECTORY_INHERITING`).
    pub const DIRECTORY_INHERITING: u64 = DIRECTORY_BASE | REGULAR_FILE_BASE;
    /// A socket's rights (`RIGHTS_SOCKET_BASE`).
    pub const SOCKET_BASE: u64 =
        FD_READ | FD_FDSTAT_SET_FLAGS | FD_WRITE | FD_FILESTAT_GET | POLL_FD_READWRITE | SOCK_ALL;

    /// The most rights a descriptor of WASI file type `filetype` can have (base,
    /// inheriting), as WAMR's `fd_determine_type_rights`.
    pub fn max_for(filetype: u8) -> (u64, u64) {
        match filetype {
            3 => (DIRECTORY_BASE, DIRECTORY_INHERITING),
            4 => (REGULAR_FILE_BASE, 0),
            5 | 6 => (SOCKET_BASE, ALL),
            // Block and character devices, symbolic links, unknown: everything.
            _ => (ALL, ALL),
        }
    }
}

/// `oflags`.
const O_CREAT: u64 = 1;
const O_TRUNC: u64 = 8;
/// `fdflags`.
const FDFLAG_APPEND: u16 = 1;
const FDFLAG_DSYNC: u16 = 2;
const FDFLAG_RSYNC: u16 = 8;
const FDFLAG_SYNC: u16 = 16;
/// `fstflags`: every bit, and the pairs that may not be set together.
const FST_ATIM: u64 = 1;
const FST_ATIM_NOW: u64 = 2;
const FST_MTIM: u64 = 4;
const FST_MTIM_NOW: u64 = 8;
/// `whence` of `fd_tell`.
const WHENCE_CUR: u64 = 1;
/// WASI filetypes.
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// Runs `f` if it is a file or path call on a descriptor of the host's [`FdTable`] (3 and
/// up); `None` leaves it to the stdio code (fds 0-2, a host without files, other calls).
pub(super) fn dispatch(
    f: WasiFunc,
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    a: &Args<'_>,
) -> Option<Result<(), Errno>> {
    use WasiFunc as F;
    // The descriptor the call acts on (the directory for path calls).
    // Exhaustive, not by name: this runs for every WASI call, and a name is a table scan.
    let fd = match f {
        F::PathSymlink => a.u32(2),
        F::FdClose
        | F::FdDatasync
        | F::FdPread
        | F::FdPwrite
        | F::FdRead
        | F::FdRenumber
        | F::FdSeek
        | F::FdTell
        | F::FdFdstatGet
        | F::FdFdstatSetFlags
        | F::FdFdstatSetRights
        | F::FdSync
        | F::FdWrite
        | F::FdAdvise
        | F::FdAllocate
        | F::FdReaddir
        | F::FdFilestatGet
        | F::FdFilestatSetTimes
        | F::FdFilestatSetSize
        | F::Snapshot0FdFilestatGet
        | F::PathCreateDirectory
        | F::PathLink
        | F::PathOpen
        | F::PathReadlink
        | F::PathRename
        | F::PathFilestatGet
        | F::PathFilestatSetTimes
        | F::PathUnlinkFile
        | F::PathRemoveDirectory => a.u32(0),
        // The prestat calls and poll_oneoff are the table's too, but answered in mod.rs; the
        // socket calls (EBADF on fds of 3 and up) and the rest name no file.
        F::FdPrestatGet
        | F::FdPrestatDirName
        | F::PollOneoff
        | F::Snapshot0PollOneoff
        | F::SockAccept
        | F::SockRecv
        | F::SockSend
        | F::SockShutdown
        | F::ArgsGet
        | F::ArgsSizesGet
        | F::ClockResGet
        | F::ClockTimeGet
        | F::EnvironGet
        | F::EnvironSizesGet
        | F::ProcExit
        | F::ProcRaise
        | F::RandomGet
        | F::SchedYield => return None,
    };
    let fd = fd.ok()?;
    // fds 0-2 are the stdio code's (which also answers EBADF for a second fd of 3 or more in
    // rename, link and renumber: a file fd cannot be mixed with a stream).
    if fd < super::files::FIRST_FD {
        return None;
    }
    host.files()?;
    Some(call(f, mem, host, a, fd))
}

/// The descriptor `fd`, if it has every right in `base` (and `inheriting`).
fn entry(host: &mut dyn WasiHost, fd: u32, base: u64, inheriting: u64) -> Result<FdEntry, Errno> {
    let table = host.files().ok_or(Errno::BADF)?;
    let e = *table.get(fd)?;
    if e.rights_base & base != base || e.rights_inheriting & inheriting != inheriting {
        return Err(Errno::NOTCAPABLE);
    }
    Ok(e)
}

fn table(host: &mut dyn WasiHost) -> Result<&mut FdTable, Errno> {
    host.files().ok_or(Errno::BADF)
}

/// Sends one request; its answer, or [`FILE_PENDING`] while there is none. An answer's
/// errno other than success is the call's result.
fn ask(
    host: &mut dyn WasiHost,
    req: &FileRequest<'_>,
    out: &mut [u8],
) -> Result<FileAnswer, Errno> {
    let max = out.len();
    let answer = host.file(req, out).ok_or(FILE_PENDING)?;
    if answer.errno != Errno::SUCCESS {
        return Err(answer.errno);
    }
    if answer.len > max {
        return Err(Errno::IO);
    }
    Ok(answer)
}

/// A request on handle `h` with `args[1..]`.
fn on(op: FileOp, h: u32, rest: &[u64]) -> FileRequest<'static> {
    let mut args = [0u64; 6];
    args[0] = u64::from(h);
    for (slot, v) in args.iter_mut().skip(1).zip(rest) {
        *slot = *v;
    }
    FileRequest {
        op,
        args,
        path: &[],
        path2: &[],
        data: &[],
    }
}

/// The module's path at `ptr..ptr + len`, resolved ([`resolve`]) into a fallibly allocated
/// buffer.
fn path_arg(mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let raw = mem.slice(ptr, len)?;
    if raw.len() > MAX_PATH - 1 {
        return Err(Errno::NAMETOOLONG);
    }
    if raw.contains(&0) {
        return Err(Errno::ILSEQ);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(raw.len() + 1)
        .map_err(|_| Errno::NOMEM)?;
    out.resize(raw.len() + 1, 0);
    let n = resolve(raw, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// The first non-empty iovec of `iovs[..n]` (address, length), or `None` when all are empty.
fn first_iovec(mem: &GuestMemory<'_>, iovs: u32, n: u32) -> Result<Option<(u32, u32)>, Errno> {
    for i in 0..n {
        let (buf, len) = mem.iovec(iovs, i)?;
        if len > 0 {
            return Ok(Some((buf, len)));
        }
    }
    Ok(None)
}

/// `fstflags` that WAMR refuses (`EINVAL`): unknown bits, or a time and "now" for the same
/// timestamp.
fn bad_fstflags(fst: u64) -> bool {
    fst & !(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW) != 0
        || fst & (FST_ATIM | FST_ATIM_NOW) == FST_ATIM | FST_ATIM_NOW
        || fst & (FST_MTIM | FST_MTIM_NOW) == FST_MTIM | FST_MTIM_NOW
}

/// Writes a 64-byte preview1 filestat from the tool to `out`, in the snapshot 0 layout if
/// asked (`nlink` u32, the rest moved up 8 bytes).
fn write_filestat(
    mem: &mut GuestMemory<'_>,
    out: u32,
    stat: &[u8; FILESTAT_SIZE as usize],
    snapshot0: bool,
) -> Result<(), Errno> {
    if !snapshot0 {
        return mem.write_bytes(out, stat);
    }
    let mut old = [0u8; FILESTAT_SIZE_SNAPSHOT0 as usize];
    old[..17].copy_from_slice(&stat[..17]);
    let nlink = u64::from_le_bytes(stat[24..32].try_into().unwrap_or_default());
    old[20..24].copy_from_slice(&u32::try_from(nlink).unwrap_or(u32::MAX).to_le_bytes());
    old[24..56].copy_from_slice(&stat[32..64]);
    mem.write_bytes(out, &old)
}

fn call(
    f: WasiFunc,
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    a: &Args<'_>,
    fd: u32,
) -> Result<(), Errno> {
    use rights as r;
    use WasiFunc as F;
    let cap = host.file_capacity();
    match f {
        F::FdClose => {
            let e = entry(host, fd, 0, 0)?;
            // The descriptor is gone whatever the tool says (as close(2)); a broken answer
            // leaks nothing here, only the tool's own handle.
            let mut none = [0u8; 0];
            if host
                .file(&on(FileOp::Close, e.handle, &[]), &mut none)
                .is_none()
            {
                return Err(FILE_PENDING);
            }
            table(host)?.remove(fd).map(|_| ())
        }
        F::FdRead | F::FdPread => {
            let e = entry(host, fd, r::FD_READ, 0)?;
            let (iovs, n) = (a.u32(1)?, a.u32(2)?);
            let (offset, out) = if f == F::FdPread {
                if n == 0 {
                    return Err(Errno::INVAL);
                }
                (a.u64(3)?, a.u32(4)?)
            } else {
                (0, a.u32(3)?)
            };
            check_iovecs(mem, iovs, n, out)?;
            if matches!(e.kind, FdKind::Directory { .. }) {
                return Err(Errno::ISDIR);
            }
            let Some((buf, len)) = first_iovec(mem, iovs, n)? else {
                return mem.write_u32(out, 0);
            };
            let len = len.min(u32::try_from(cap).unwrap_or(u32::MAX));
            let req = if f == F::FdPread {
                on(FileOp::Pread, e.handle, &[u64::from(len), offset])
            } else {
                on(FileOp::Read, e.handle, &[u64::from(len)])
            };
            let got = ask(host, &req, mem.slice_mut(buf, len)?)?.len;
            mem.write_u32(out, u32::try_from(got).map_err(|_| Errno::IO)?)
        }
        F::FdWrite | F::FdPwrite => {
            let e = entry(host, fd, r::FD_WRITE, 0)?;
            let (iovs, n) = (a.u32(1)?, a.u32(2)?);
            let (offset, out) = if f == F::FdPwrite {
                (a.u64(3)?, a.u32(4)?)
            } else {
                (0, a.u32(3)?)
            };
            check_iovecs(mem, iovs, n, out)?;
            if matches!(e.kind, FdKind::Directory { .. }) {
                return Err(Errno::BADF);
            }
            let Some((buf, len)) = first_iovec(mem, iovs, n)? else {
                return mem.write_u32(out, 0);
            };
            let len = len.min(u32::try_from(cap).unwrap_or(u32::MAX));
            let mut req = if f == F::FdPwrite {
                on(FileOp::Pwrite, e.handle, &[offset])
            } else {
                on(FileOp::Write, e.handle, &[])
            };
            req.data = mem.slice(buf, len)?;
            let answer = ask(host, &req, &mut [])?;
            let written = answer.values[0];
            if written > u64::from(len) {
                return Err(Errno::IO);
            }
            mem.write_u32(out, written as u32)
        }
        F::FdSeek | F::FdTell => {
            let (offset, whence, out) = if f == F::FdSeek {
                (a.u64(1)?, u64::from(a.u32(2)? as u8), a.u32(3)?)
            } else {
                (0, WHENCE_CUR, a.u32(1)?)
            };
            let need = if offset == 0 && whence == WHENCE_CUR {
                r::FD_TELL
            } else {
                r::FD_SEEK | r::FD_TELL
            };
            let e = entry(host, fd, need, 0)?;
            if whence > 2 {
                return Err(Errno::INVAL);
            }
            mem.check(out, 8)?;
            let answer = ask(
                host,
                &on(FileOp::Seek, e.handle, &[offset, whence]),
                &mut [],
            )?;
            mem.write_u64(out, answer.values[0])
        }
        F::FdSync | F::FdDatasync => {
            let (need, op) = if f == F::FdSync {
                (r::FD_SYNC, FileOp::Sync)
            } else {
                (r::FD_DATASYNC, FileOp::Datasync)
            };
            let e = entry(host, fd, need, 0)?;
            ask(host, &on(op, e.handle, &[]), &mut []).map(|_| ())
        }
        F::FdAdvise => {
            let e = entry(host, fd, r::FD_ADVISE, 0)?;
            if matches!(e.kind, FdKind::Directory { .. }) {
                return Err(Errno::BADF);
            }
            let (offset, len, advice) = (a.u64(1)?, a.u64(2)?, u64::from(a.u32(3)? as u8));
            if advice > 5 {
                return Err(Errno::INVAL);
            }
            let req = on(FileOp::Advise, e.handle, &[offset, len, advice]);
            ask(host, &req, &mut []).map(|_| ())
        }
        F::FdAllocate => {
            let e = entry(host, fd, r::FD_ALLOCATE, 0)?;
            let req = on(FileOp::Allocate, e.handle, &[a.u64(1)?, a.u64(2)?]);
            ask(host, &req, &mut []).map(|_| ())
        }
        F::FdFdstatGet => {
            let e = entry(host, fd, 0, 0)?;
            let out = a.u32(1)?;
            let mut rec = [0u8; FDSTAT_SIZE as usize];
            rec[0] = match e.kind {
                FdKind::Directory { .. } => FILETYPE_DIRECTORY,
                FdKind::File { filetype } => filetype,
            };
            rec[2..4].copy_from_slice(&e.fdflags.to_le_bytes());
            rec[8..16].copy_from_slice(&e.rights_base.to_le_bytes());
            rec[16..24].copy_from_slice(&e.rights_inheriting.to_le_bytes());
            mem.write_bytes(out, &rec)
        }
        F::FdFdstatSetFlags => {
            let e = entry(host, fd, r::FD_FDSTAT_SET_FLAGS, 0)?;
            let flags = a.u32(1)? as u16;
            ask(
                host,
                &on(FileOp::SetFlags, e.handle, &[u64::from(flags)]),
                &mut [],
            )?;
            // Linux changes only O_APPEND and O_NONBLOCK with F_SETFL.
            let changeable = FDFLAG_APPEND | 4;
            table(host)?.get_mut(fd)?.fdflags = (e.fdflags & !changeable) | (flags & changeable);
            Ok(())
        }
        F::FdFdstatSetRights => {
            let (base, inheriting) = (a.u64(1)?, a.u64(2)?);
            entry(host, fd, base, inheriting)?;
            let e = table(host)?.get_mut(fd)?;
            e.rights_base = base;
            e.rights_inheriting = inheriting;
            Ok(())
        }
        F::FdFilestatGet | F::Snapshot0FdFilestatGet => {
            let e = entry(host, fd, r::FD_FILESTAT_GET, 0)?;
            let out = a.u32(1)?;
            let snapshot0 = f == F::Snapshot0FdFilestatGet;
            mem.check(out, if snapshot0 { 56 } else { FILESTAT_SIZE })?;
            let mut stat = [0u8; FILESTAT_SIZE as usize];
            let got = ask(host, &on(FileOp::Filestat, e.handle, &[]), &mut stat)?.len;
            if got != stat.len() {
                return Err(Errno::IO);
            }
            write_filestat(mem, out, &stat, snapshot0)
        }
        F::FdFilestatSetSize => {
            let e = entry(host, fd, r::FD_FILESTAT_SET_SIZE, 0)?;
            ask(host, &on(FileOp::SetSize, e.handle, &[a.u64(1)?]), &mut []).map(|_| ())
        }
        F::FdFilestatSetTimes => {
            let (atim, mtim, fst) = (a.u64(1)?, a.u64(2)?, u64::from(a.u32(3)? as u16));
            if bad_fstflags(fst) {
                return Err(Errno::INVAL);
            }
            let e = entry(host, fd, r::FD_FILESTAT_SET_TIMES, 0)?;
            let req = on(FileOp::SetTimes, e.handle, &[atim, mtim, fst]);
            ask(host, &req, &mut []).map(|_| ())
        }
        F::FdReaddir => {
            let e = entry(host, fd, r::FD_READDIR, 0)?;
            let (buf, len, cookie, out) = (a.u32(1)?, a.u32(2)?, a.u64(3)?, a.u32(4)?);
            mem.check(buf, len)?;
            mem.check(out, 4)?;
            let len = len.min(u32::try_from(cap).unwrap_or(u32::MAX));
            let req = on(FileOp::Readdir, e.handle, &[cookie, u64::from(len)]);
            let got = ask(host, &req, mem.slice_mut(buf, len)?)?.len;
            mem.write_u32(out, got as u32)
        }
        F::FdRenumber => {
            let to = a.u32(1)?;
            let from_entry = entry(host, fd, 0, 0)?;
            let to_entry = entry(host, to, 0, 0)?;
            if fd == to {
                return Ok(());
            }
            let mut none = [0u8; 0];
            if host
                .file(&on(FileOp::Close, to_entry.handle, &[]), &mut none)
                .is_none()
            {
                return Err(FILE_PENDING);
            }
            let t = table(host)?;
            *t.get_mut(to)? = from_entry;
            t.remove(fd).map(|_| ())
        }
        F::PathOpen => path_open(mem, host, a, fd),
        F::PathCreateDirectory
        | F::PathRemoveDirectory
        | F::PathUnlinkFile
        | F::PathFilestatGet
        | F::PathFilestatSetTimes
        | F::PathReadlink => {
            let (need, op) = match f {
                F::PathCreateDirectory => (r::PATH_CREATE_DIRECTORY, FileOp::Mkdir),
                F::PathRemoveDirectory => (r::PATH_REMOVE_DIRECTORY, FileOp::Rmdir),
                F::PathUnlinkFile => (r::PATH_UNLINK_FILE, FileOp::Unlink),
                F::PathFilestatGet => (r::PATH_FILESTAT_GET, FileOp::PathFilestat),
                F::PathFilestatSetTimes => (r::PATH_FILESTAT_SET_TIMES, FileOp::PathSetTimes),
                _ => (r::PATH_READLINK, FileOp::Readlink),
            };
            // With lookup flags the path is arguments 2 and 3, else 1 and 2.
            let flagged = matches!(f, F::PathFilestatGet | F::PathFilestatSetTimes);
            let at = usize::from(flagged);
            if f == F::PathFilestatSetTimes && bad_fstflags(u64::from(a.u32(6)? as u16)) {
                return Err(Errno::INVAL);
            }
            let e = entry(host, fd, need, 0)?;
            let path = path_arg(mem, a.u32(1 + at)?, a.u32(2 + at)?)?;
            let lookup = if flagged { u64::from(a.u32(1)?) } else { 0 };
            let mut req = match f {
                F::PathFilestatGet => on(op, e.handle, &[lookup]),
                F::PathFilestatSetTimes => on(
                    op,
                    e.handle,
                    &[lookup, a.u64(4)?, a.u64(5)?, u64::from(a.u32(6)? as u16)],
                ),
                _ => on(op, e.handle, &[]),
            };
            req.path = &path;
            match f {
                F::PathFilestatGet => {
                    let out = a.u32(4)?;
                    mem.check(out, FILESTAT_SIZE)?;
                    let mut stat = [0u8; FILESTAT_SIZE as usize];
                    if ask(host, &req, &mut stat)?.len != stat.len() {
                        return Err(Errno::IO);
                    }
                    write_filestat(mem, out, &stat, false)
                }
                F::PathReadlink => {
                    let (buf, len, out) = (a.u32(3)?, a.u32(4)?, a.u32(5)?);
                    mem.check(buf, len)?;
                    mem.check(out, 4)?;
                    let len = len.min(u32::try_from(cap).unwrap_or(u32::MAX));
                    req.args[1] = u64::from(len);
                    let got = ask(host, &req, mem.slice_mut(buf, len)?)?.len;
                    mem.write_u32(out, got as u32)
                }
                _ => ask(host, &req, &mut []).map(|_| ()),
            }
        }
        F::PathRename | F::PathLink => {
            let (old_need, new_need, new_fd_at) = if f == F::PathRename {
                (r::PATH_RENAME_SOURCE, r::PATH_RENAME_TARGET, 3)
            } else {
                (r::PATH_LINK_SOURCE, r::PATH_LINK_TARGET, 4)
            };
            let new_fd = a.u32(new_fd_at)?;
            let old = entry(host, fd, old_need, 0)?;
            let new = entry(host, new_fd, new_need, 0)?;
            let (old_path, new_path) = if f == F::PathRename {
                (
                    path_arg(mem, a.u32(1)?, a.u32(2)?)?,
                    path_arg(mem, a.u32(4)?, a.u32(5)?)?,
                )
            } else {
                (
                    path_arg(mem, a.u32(2)?, a.u32(3)?)?,
                    path_arg(mem, a.u32(5)?, a.u32(6)?)?,
                )
            };
            let mut req = if f == F::PathRename {
                on(FileOp::Rename, old.handle, &[u64::from(new.handle)])
            } else {
                let lookup = u64::from(a.u32(1)?);
                on(FileOp::Link, old.handle, &[lookup, u64::from(new.handle)])
            };
            req.path = &old_path;
            req.path2 = &new_path;
            ask(host, &req, &mut []).map(|_| ())
        }
        F::PathSymlink => {
            let e = entry(host, fd, r::PATH_SYMLINK, 0)?;
            let target = mem.slice(a.u32(0)?, a.u32(1)?)?;
            if target.contains(&0) {
                return Err(Errno::ILSEQ);
            }
            if target.len() > MAX_PATH {
                return Err(Errno::NAMETOOLONG);
            }
            let name = path_arg(mem, a.u32(3)?, a.u32(4)?)?;
            let mut req = on(FileOp::Symlink, e.handle, &[]);
            req.path = target;
            req.path2 = &name;
            ask(host, &req, &mut []).map(|_| ())
        }
        // Not reached: dispatch lets only the calls above through.
        _ => Err(Errno::NOSYS),
    }
}

/// `path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
/// fdflags, fd_out)`.
fn path_open(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    a: &Args<'_>,
    fd: u32,
) -> Result<(), Errno> {
    use rights as r;
    let lookup = u64::from(a.u32(1)?);
    let oflags = u64::from(a.u32(4)? as u16);
    let (base, inheriting) = (a.u64(5)?, a.u64(6)?);
    let fdflags = a.u32(7)? as u16;
    let out = a.u32(8)?;
    let read = base & (r::FD_READ | r::FD_READDIR) != 0;
    let write =
        base & (r::FD_DATASYNC | r::FD_WRITE | r::FD_ALLOCATE | r::FD_FILESTAT_SET_SIZE) != 0;
    let mut need_base = r::PATH_OPEN;
    let mut need_inheriting = base | inheriting;
    if oflags & O_CREAT != 0 {
        need_base |= r::PATH_CREATE_FILE;
    }
    if oflags & O_TRUNC != 0 {
        need_base |= r::PATH_FILESTAT_SET_SIZE;
    }
    if fdflags & (FDFLAG_SYNC | FDFLAG_RSYNC) != 0 {
        need_inheriting |= r::FD_SYNC;
    }
    if fdflags & FDFLAG_DSYNC != 0 {
        need_inheriting |= r::FD_DATASYNC;
    }
    if write && fdflags & FDFLAG_APPEND == 0 && oflags & O_TRUNC == 0 {
        need_inheriting |= r::FD_SEEK;
    }
    let dir = entry(host, fd, need_base, need_inheriting)?;
    let path = path_arg(mem, a.u32(2)?, a.u32(3)?)?;
    mem.check(out, 4)?;
    if !table(host)?.has_room() {
        return Err(Errno::MFILE);
    }
    let access = u64::from(read) | (u64::from(write) << 1);
    let mut req = on(
        FileOp::Open,
        dir.handle,
        &[lookup, oflags, u64::from(fdflags), access],
    );
    req.path = &path;
    let answer = ask(host, &req, &mut [])?;
    let (handle, filetype) = (answer.values[0], answer.values[1]);
    let (Ok(handle), Ok(filetype)) = (u32::try_from(handle), u8::try_from(filetype)) else {
        return Err(Errno::IO);
    };
    if filetype > FILETYPE_SYMBOLIC_LINK {
        return Err(Errno::IO);
    }
    let (mut max_base, max_inheriting) = r::max_for(filetype);
    // The access mode the file was opened with strips the other direction.
    match (read, write) {
        (_, false) => max_base &= !r::FD_WRITE,
        (false, true) => max_base &= !r::FD_READ,
        (true, true) => {}
    }
    let kind = if filetype == FILETYPE_DIRECTORY {
        FdKind::Directory { preopen: None }
    } else {
        FdKind::File { filetype }
    };
    let new = table(host)?.insert(FdEntry {
        handle,
        kind,
        rights_base: base & max_base,
        rights_inheriting: inheriting & max_inheriting,
        fdflags,
    })?;
    mem.write_u32(out, new)
}
