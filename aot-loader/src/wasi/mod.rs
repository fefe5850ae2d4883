//! WASI preview1 (`wasi_snapshot_preview1`, and `wasi_unstable`) for commands: pure `no_std`
//! logic the runtime calls for a module's WASI imports.
//!
//! The runtime resolves each import with [`lookup`], which also gives WAMR's native-symbol
//! signature string (`libc_wasi_wrapper.c`, WAMR 2.4.3): wamrc fixed that signature into the
//! generated code, which passes `*` (pointer) arguments already converted to native addresses
//! and `~` as the length of the preceding `*`. The runtime turns every argument back into its
//! wasm value (pointers as wasm addresses, i32 as the low 32 bits, i64 whole) and calls
//! [`call`] with a [`GuestMemory`] built from its *own* records of the memory base and size,
//! and a [`WasiHost`] for the outside world (output, clocks, entropy, args, environment).
//! [`call`] returns [`WasiOutcome::Return`] with the errno for the module, or
//! [`WasiOutcome::Exit`] for `proc_exit` (the runtime ends the run with that exit code).
//!
//! Every pointer and length the module passes is checked against the memory size with checked
//! arithmetic before use; out of range is `EFAULT` and nothing outside the memory is touched.
//! Checks come in this order: the arguments that are not memory (fd, clock id: `EBADF`,
//! `EINVAL`, ...), then every memory range the call will touch (`EFAULT`), then the action,
//! so a failing call writes nothing (except `fd_write`'s short write, below).
//!
//! # What the module sees
//!
//! - **File descriptors**: 0 (stdin), 1 (stdout) and 2 (stderr), and, for a host that gives
//!   files ([`WasiHost::files`], [`files::FdTable`]), its preopened directories from fd 3 and
//!   what the module opens through them: `fd_prestat_get` and `fd_prestat_dir_name` answer
//!   from that table (a directory and its name; `EINVAL` for a name buffer too short, as
//!   WAMR), and every file and path call on fds 3 and up goes to `fs.rs` (rights, paths, one
//!   [`WasiHost::file`] request per call; see there and docs/files.md). Without files,
//!   `fd_prestat_get` is `EBADF` for every fd, which tells wasi-libc and Rust std there are
//!   none, so path-based calls never happen in practice (each still returns an errno:
//!   `ENOTDIR` on fds 0-2, `EBADF` on any other fd). The rest of this list is about stdio.
//! - `fd_fdstat_get`: filetype from [`WasiHost::fd_filetype`] (character device by default, so
//!   wasi-libc's `isatty` is true and C stdout is line buffered), flags 0, base rights
//!   `fd_read | poll_fd_readwrite | fd_filestat_get` for stdin and
//!   `fd_write | poll_fd_readwrite | fd_filestat_get` for stdout and stderr, inheriting
//!   rights 0. `fd_filestat_get` on 0-2: that filetype, `nlink` 1, everything else 0.
//! - `fd_write` to 1 or 2 gathers the ciovecs in order into [`WasiHost::write`]. All ciovecs
//!   are checked before anything is written. If the host fails on the first non-empty
//!   buffer the call returns that errno; if it fails later the call succeeds with the bytes
//!   written so far in `nwritten` (a short write, as POSIX `writev`). The total is capped at
//!   `u32::MAX` (a short write too). `fd_write` to stdin is `ENOTCAPABLE`.
//! - `fd_read` of stdin reads what [`WasiHost::stdin`] says is there, scattered over the
//!   iovecs in order ([`WasiHost::read_stdin`]); 0 bytes at end of file (the default host is
//!   always at end of file). When stdin is empty but not at its end and the module asks for
//!   at least one byte, [`call`] returns [`WasiOutcome::Pending`] without any effect, so the
//!   embedder pauses the run until more input comes (the secure world: INPUT_PENDING). Of
//!   stdout or stderr: `ENOTCAPABLE`.
//! - `fd_seek`, `fd_tell`, `fd_pread`, `fd_pwrite`, `fd_advise`, `fd_allocate` on 0-2:
//!   `ESPIPE`. `fd_close` on 0-2 succeeds and tells the host (`WasiHost::fd_closed`); a host that
//!   tracks it (`fd_is_open`) makes every later `fd_*` call on that fd `EBADF`, as iwasm does.
//!   `fd_sync`, `fd_datasync`, `fd_fdstat_set_flags`, `fd_filestat_set_size`,
//!   `fd_filestat_set_times` on 0-2: `ENOTCAPABLE` (the rights above lack them);
//!   `fd_fdstat_set_rights` succeeds if it asks for no rights beyond those (nothing changes),
//!   else `ENOTCAPABLE`. `fd_readdir` on 0-2: `ENOTDIR`. `fd_renumber` of 0-2: `ENOTSUP`.
//! - `clock_time_get` / `clock_res_get`: whatever [`WasiHost::clock_time_ns`] /
//!   [`WasiHost::clock_res_ns`] return for the clock id (realtime 0, monotonic 1, process
//!   cputime 2, thread cputime 3); `None` is `EINVAL`. The precision argument is ignored.
//! - `poll_oneoff`: `nsubscriptions` 0 is `EINVAL`; an unknown subscription type is `EINVAL`
//!   for the whole call. `fd_read` on stdin is ready with the bytes available as `nbytes`, or
//!   with `nbytes` 0 and `fd_readwrite_hangup` at end of file, and not ready while stdin is
//!   empty; `fd_write` on stdout/stderr is ready at once with `nbytes` 0; any other
//!   fd/direction gets an event with `EBADF` (fd not 0-2) or `ENOTCAPABLE`. A clock
//!   subscription on a clock the host lacks gets an event with `EINVAL`. If any event is
//!   ready the call returns those plus every clock already due, without sleeping; otherwise,
//!   with a clock, it sleeps ([`WasiHost::sleep_ns_or_input`]) for the earliest clock timeout
//!   (absolute timeouts converted with the clock's current time), or until input arrives if
//!   it waits for stdin, and returns what is due by then; with only stdin to wait for it is
//!   [`WasiOutcome::Pending`] like `fd_read`.
//! - `random_get` fills the buffer from [`WasiHost::random`] in chunks of [`RANDOM_CHUNK`]
//!   bytes; between chunks it asks [`WasiHost::interrupt_pending`], and if the embedder wants
//!   the CPU back, [`call_resumable`] answers [`WasiOutcome::Interrupted`] with how far it got,
//!   so the same call issued again fills only the rest (every byte written exactly once);
//!   `sched_yield` succeeds;
//!   `proc_exit` is [`WasiOutcome::Exit`]; `proc_raise` and the socket calls (`ENOTSOCK` on
//!   0-2) are not supported.
//! - args and environment come from [`WasiHost::args`] / [`WasiHost::environ`] (`KEY=VALUE`
//!   entries), each written NUL-terminated; sizes that do not fit in u32 are `EOVERFLOW`.
//! - `wasi_unstable` (snapshot 0) resolves to the same functions (as in WAMR), except
//!   `poll_oneoff` and `fd_filestat_get`, whose structures differ in snapshot 0 and get their
//!   own layouts here. WAMR's own socket extensions (`sock_open`, `sock_bind`, ...), which it
//!   registers under the same module names, are not resolved ([`lookup`] gives `None`).
//!
//! Structure layouts (wasm32, little endian, from the preview1 witx): iovec/ciovec 8 bytes
//! (`buf` u32 @0, `buf_len` u32 @4); fdstat 24 (`fs_filetype` u8 @0, `fs_flags` u16 @2,
//! `fs_rights_base` u64 @8, `fs_rights_inheriting` u64 @16); filestat 64 (`dev` @0, `ino` @8,
//! `filetype` u8 @16, `nlink` u64 @24, `size` @32, `atim` @40, `mtim` @48, `ctim` @56;
//! snapshot 0: 56, `nlink` u32 @20, `size` @24, `atim` @32, `mtim` @40, `ctim` @48);
//! subscription 48 (`userdata` u64 @0, tag u8 @8, clock: `id` u32 @16, `timeout` u64 @24,
//! `precision` u64 @32, `flags` u16 @40; fd_readwrite: `fd` u32 @16; snapshot 0: 56, clock
//! `identifier` u64 @16, `id` @24, `timeout` @32, `precision` @40, `flags` @48); event 32
//! (`userdata` u64 @0, `error` u16 @8, `type` u8 @10, `nbytes` u64 @16, `flags` u16 @24);
//! prestat 8 (tag u8 @0, `pr_name_len` u32 @4).
//!
//! Differences from WAMR's iwasm: WAMR traps ("out of bounds memory access") on a bad
//! pointer where this module returns `EFAULT` (the runtime's pointer conversion for `*`
//! arguments already traps when the first byte is out of range, as WAMR's does; so only
//! the rest of a multi-byte out-parameter, iovec buffers and the like get `EFAULT`); WAMR
//! also wants room for `argc + 1` pointers in `args_get` (here `argc`, per the witx); iwasm
//! reports the real host file types and rights of its stdio (a pipe is a `socket_stream`:
//! see [`WasiHost::fd_filetype`]) and really closes fds.

pub mod files;
mod fs;
mod memory;
pub use fs::rights;
#[cfg(test)]
mod tests;

pub use memory::{GuestMemory, IOVEC_SIZE};

/// A WASI preview1 error number (`errno`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub u16);

macro_rules! errnos {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $witx:literal;)*) => {
        impl Errno {
            $($(#[$doc])* pub const $name: Errno = Errno($value);)*

            /// The witx name of this errno (`"badf"`, ...), or `None` for a value preview1
            /// does not define.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($witx),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    /// No error.
    SUCCESS = 0, "success";
    /// Argument list too long (witx `2big`).
    TOOBIG = 1, "2big";
    /// Permission denied.
    ACCES = 2, "acces";
    /// Address in use.
    ADDRINUSE = 3, "addrinuse";
    /// Address not available.
    ADDRNOTAVAIL = 4, "addrnotavail";
    /// Address family not supported.
    AFNOSUPPORT = 5, "afnosupport";
    /// Resource unavailable, or operation would block.
    AGAIN = 6, "again";
    /// Connection already in progress.
    ALREADY = 7, "already";
    /// Bad file descriptor.
    BADF = 8, "badf";
    /// Bad message.
    BADMSG = 9, "badmsg";
    /// Device or resource busy.
    BUSY = 10, "busy";
    /// Operation canceled.
    CANCELED = 11, "canceled";
    /// No child processes.
    CHILD = 12, "child";
    /// Connection aborted.
    CONNABORTED = 13, "connaborted";
    /// Connection refused.
    CONNREFUSED = 14, "connrefused";
    /// Connection reset.
    CONNRESET = 15, "connreset";
    /// Resource deadlock would occur.
    DEADLK = 16, "deadlk";
    /// Destination address required.
    DESTADDRREQ = 17, "destaddrreq";
    /// Mathematics argument out of domain of function.
    DOM = 18, "dom";
    /// Reserved.
    DQUOT = 19, "dquot";
    /// File exists.
    EXIST = 20, "exist";
    /// Bad address.
    FAULT = 21, "fault";
    /// File too large.
    FBIG = 22, "fbig";
    /// Host is unreachable.
    HOSTUNREACH = 23, "hostunreach";
    /// Identifier removed.
    IDRM = 24, "idrm";
    /// Illegal byte sequence.
    ILSEQ = 25, "ilseq";
    /// Operation in progress.
    INPROGRESS = 26, "inprogress";
    /// Interrupted function.
    INTR = 27, "intr";
    /// Invalid argument.
    INVAL = 28, "inval";
    /// I/O error.
    IO = 29, "io";
    /// Socket is connected.
    ISCONN = 30, "isconn";
    /// Is a directory.
    ISDIR = 31, "isdir";
    /// Too many levels of symbolic links.
    LOOP = 32, "loop";
    /// File descriptor value too large.
    MFILE = 33, "mfile";
    /// Too many links.
    MLINK = 34, "mlink";
    /// Message too large.
    MSGSIZE = 35, "msgsize";
    /// Reserved.
    MULTIHOP = 36, "multihop";
    /// Filename too long.
    NAMETOOLONG = 37, "nametoolong";
    /// Network is down.
    NETDOWN = 38, "netdown";
    /// Connection aborted by network.
    NETRESET = 39, "netreset";
    /// Network unreachable.
    NETUNREACH = 40, "netunreach";
    /// Too many files open in system.
    NFILE = 41, "nfile";
    /// No buffer space available.
    NOBUFS = 42, "nobufs";
    /// No such device.
    NODEV = 43, "nodev";
    /// No such file or directory.
    NOENT = 44, "noent";
    /// Executable file format error.
    NOEXEC = 45, "noexec";
    /// No locks available.
    NOLCK = 46, "nolck";
    /// Reserved.
    NOLINK = 47, "nolink";
    /// Not enough space.
    NOMEM = 48, "nomem";
    /// No message of the desired type.
    NOMSG = 49, "nomsg";
    /// Protocol not available.
    NOPROTOOPT = 50, "noprotoopt";
    /// No space left on device.
    NOSPC = 51, "nospc";
    /// Function not supported.
    NOSYS = 52, "nosys";
    /// The socket is not connected.
    NOTCONN = 53, "notconn";
    /// Not a directory or a symbolic link to a directory.
    NOTDIR = 54, "notdir";
    /// Directory not empty.
    NOTEMPTY = 55, "notempty";
    /// State not recoverable.
    NOTRECOVERABLE = 56, "notrecoverable";
    /// Not a socket.
    NOTSOCK = 57, "notsock";
    /// Not supported, or operation not supported on socket.
    NOTSUP = 58, "notsup";
    /// Inappropriate I/O control operation.
    NOTTY = 59, "notty";
    /// No such device or address.
    NXIO = 60, "nxio";
    /// Value too large to be stored in data type.
    OVERFLOW = 61, "overflow";
    /// Previous owner died.
    OWNERDEAD = 62, "ownerdead";
    /// Operation not permitted.
    PERM = 63, "perm";
    /// Broken pipe.
    PIPE = 64, "pipe";
    /// Protocol error.
    PROTO = 65, "proto";
    /// Protocol not supported.
    PROTONOSUPPORT = 66, "protonosupport";
    /// Protocol wrong type for socket.
    PROTOTYPE = 67, "prototype";
    /// Result too large.
    RANGE = 68, "range";
    /// Read-only file system.
    ROFS = 69, "rofs";
    /// Invalid seek.
    SPIPE = 70, "spipe";
    /// No such process.
    SRCH = 71, "srch";
    /// Reserved.
    STALE = 72, "stale";
    /// Connection timed out.
    TIMEDOUT = 73, "timedout";
    /// Text file busy.
    TXTBSY = 74, "txtbsy";
    /// Cross-device link.
    XDEV = 75, "xdev";
    /// Extension: Capabilities insufficient.
    NOTCAPABLE = 76, "notcapable";
}

impl Errno {
    /// The value as a wasm `i32` result.
    pub fn to_u32(self) -> u32 {
        u32::from(self.0)
    }
}

/// `clockid::realtime`.
pub const CLOCK_REALTIME: u32 = 0;
/// `clockid::monotonic`.
pub const CLOCK_MONOTONIC: u32 = 1;
/// `clockid::process_cputime_id`.
pub const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
/// `clockid::thread_cputime_id`.
pub const CLOCK_THREAD_CPUTIME_ID: u32 = 3;

/// `filetype::unknown`.
pub const FILETYPE_UNKNOWN: u8 = 0;
/// `filetype::character_device`.
pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
/// `filetype::regular_file`.
pub const FILETYPE_REGULAR_FILE: u8 = 4;
/// `filetype::socket_stream` (what WAMR reports for a pipe).
pub const FILETYPE_SOCKET_STREAM: u8 = 6;

/// `rights::fd_read`.
pub const RIGHT_FD_READ: u64 = rights::FD_READ;
/// `rights::fd_seek`.
pub const RIGHT_FD_SEEK: u64 = rights::FD_SEEK;
/// `rights::fd_tell`.
pub const RIGHT_FD_TELL: u64 = rights::FD_TELL;
/// `rights::fd_write`.
pub const RIGHT_FD_WRITE: u64 = rights::FD_WRITE;
/// `rights::fd_filestat_get`.
pub const RIGHT_FD_FILESTAT_GET: u64 = rights::FD_FILESTAT_GET;
/// `rights::poll_fd_readwrite`.
pub const RIGHT_POLL_FD_READWRITE: u64 = rights::POLL_FD_READWRITE;

/// `eventtype::clock`.
pub const EVENTTYPE_CLOCK: u8 = 0;
/// `eventtype::fd_read`.
pub const EVENTTYPE_FD_READ: u8 = 1;
/// `eventtype::fd_write`.
pub const EVENTTYPE_FD_WRITE: u8 = 2;
/// `subclockflags::subscription_clock_abstime`.
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;
/// `eventrwflags::fd_readwrite_hangup`.
pub const EVENT_FD_READWRITE_HANGUP: u16 = 1;

/// Size of a preview1 `fdstat`.
pub const FDSTAT_SIZE: u32 = 24;
/// Size of a preview1 `filestat` (snapshot 0: [`FILESTAT_SIZE_SNAPSHOT0`]).
pub const FILESTAT_SIZE: u32 = 64;
/// Size of a snapshot 0 (`wasi_unstable`) `filestat`.
pub const FILESTAT_SIZE_SNAPSHOT0: u32 = 56;
/// Size of a preview1 `subscription` (snapshot 0: [`SUBSCRIPTION_SIZE_SNAPSHOT0`]).
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// Size of a `prestat`.
pub const PRESTAT_SIZE: u32 = 8;
/// Size of a snapshot 0 (`wasi_unstable`) `subscription`.
pub const SUBSCRIPTION_SIZE_SNAPSHOT0: u32 = 56;
/// Size of an `event` (both snapshots).
pub const EVENT_SIZE: u32 = 32;

/// The outside world as WASI functions see it. The runtime implements this over its
/// platform (output ring, timers, entropy) or, on the host, over std.
pub trait WasiHost {
    /// Writes all of `bytes` to stdout (`fd` 1) or stderr (`fd` 2), or fails with the errno
    /// the module should see.
    fn write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), Errno>;
    /// The current time of `clock_id` in nanoseconds, `None` if the host lacks that clock.
    fn clock_time_ns(&mut self, clock_id: u32) -> Option<u64>;
    /// The resolution of `clock_id` in nanoseconds, `None` if the host lacks that clock.
    fn clock_res_ns(&mut self, clock_id: u32) -> Option<u64>;
    /// Fills `buf` with random bytes.
    fn random(&mut self, buf: &mut [u8]) -> Result<(), Errno>;
    /// The command-line arguments, program name first.
    fn args(&self) -> &[&[u8]];
    /// The environment, as `KEY=VALUE` entries.
    fn environ(&self) -> &[&[u8]];
    /// Sleeps for `ns` nanoseconds (for `poll_oneoff` clock subscriptions); `true` when the
    /// time has passed. `false` means the sleep was cut short by something the embedder must
    /// handle first (the secure world: a pending normal-world interrupt): `poll_oneoff` then
    /// has had no effect and [`call`] returns [`WasiOutcome::Pending`], so the embedder issues
    /// the same call again later. The host must remember its deadline across that, so the
    /// re-issued call sleeps only for what is left.
    fn sleep_ns(&mut self, ns: u64) -> bool {
        let _ = ns;
        true
    }
    /// The `filetype` `fd_fdstat_get` / `fd_filestat_get` report for fd 0, 1 or 2.
    /// [`FILETYPE_CHARACTER_DEVICE`] (the default) makes wasi-libc's `isatty` true, so C
    /// stdout is line buffered (output appears as the program runs). iwasm reports the real
    /// file type (a regular file for the recorded corpus outputs, [`FILETYPE_SOCKET_STREAM`]
    /// for a pipe), and C stdout is then fully buffered, which changes how much output
    /// survives a trap: a host compared with iwasm must return the same kind.
    fn fd_filetype(&self, fd: u32) -> u8 {
        let _ = fd;
        FILETYPE_CHARACTER_DEVICE
    }
    /// False once `fd` (0, 1 or 2) has been closed by `fd_close`: every later `fd_*` call on
    /// it gets EBADF, as with a real descriptor table.
    fn fd_is_open(&self, fd: u32) -> bool {
        let _ = fd;
        true
    }
    /// Records that the module closed `fd` (0, 1 or 2). A host without descriptor state may
    /// ignore it (then the stream stays usable).
    fn fd_closed(&mut self, fd: u32) {
        let _ = fd;
    }
    /// How many bytes `write(fd, ..)` can take now. `fd_write` writes at most that many (a
    /// short write, which wasi-libc and Rust's std retry); when it is 0 and the module wants
    /// to write something, [`call`] returns [`WasiOutcome::Pending`] without any effect, so the
    /// embedder can pause the run until the output is drained. Default: no limit.
    fn writable(&mut self, fd: u32) -> usize {
        let _ = fd;
        usize::MAX
    }
    /// What `fd_read` of stdin would find now. Default: end of file (a host without input).
    /// An error (e.g. the normal world corrupted the input ring) is what `fd_read` returns.
    fn stdin(&mut self) -> Result<Input, Errno> {
        Ok(Input::Eof)
    }
    /// Copies up to `buf.len()` bytes of stdin into `buf` (never more than [`WasiHost::stdin`]
    /// said were there) and returns how many.
    fn read_stdin(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let _ = buf;
        Ok(0)
    }
    /// [`WasiHost::sleep_ns`] for a `poll_oneoff` that also waits for stdin (`stdin`): the
    /// host may end the sleep early, returning `false` like a cut-short sleep, once input
    /// arrives; the call is then issued again and finds stdin ready. Default: sleeps.
    fn sleep_ns_or_input(&mut self, ns: u64, stdin: bool) -> bool {
        let _ = stdin;
        self.sleep_ns(ns)
    }
    /// The module's descriptors of fds 3 and up, for a host that gives it files (preopened
    /// directories): `fd_prestat_get` and `fd_prestat_dir_name` answer from it. Default: no
    /// files (every fd above 2 is `EBADF`).
    fn files(&mut self) -> Option<&mut files::FdTable> {
        None
    }
    /// Performs one file request of a module's call on a descriptor of [`WasiHost::files`]:
    /// data the answer carries goes to the start of `out`. `None`: the request went out and
    /// its answer is not there yet; [`call`] then returns [`WasiOutcome::Pending`] without
    /// any effect, and the embedder issues the same call again once the answer came (the
    /// same request is asked for again, and answered). Default: `ENOSYS`.
    fn file(&mut self, req: &files::FileRequest<'_>, out: &mut [u8]) -> Option<files::FileAnswer> {
        let _ = (req, out);
        Some(files::FileAnswer {
            errno: Errno::NOSYS,
            values: [0; 4],
            len: 0,
        })
    }
    /// The most bytes one file request moves (read, write, directory listing, link).
    fn file_capacity(&self) -> usize {
        tzwasm_smc::files::MAX_DATA
    }
    /// Whether the embedder wants the CPU back now (the secure world: a normal-world
    /// interrupt is pending). Long calls (`random_get`) ask between chunks and stop early,
    /// resumably (see [`call_resumable`]). Default: never.
    fn interrupt_pending(&mut self) -> bool {
        false
    }
}

/// A host with no outside world: writes are accepted and dropped, no clock, random bytes
/// left as they are, no arguments or environment. For embedders and tests that instantiate
/// modules without running their WASI side (the loader fuzzer, the runtime's unit tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NullHost;

impl WasiHost for NullHost {
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
}

/// What stdin holds for the module now ([`WasiHost::stdin`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// This many bytes (at least 1) can be read now.
    Bytes(usize),
    /// Nothing now, more may come: a read would block.
    Empty,
    /// End of file: nothing now and nothing later.
    Eof,
}

/// What [`call`] asks the runtime to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasiOutcome {
    /// Return this errno to the module as the function's `i32` result.
    Return(u32),
    /// `proc_exit`: end the run with this exit code (WAMR: exception "wasi proc exit").
    Exit(u32),
    /// The call would block (output full) and did nothing: pause, and issue it again later.
    Pending,
    /// [`WasiHost::interrupt_pending`] cut a long call short after part of its work: the
    /// progress is in the `resume` value of [`call_resumable`]; issue the same call again
    /// with it to do the rest.
    Interrupted,
}

/// Bytes `random_get` fills between two [`WasiHost::interrupt_pending`] checks (0.5 to 2 ms
/// of the secure world's SHA-256 DRBG under QEMU TCG, far less on hardware).
pub const RANDOM_CHUNK: u32 = 16 << 10;

macro_rules! functions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $sig:literal;)*) => {
        /// A WASI function this module implements, one per import name (and two snapshot 0
        /// variants with their own structure layouts).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum WasiFunc {
            $($(#[$doc])* $variant,)*
        }

        /// `(import name, function, WAMR signature)` for every [`WasiFunc`]. The two
        /// `Snapshot0*` variants are what [`lookup`] gives for their names under
        /// `wasi_unstable`; everything else resolves the same under both module names.
        pub const FUNCTIONS: &[(&str, WasiFunc, &str)] = &[
            $(($name, WasiFunc::$variant, $sig),)*
        ];
    };
}

functions! {
    /// `args_get(argv, argv_buf)`.
    ArgsGet = "args_get", "(**)i";
    /// `args_sizes_get(argc_out, argv_buf_size_out)`.
    ArgsSizesGet = "args_sizes_get", "(**)i";
    /// `clock_res_get(id, resolution_out)`.
    ClockResGet = "clock_res_get", "(i*)i";
    /// `clock_time_get(id, precision, time_out)`.
    ClockTimeGet = "clock_time_get", "(iI*)i";
    /// `environ_get(environ, environ_buf)`.
    EnvironGet = "environ_get", "(**)i";
    /// `environ_sizes_get(count_out, buf_size_out)`.
    EnvironSizesGet = "environ_sizes_get", "(**)i";
    /// `fd_prestat_get(fd, prestat_out)`.
    FdPrestatGet = "fd_prestat_get", "(i*)i";
    /// `fd_prestat_dir_name(fd, path, path_len)`.
    FdPrestatDirName = "fd_prestat_dir_name", "(i*~)i";
    /// `fd_close(fd)`.
    FdClose = "fd_close", "(i)i";
    /// `fd_datasync(fd)`.
    FdDatasync = "fd_datasync", "(i)i";
    /// `fd_pread(fd, iovs, iovs_len, offset, nread_out)`.
    FdPread = "fd_pread", "(i*iI*)i";
    /// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten_out)`.
    FdPwrite = "fd_pwrite", "(i*iI*)i";
    /// `fd_read(fd, iovs, iovs_len, nread_out)`.
    FdRead = "fd_read", "(i*i*)i";
    /// `fd_renumber(fd, to)`.
    FdRenumber = "fd_renumber", "(ii)i";
    /// `fd_seek(fd, offset, whence, newoffset_out)`.
    FdSeek = "fd_seek", "(iIi*)i";
    /// `fd_tell(fd, offset_out)`.
    FdTell = "fd_tell", "(i*)i";
    /// `fd_fdstat_get(fd, fdstat_out)`.
    FdFdstatGet = "fd_fdstat_get", "(i*)i";
    /// `fd_fdstat_set_flags(fd, flags)`.
    FdFdstatSetFlags = "fd_fdstat_set_flags", "(ii)i";
    /// `fd_fdstat_set_rights(fd, base, inheriting)`.
    FdFdstatSetRights = "fd_fdstat_set_rights", "(iII)i";
    /// `fd_sync(fd)`.
    FdSync = "fd_sync", "(i)i";
    /// `fd_write(fd, iovs, iovs_len, nwritten_out)`.
    FdWrite = "fd_write", "(i*i*)i";
    /// `fd_advise(fd, offset, len, advice)`.
    FdAdvise = "fd_advise", "(iIIi)i";
    /// `fd_allocate(fd, offset, len)`.
    FdAllocate = "fd_allocate", "(iII)i";
    /// `path_create_directory(fd, path, path_len)`.
    PathCreateDirectory = "path_create_directory", "(i*~)i";
    /// `path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path, new_path_len)`.
    PathLink = "path_link", "(ii*~i*~)i";
    /// `path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
    /// fdflags, fd_out)`.
    PathOpen = "path_open", "(ii*~iIIi*)i";
    /// `fd_readdir(fd, buf, buf_len, cookie, bufused_out)`.
    FdReaddir = "fd_readdir", "(i*~I*)i";
    /// `path_readlink(fd, path, path_len, buf, buf_len, bufused_out)`.
    PathReadlink = "path_readlink", "(i*~*~*)i";
    /// `path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len)`.
    PathRename = "path_rename", "(i*~i*~)i";
    /// `fd_filestat_get(fd, filestat_out)` (preview1 layout).
    FdFilestatGet = "fd_filestat_get", "(i*)i";
    /// `fd_filestat_set_times(fd, atim, mtim, fst_flags)`.
    FdFilestatSetTimes = "fd_filestat_set_times", "(iIIi)i";
    /// `fd_filestat_set_size(fd, size)`.
    FdFilestatSetSize = "fd_filestat_set_size", "(iI)i";
    /// `path_filestat_get(fd, flags, path, path_len, filestat_out)`.
    PathFilestatGet = "path_filestat_get", "(ii*~*)i";
    /// `path_filestat_set_times(fd, flags, path, path_len, atim, mtim, fst_flags)`.
    PathFilestatSetTimes = "path_filestat_set_times", "(ii*~IIi)i";
    /// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len)`.
    PathSymlink = "path_symlink", "(*~i*~)i";
    /// `path_unlink_file(fd, path, path_len)`.
    PathUnlinkFile = "path_unlink_file", "(i*~)i";
    /// `path_remove_directory(fd, path, path_len)`.
    PathRemoveDirectory = "path_remove_directory", "(i*~)i";
    /// `poll_oneoff(in, out, nsubscriptions, nevents_out)` (preview1 layout).
    PollOneoff = "poll_oneoff", "(**i*)i";
    /// `proc_exit(rval)`: no result.
    ProcExit = "proc_exit", "(i)";
    /// `proc_raise(sig)`.
    ProcRaise = "proc_raise", "(i)i";
    /// `random_get(buf, buf_len)`.
    RandomGet = "random_get", "(*~)i";
    /// `sock_accept(fd, flags, fd_out)`.
    SockAccept = "sock_accept", "(ii*)i";
    /// `sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_out, ro_flags_out)`.
    SockRecv = "sock_recv", "(i*ii**)i";
    /// `sock_send(fd, si_data, si_data_len, si_flags, so_datalen_out)`.
    SockSend = "sock_send", "(i*ii*)i";
    /// `sock_shutdown(fd, how)`.
    SockShutdown = "sock_shutdown", "(ii)i";
    /// `sched_yield()`.
    SchedYield = "sched_yield", "()i";
    /// `wasi_unstable` `fd_filestat_get` (snapshot 0 `filestat` layout).
    Snapshot0FdFilestatGet = "fd_filestat_get", "(i*)i";
    /// `wasi_unstable` `poll_oneoff` (snapshot 0 `subscription` layout).
    Snapshot0PollOneoff = "poll_oneoff", "(**i*)i";
}

/// The import module name of WASI preview1.
pub const MODULE_PREVIEW1: &str = "wasi_snapshot_preview1";
/// The import module name of WASI snapshot 0.
pub const MODULE_UNSTABLE: &str = "wasi_unstable";

impl WasiFunc {
    /// The import name (`"fd_write"`, ...).
    pub fn name(self) -> &'static str {
        self.entry().0
    }

    /// WAMR's native-symbol signature (`"(i*i*)i"`, ...).
    pub fn signature(self) -> &'static str {
        self.entry().2
    }

    fn entry(self) -> (&'static str, WasiFunc, &'static str) {
        // Every variant has exactly one table entry (checked by a unit test); the fallback is
        // never taken.
        FUNCTIONS
            .iter()
            .copied()
            .find(|&(_, f, _)| f == self)
            .unwrap_or(("", self, "()i"))
    }
}

/// Resolves the import `module.name`: the function and WAMR's signature string for it, or
/// `None` if it is not a WASI function this runtime knows.
pub fn lookup(module: &str, name: &str) -> Option<(WasiFunc, &'static str)> {
    let snapshot0 = match module {
        MODULE_PREVIEW1 => false,
        MODULE_UNSTABLE => true,
        _ => return None,
    };
    FUNCTIONS
        .iter()
        .filter(|&&(_, f, _)| {
            !matches!(
                f,
                WasiFunc::Snapshot0FdFilestatGet | WasiFunc::Snapshot0PollOneoff
            )
        })
        .find(|&&(n, _, _)| n == name)
        .map(|&(_, f, sig)| {
            let f = match (snapshot0, f) {
                (true, WasiFunc::FdFilestatGet) => WasiFunc::Snapshot0FdFilestatGet,
                (true, WasiFunc::PollOneoff) => WasiFunc::Snapshot0PollOneoff,
                _ => f,
            };
            (f, sig)
        })
}

/// The wasm arguments of one call, by position.
struct Args<'s>(&'s [u64]);

impl Args<'_> {
    /// Argument `n` as an `i32` (or a pointer or length): its low 32 bits.
    fn u32(&self, n: usize) -> Result<u32, Errno> {
        self.0.get(n).map(|&v| v as u32).ok_or(Errno::INVAL)
    }

    /// Argument `n` as an `i64`.
    fn u64(&self, n: usize) -> Result<u64, Errno> {
        self.0.get(n).copied().ok_or(Errno::INVAL)
    }
}

/// Runs WASI function `f` with the module's wasm arguments `args` (pointers as wasm
/// addresses; each `i32` in the low 32 bits of its `u64`). A missing argument is `EINVAL`.
/// A call cut short by [`WasiHost::interrupt_pending`] starts over when issued again (use
/// [`call_resumable`] to continue it instead).
pub fn call(
    f: WasiFunc,
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    args: &[u64],
) -> WasiOutcome {
    call_resumable(f, mem, host, args, &mut 0)
}

/// [`call`] for an embedder that gives the CPU back in the middle of long calls: `resume` is
/// 0 for a new call. On [`WasiOutcome::Interrupted`] it holds how far the call got (bytes of
/// `random_get` done); issuing the same call with the same arguments and that value does
/// exactly the rest. Any other outcome leaves it 0.
pub fn call_resumable(
    f: WasiFunc,
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    args: &[u64],
    resume: &mut u64,
) -> WasiOutcome {
    let from = core::mem::take(resume);
    let args = Args(args);
    if f == WasiFunc::ProcExit {
        return match args.u32(0) {
            Ok(code) => WasiOutcome::Exit(code),
            Err(e) => WasiOutcome::Return(e.to_u32()),
        };
    }
    if f == WasiFunc::FdWrite && write_would_block(mem, host, &args) {
        return WasiOutcome::Pending;
    }
    if f == WasiFunc::FdRead && read_would_block(mem, host, &args) {
        return WasiOutcome::Pending;
    }
    match dispatch(f, mem, host, &args, from, resume) {
        Ok(()) => WasiOutcome::Return(Errno::SUCCESS.to_u32()),
        Err(SLEEP_CUT_SHORT | fs::FILE_PENDING) => WasiOutcome::Pending,
        Err(INTERRUPTED) => WasiOutcome::Interrupted,
        Err(e) => WasiOutcome::Return(e.to_u32()),
    }
}

/// Internal only, never returned to a module: a long call stopped between chunks because
/// [`WasiHost::interrupt_pending`] said so; its progress is in `resume`.
const INTERRUPTED: Errno = Errno(u16::MAX - 1);

/// `random_get` of `len` bytes at `buf`, from byte `from` on (a resumed call): the whole
/// range is checked first, then filled chunk by chunk.
fn random_get(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    buf: u32,
    len: u32,
    from: u64,
    resume: &mut u64,
) -> Result<(), Errno> {
    mem.check(buf, len)?;
    let mut at = u32::try_from(from).unwrap_or(u32::MAX).min(len);
    while at < len {
        let n = (len - at).min(RANDOM_CHUNK);
        // Inside the range checked above: buf + at + n <= buf + len.
        host.random(mem.slice_mut(buf.checked_add(at).ok_or(Errno::FAULT)?, n)?)?;
        at += n;
        if at < len && host.interrupt_pending() {
            *resume = u64::from(at);
            return Err(INTERRUPTED);
        }
    }
    Ok(())
}

/// Internal only, never returned to a module: `poll_oneoff`'s sleep was cut short
/// ([`WasiHost::sleep_ns`] returned false) before the call had any effect.
const SLEEP_CUT_SHORT: Errno = Errno(u16::MAX);

fn dispatch(
    f: WasiFunc,
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    a: &Args<'_>,
    from: u64,
    resume: &mut u64,
) -> Result<(), Errno> {
    use WasiFunc as F;
    // Every `fd_*` call names its descriptor first; a closed one is gone for all of them.
    if f.name().starts_with("fd_") && !host.fd_is_open(a.u32(0)?) {
        return Err(Errno::BADF);
    }
    // Descriptors 3 and up: the files the host gives.
    if let Some(r) = fs::dispatch(f, mem, host, a) {
        return r;
    }
    match f {
        F::ArgsGet => list_get(mem, host.args(), a.u32(0)?, a.u32(1)?),
        F::ArgsSizesGet => list_sizes_get(mem, host.args(), a.u32(0)?, a.u32(1)?),
        F::EnvironGet => list_get(mem, host.environ(), a.u32(0)?, a.u32(1)?),
        F::EnvironSizesGet => list_sizes_get(mem, host.environ(), a.u32(0)?, a.u32(1)?),
        F::ClockResGet => {
            let ns = host.clock_res_ns(a.u32(0)?).ok_or(Errno::INVAL)?;
            mem.write_u64(a.u32(1)?, ns)
        }
        F::ClockTimeGet => {
            let ns = host.clock_time_ns(a.u32(0)?).ok_or(Errno::INVAL)?;
            mem.write_u64(a.u32(2)?, ns)
        }
        F::FdWrite => fd_write(mem, host, a.u32(0)?, a.u32(1)?, a.u32(2)?, a.u32(3)?),
        F::FdRead => fd_read(mem, host, a.u32(0)?, a.u32(1)?, a.u32(2)?, a.u32(3)?),
        F::FdFdstatGet => fd_fdstat_get(mem, host, a.u32(0)?, a.u32(1)?),
        F::FdFilestatGet => fd_filestat_get(mem, host, a.u32(0)?, a.u32(1)?, false),
        F::Snapshot0FdFilestatGet => fd_filestat_get(mem, host, a.u32(0)?, a.u32(1)?, true),
        F::FdClose => {
            let fd = a.u32(0)?;
            Stream::from_fd(fd)?;
            host.fd_closed(fd);
            Ok(())
        }
        F::FdPrestatGet => fd_prestat_get(mem, host, a.u32(0)?, a.u32(1)?),
        F::FdPrestatDirName => fd_prestat_dir_name(mem, host, a.u32(0)?, a.u32(1)?, a.u32(2)?),
        F::FdSeek | F::FdTell | F::FdPread | F::FdPwrite | F::FdAdvise | F::FdAllocate => {
            Stream::from_fd(a.u32(0)?).and(Err(Errno::SPIPE))
        }
        F::FdSync
        | F::FdDatasync
        | F::FdFdstatSetFlags
        | F::FdFilestatSetSize
        | F::FdFilestatSetTimes => Stream::from_fd(a.u32(0)?).and(Err(Errno::NOTCAPABLE)),
        F::FdFdstatSetRights => {
            let stream = Stream::from_fd(a.u32(0)?)?;
            let (base, inheriting) = (a.u64(1)?, a.u64(2)?);
            if base & !stream.rights() == 0 && inheriting == 0 {
                Ok(())
            } else {
                Err(Errno::NOTCAPABLE)
            }
        }
        F::FdRenumber => {
            Stream::from_fd(a.u32(0)?)?;
            Stream::from_fd(a.u32(1)?)?;
            Err(Errno::NOTSUP)
        }
        F::FdReaddir
        | F::PathCreateDirectory
        | F::PathFilestatGet
        | F::PathFilestatSetTimes
        | F::PathOpen
        | F::PathReadlink
        | F::PathRemoveDirectory
        | F::PathUnlinkFile => Err(dir_fd_errno(a.u32(0)?)),
        F::PathLink => Err(dir_fd2_errno(a.u32(0)?, a.u32(4)?)),
        F::PathRename => Err(dir_fd2_errno(a.u32(0)?, a.u32(3)?)),
        F::PathSymlink => Err(dir_fd_errno(a.u32(2)?)),
        F::PollOneoff => poll_oneoff(
            mem,
            host,
            &PREVIEW1_SUBSCRIPTION,
            a.u32(0)?,
            a.u32(1)?,
            a.u32(2)?,
            a.u32(3)?,
        ),
        F::Snapshot0PollOneoff => poll_oneoff(
            mem,
            host,
            &SNAPSHOT0_SUBSCRIPTION,
            a.u32(0)?,
            a.u32(1)?,
            a.u32(2)?,
            a.u32(3)?,
        ),
        F::RandomGet => random_get(mem, host, a.u32(0)?, a.u32(1)?, from, resume),
        F::SchedYield => Ok(()),
        F::ProcRaise => Err(Errno::NOSYS),
        F::SockAccept | F::SockRecv | F::SockSend | F::SockShutdown => {
            Stream::from_fd(a.u32(0)?).and(Err(Errno::NOTSOCK))
        }
        // Handled in `call`; kept here so the match stays exhaustive.
        F::ProcExit => Err(Errno::INVAL),
    }
}

/// The three standard streams, the only file descriptors a module has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Stdin,
    Stdout,
    Stderr,
}

impl Stream {
    fn from_fd(fd: u32) -> Result<Stream, Errno> {
        match fd {
            0 => Ok(Stream::Stdin),
            1 => Ok(Stream::Stdout),
            2 => Ok(Stream::Stderr),
            _ => Err(Errno::BADF),
        }
    }

    /// `fs_rights_base` as `fd_fdstat_get` reports it.
    fn rights(self) -> u64 {
        let io = match self {
            Stream::Stdin => RIGHT_FD_READ,
            Stream::Stdout | Stream::Stderr => RIGHT_FD_WRITE,
        };
        io | RIGHT_POLL_FD_READWRITE | RIGHT_FD_FILESTAT_GET
    }
}

/// The errno of a directory operation on `fd`: there are no directory fds.
fn dir_fd_errno(fd: u32) -> Errno {
    match Stream::from_fd(fd) {
        Ok(_) => Errno::NOTDIR,
        Err(e) => e,
    }
}

/// As [`dir_fd_errno`] for an operation on two directory fds.
fn dir_fd2_errno(fd1: u32, fd2: u32) -> Errno {
    match (Stream::from_fd(fd1), Stream::from_fd(fd2)) {
        (Ok(_), Ok(_)) => Errno::NOTDIR,
        _ => Errno::BADF,
    }
}

/// Entry count and total size (each entry plus its NUL) of an args/environ list.
fn list_sizes(list: &[&[u8]]) -> Result<(u32, u32), Errno> {
    let count = u32::try_from(list.len()).map_err(|_| Errno::OVERFLOW)?;
    let mut size = 0u32;
    for entry in list {
        let len = u32::try_from(entry.len())
            .ok()
            .and_then(|len| len.checked_add(1))
            .ok_or(Errno::OVERFLOW)?;
        size = size.checked_add(len).ok_or(Errno::OVERFLOW)?;
    }
    Ok((count, size))
}

/// `args_sizes_get` / `environ_sizes_get`.
fn list_sizes_get(
    mem: &mut GuestMemory<'_>,
    list: &[&[u8]],
    count_out: u32,
    size_out: u32,
) -> Result<(), Errno> {
    let (count, size) = list_sizes(list)?;
    mem.check(count_out, 4)?;
    mem.check(size_out, 4)?;
    mem.write_u32(count_out, count)?;
    mem.write_u32(size_out, size)
}

/// `args_get` / `environ_get`: `count` pointers at `ptrs`, the NUL-terminated entries packed
/// at `buf`.
fn list_get(mem: &mut GuestMemory<'_>, list: &[&[u8]], ptrs: u32, buf: u32) -> Result<(), Errno> {
    let (count, size) = list_sizes(list)?;
    mem.check_array(ptrs, count, 4)?;
    mem.check(buf, size)?;
    let (mut slot, mut at) = (ptrs, buf);
    for entry in list {
        mem.write_u32(slot, at)?;
        mem.write_bytes(at, entry)?;
        // In range: the whole list fits in `buf..buf + size`, checked above.
        let len = u32::try_from(entry.len()).map_err(|_| Errno::OVERFLOW)?;
        let nul = at.checked_add(len).ok_or(Errno::FAULT)?;
        mem.write_u8(nul, 0)?;
        at = nul.checked_add(1).ok_or(Errno::FAULT)?;
        slot = slot.wrapping_add(4);
    }
    Ok(())
}

/// Checks `nio_out` and every iovec of `iovs[..iovs_len]` (record and buffer).
fn check_iovecs(
    mem: &GuestMemory<'_>,
    iovs: u32,
    iovs_len: u32,
    nio_out: u32,
) -> Result<(), Errno> {
    mem.check(nio_out, 4)?;
    mem.check_array(iovs, iovs_len, IOVEC_SIZE)?;
    for i in 0..iovs_len {
        mem.iovec(iovs, i)?;
    }
    Ok(())
}

/// True if `fd_write` with these arguments is valid, wants to write at least one byte, and
/// the host can take none now. Any invalid argument is left to `fd_write` to report.
fn write_would_block(mem: &GuestMemory<'_>, host: &mut dyn WasiHost, a: &Args<'_>) -> bool {
    let (Ok(fd), Ok(iovs), Ok(n)) = (a.u32(0), a.u32(1), a.u32(2)) else {
        return false;
    };
    if !host.fd_is_open(fd) || !matches!(Stream::from_fd(fd), Ok(s) if s != Stream::Stdin) {
        return false;
    }
    if host.writable(fd) != 0 {
        return false;
    }
    (0..n).any(|i| mem.iovec(iovs, i).is_ok_and(|(_, len)| len > 0))
}

fn fd_write(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten_out: u32,
) -> Result<(), Errno> {
    if Stream::from_fd(fd)? == Stream::Stdin {
        return Err(Errno::NOTCAPABLE);
    }
    check_iovecs(mem, iovs, iovs_len, nwritten_out)?;
    let budget = u32::try_from(host.writable(fd)).unwrap_or(u32::MAX);
    let mut total = 0u32;
    for i in 0..iovs_len {
        let (buf, len) = mem.iovec(iovs, i)?;
        let len = len.min(u32::MAX - total).min(budget - total);
        if len == 0 {
            if total == u32::MAX || total == budget {
                break;
            }
            continue;
        }
        match host.write(fd, mem.slice(buf, len)?) {
            Ok(()) => total += len,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    mem.write_u32(nwritten_out, total)
}

/// `fd_read(0, ..)` that asks for at least one byte, on valid iovecs, while stdin is empty:
/// the call would block (and has done nothing).
fn read_would_block(mem: &GuestMemory<'_>, host: &mut dyn WasiHost, a: &Args<'_>) -> bool {
    let (Ok(fd), Ok(iovs), Ok(n), Ok(out)) = (a.u32(0), a.u32(1), a.u32(2), a.u32(3)) else {
        return false;
    };
    if !host.fd_is_open(fd) || Stream::from_fd(fd) != Ok(Stream::Stdin) {
        return false;
    }
    if check_iovecs(mem, iovs, n, out).is_err() {
        return false;
    }
    (0..n).any(|i| mem.iovec(iovs, i).is_ok_and(|(_, len)| len > 0))
        && host.stdin() == Ok(Input::Empty)
}

fn fd_read(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread_out: u32,
) -> Result<(), Errno> {
    if Stream::from_fd(fd)? != Stream::Stdin {
        return Err(Errno::NOTCAPABLE);
    }
    check_iovecs(mem, iovs, iovs_len, nread_out)?;
    let mut left = match host.stdin()? {
        Input::Bytes(n) => u32::try_from(n).unwrap_or(u32::MAX),
        // Empty here: the module asked for 0 bytes (a read that would block is Pending).
        Input::Empty | Input::Eof => 0,
    };
    let mut total = 0u32;
    for i in 0..iovs_len {
        if left == 0 {
            break;
        }
        let (buf, len) = mem.iovec(iovs, i)?;
        let want = len.min(left);
        if want == 0 {
            continue;
        }
        let got = match host.read_stdin(mem.slice_mut(buf, want)?) {
            Ok(got) => u32::try_from(got).unwrap_or(u32::MAX).min(want),
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += got;
        left -= got;
        if got < want {
            break;
        }
    }
    mem.write_u32(nread_out, total)
}

/// The preopen `fd` names: its name, or `EBADF` (stdio, no such fd, not a preopen).
fn preopen_name(host: &mut dyn WasiHost, fd: u32) -> Result<&[u8], Errno> {
    let table = host.files().ok_or(Errno::BADF)?;
    match table.get(fd)?.kind {
        files::FdKind::Directory {
            preopen: Some(index),
        } => table.preopen_name(index).ok_or(Errno::BADF),
        _ => Err(Errno::BADF),
    }
}

/// `fd_prestat_get(fd, prestat_out)`: a directory (tag 0) and its name's length.
fn fd_prestat_get(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    let len = u32::try_from(preopen_name(host, fd)?.len()).map_err(|_| Errno::OVERFLOW)?;
    mem.check(out, PRESTAT_SIZE)?;
    let mut rec = [0u8; PRESTAT_SIZE as usize];
    rec[4..8].copy_from_slice(&len.to_le_bytes());
    mem.write_bytes(out, &rec)
}

/// `fd_prestat_dir_name(fd, path, path_len)`: the name, not NUL-terminated; `EINVAL` if it
/// does not fit (as WAMR).
fn fd_prestat_dir_name(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let name = preopen_name(host, fd)?;
    mem.check(path, path_len)?;
    if (path_len as usize) < name.len() {
        return Err(Errno::INVAL);
    }
    mem.write_bytes(path, name)
}

fn fd_fdstat_get(
    mem: &mut GuestMemory<'_>,
    host: &dyn WasiHost,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    let stream = Stream::from_fd(fd)?;
    let mut rec = [0u8; FDSTAT_SIZE as usize];
    rec[0] = host.fd_filetype(fd);
    // fs_flags (u16 @2) 0; fs_rights_inheriting (u64 @16) 0.
    rec[8..16].copy_from_slice(&stream.rights().to_le_bytes());
    mem.write_bytes(out, &rec)
}

fn fd_filestat_get(
    mem: &mut GuestMemory<'_>,
    host: &dyn WasiHost,
    fd: u32,
    out: u32,
    snapshot0: bool,
) -> Result<(), Errno> {
    Stream::from_fd(fd)?;
    // dev, ino, size and the times are 0; nlink is 1.
    let mut rec = [0u8; FILESTAT_SIZE as usize];
    rec[16] = host.fd_filetype(fd);
    let len = if snapshot0 {
        rec[20..24].copy_from_slice(&1u32.to_le_bytes());
        FILESTAT_SIZE_SNAPSHOT0 as usize
    } else {
        rec[24..32].copy_from_slice(&1u64.to_le_bytes());
        FILESTAT_SIZE as usize
    };
    mem.write_bytes(out, rec.get(..len).unwrap_or(&rec))
}

/// Where the fields of a `subscription` are, per snapshot.
struct SubscriptionLayout {
    size: u32,
    clock_id: u32,
    clock_timeout: u32,
    clock_flags: u32,
}

/// Offset of the subscription's event type tag (both snapshots).
const SUBSCRIPTION_TAG: u32 = 8;
/// Offset of `subscription_fd_readwrite::fd` (both snapshots).
const SUBSCRIPTION_FD: u32 = 16;

const PREVIEW1_SUBSCRIPTION: SubscriptionLayout = SubscriptionLayout {
    size: SUBSCRIPTION_SIZE,
    clock_id: 16,
    clock_timeout: 24,
    clock_flags: 40,
};

const SNAPSHOT0_SUBSCRIPTION: SubscriptionLayout = SubscriptionLayout {
    size: SUBSCRIPTION_SIZE_SNAPSHOT0,
    clock_id: 24,
    clock_timeout: 32,
    clock_flags: 48,
};

/// One subscription, decoded.
struct Subscription {
    userdata: u64,
    kind: u8,
    state: SubState,
}

enum SubState {
    /// A clock that fires `ns` nanoseconds from now.
    Clock { ns: u64 },
    /// An event that is due now.
    Ready {
        error: Errno,
        nbytes: u64,
        flags: u16,
    },
    /// stdin, empty for now.
    WaitInput,
}

fn read_subscription(
    mem: &GuestMemory<'_>,
    host: &mut dyn WasiHost,
    layout: &SubscriptionLayout,
    at: u32,
) -> Result<Subscription, Errno> {
    let field = |off: u32| at.checked_add(off).ok_or(Errno::FAULT);
    let userdata = mem.read_u64(at)?;
    let kind = mem.read_u8(field(SUBSCRIPTION_TAG)?)?;
    let ready = |error| SubState::Ready {
        error,
        nbytes: 0,
        flags: 0,
    };
    let state = match kind {
        EVENTTYPE_CLOCK => {
            let id = mem.read_u32(field(layout.clock_id)?)?;
            let timeout = mem.read_u64(field(layout.clock_timeout)?)?;
            let flags = mem.read_u16(field(layout.clock_flags)?)?;
            match host.clock_time_ns(id) {
                None => ready(Errno::INVAL),
                Some(now) if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 => SubState::Clock {
                    ns: timeout.saturating_sub(now),
                },
                Some(_) => SubState::Clock { ns: timeout },
            }
        }
        EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
            let fd = mem.read_u32(field(SUBSCRIPTION_FD)?)?;
            let file = fd >= files::FIRST_FD && host.files().is_some_and(|t| t.get(fd).is_ok());
            match (Stream::from_fd(fd), kind) {
                // A file or directory is always ready, as poll(2) says of regular files.
                (Err(_), _) if file => ready(Errno::SUCCESS),
                (Err(e), _) => ready(e),
                (Ok(Stream::Stdin), EVENTTYPE_FD_READ) => match host.stdin() {
                    Ok(Input::Bytes(n)) => SubState::Ready {
                        error: Errno::SUCCESS,
                        nbytes: n as u64,
                        flags: 0,
                    },
                    Ok(Input::Eof) => SubState::Ready {
                        error: Errno::SUCCESS,
                        nbytes: 0,
                        flags: EVENT_FD_READWRITE_HANGUP,
                    },
                    Ok(Input::Empty) => SubState::WaitInput,
                    Err(e) => ready(e),
                },
                (Ok(Stream::Stdout | Stream::Stderr), EVENTTYPE_FD_WRITE) => ready(Errno::SUCCESS),
                (Ok(_), _) => ready(Errno::NOTCAPABLE),
            }
        }
        _ => return Err(Errno::INVAL),
    };
    Ok(Subscription {
        userdata,
        kind,
        state,
    })
}

fn poll_oneoff(
    mem: &mut GuestMemory<'_>,
    host: &mut dyn WasiHost,
    layout: &SubscriptionLayout,
    subs: u32,
    events: u32,
    nsubscriptions: u32,
    nevents_out: u32,
) -> Result<(), Errno> {
    if nsubscriptions == 0 {
        return Err(Errno::INVAL);
    }
    mem.check_array(subs, nsubscriptions, layout.size)?;
    mem.check_array(events, nsubscriptions, EVENT_SIZE)?;
    mem.check(nevents_out, 4)?;
    let sub_at = |i: u32| subs.checked_add(i.checked_mul(layout.size)?);

    // Pass 1: is anything due now, else when is the first clock due?
    let mut any_ready = false;
    let mut any_clock = false;
    let mut wait_input = false;
    let mut first_clock = u64::MAX;
    for i in 0..nsubscriptions {
        let at = sub_at(i).ok_or(Errno::FAULT)?;
        match read_subscription(mem, host, layout, at)?.state {
            SubState::Ready { .. } => any_ready = true,
            SubState::Clock { ns } => {
                any_clock = true;
                first_clock = first_clock.min(ns);
            }
            SubState::WaitInput => wait_input = true,
        }
    }
    let due = if any_ready {
        0
    } else if !any_clock {
        // Only stdin to wait for: the run pauses until input comes (nothing written yet).
        return Err(SLEEP_CUT_SHORT);
    } else {
        if !host.sleep_ns_or_input(first_clock, wait_input) {
            // Nothing written yet: the call is issued again later.
            return Err(SLEEP_CUT_SHORT);
        }
        first_clock
    };

    // Pass 2: report what is due (absolute clocks re-read against the time after the sleep).
    let mut nevents = 0u32;
    for i in 0..nsubscriptions {
        let at = sub_at(i).ok_or(Errno::FAULT)?;
        let sub = read_subscription(mem, host, layout, at)?;
        let (error, nbytes, flags) = match sub.state {
            SubState::Ready {
                error,
                nbytes,
                flags,
            } => (error, nbytes, flags),
            SubState::Clock { ns } if ns <= due => (Errno::SUCCESS, 0, 0),
            SubState::Clock { .. } | SubState::WaitInput => continue,
        };
        let mut rec = [0u8; EVENT_SIZE as usize];
        rec[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
        rec[8..10].copy_from_slice(&error.0.to_le_bytes());
        rec[10] = sub.kind;
        rec[16..24].copy_from_slice(&nbytes.to_le_bytes());
        rec[24..26].copy_from_slice(&flags.to_le_bytes());
        let out = nevents
            .checked_mul(EVENT_SIZE)
            .and_then(|off| events.checked_add(off))
            .ok_or(Errno::FAULT)?;
        mem.write_bytes(out, &rec)?;
        nevents += 1;
    }
    mem.write_u32(nevents_out, nevents)
}
