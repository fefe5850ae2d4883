//! `/dev/tzwasm`: one open file is one session with the secure world, with its own shared
//! pages (see `normal-world/include/tzwasm_ioctl.h` and docs/driver.md).
//!
//! [`Device::open`] opens the device, asks the driver for the pages and the session
//! (`TZWASM_IOC_SETUP`) and maps the pages. [`Device`] is a [`Conduit`]: every call is one
//! `TZWASM_IOC_CALL`. The driver fills in the session and shared-memory handles itself, so
//! this process can only touch its own session and pages.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::time::{Duration, Instant};
use tzwasm_smc::args::{SessionHandle, ShmHandle};

use tzwasm_smc::ring::SharedRegion;
use tzwasm_smc::runner::SharedArea;
use tzwasm_smc::{Client as _, Conduit, Status};

/// The device node.
pub const DEVICE: &str = "/dev/tzwasm";
/// Most bytes of shared memory the driver gives one open file (`TZWASM_SHM_MAX_SIZE`).
pub const SHM_MAX_SIZE: usize = 4 << 20;
/// How long a call keeps being retried while the secure world answers BUSY (another program
/// is inside a call on another CPU).
pub const BUSY_WAIT: Duration = Duration::from_secs(30);

/// `struct tzwasm_ioc_setup`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IocSetup {
    /// In: bytes of shared memory.
    pub shm_size: u64,
    /// In: the session's heap quota.
    pub quota: u64,
    /// Out: 0 or the secure world's refusal.
    pub status: i64,
    /// Out: `x1` of the refusal.
    pub value: u64,
    /// Out: the session handle.
    pub session: u64,
    /// Out: the shared-memory handle.
    pub shm_handle: u64,
}

/// `struct tzwasm_ioc_call`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IocCall {
    /// In: function id and `x1..x7`.
    pub regs: [u64; 8],
    /// Out: `x0..x3`.
    pub ret: [u64; 4],
}

/// Opens the device without setting anything up (for tests of the driver's checks).
pub fn open_raw() -> io::Result<OwnedFd> {
    let path = CString::new(DEVICE).expect("no NUL in the device path");
    // SAFETY: `path` is a valid NUL-terminated string; open has no other preconditions.
    let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a file descriptor just opened and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `TZWASM_IOC_SETUP` on `fd`, once (no retry).
pub fn ioctl_setup(fd: &OwnedFd, s: &mut IocSetup) -> io::Result<()> {
    // SAFETY: IOC_SETUP reads and writes exactly one `IocSetup`, which `s` is.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), IOC_SETUP as _, s as *mut IocSetup) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `TZWASM_IOC_CALL` on `fd`, once (no retry).
pub fn ioctl_call(fd: &OwnedFd, c: &mut IocCall) -> io::Result<()> {
    // SAFETY: IOC_CALL reads and writes exactly one `IocCall`, which `c` is.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), IOC_CALL as _, c as *mut IocCall) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `_IOWR(type, nr, size)` as Linux encodes it on arm64 and x86_64.
const fn iowr(ty: u8, nr: u8, size: usize) -> u64 {
    (3 << 30) | ((size as u64) << 16) | ((ty as u64) << 8) | nr as u64
}
const IOC_MAGIC: u8 = b'z';
/// `TZWASM_IOC_SETUP`.
const IOC_SETUP: u64 = iowr(IOC_MAGIC, 0, core::mem::size_of::<IocSetup>());
/// `TZWASM_IOC_CALL`.
const IOC_CALL: u64 = iowr(IOC_MAGIC, 1, core::mem::size_of::<IocCall>());
const _: () = assert!(IOC_SETUP == 0xC030_7A00);
const _: () = assert!(IOC_CALL == 0xC060_7A01);

/// Where the driver's module parameters can be read (and, by root, changed).
pub const PARAMETERS: &str = "/sys/module/tzwasm/parameters";

/// A per-uid limit of the driver (docs/driver.md, "Fair use"): SETUP fails with its errno,
/// status 0 and `value` = the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `EMFILE`: the uid already holds `max_sessions_per_uid` sessions.
    Sessions,
    /// `EDQUOT`: the uid's heap quotas would exceed `max_quota_per_uid` bytes.
    Quota,
    /// `EUSERS`: the driver's table of uids holding sessions is full.
    Users,
}

impl Limit {
    /// The limit a SETUP errno stands for, if it stands for one.
    pub fn from_errno(errno: i32) -> Option<Limit> {
        match errno {
            libc::EMFILE => Some(Limit::Sessions),
            libc::EDQUOT => Some(Limit::Quota),
            libc::EUSERS => Some(Limit::Users),
            _ => None,
        }
    }
}

/// Why the device could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// open() failed.
    Open(io::Error),
    /// The secure world refused SHM_REGISTER or SESSION_OPEN: its status and `x1`.
    Refused {
        /// The status.
        status: Status,
        /// `x1` of the refusal (the minimum or maximum quota).
        value: u64,
    },
    /// A per-uid limit of the driver refused the session.
    Limit {
        /// Which one.
        limit: Limit,
        /// Its value (`value` of the refusal): sessions, bytes, or uids.
        value: u64,
        /// The heap quota this session asked for.
        quota: u64,
    },
    /// The secure world stayed busy for [`BUSY_WAIT`].
    Busy,
    /// The secure world has failed stop (FAILED), with its message (GET_INFO FAILURE), as
    /// displayed (control characters shown as `?`).
    Failed(String),
    /// The ioctl or mmap failed for another reason.
    Os(&'static str, io::Error),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Open(e) if e.kind() == io::ErrorKind::NotFound => write!(
                f,
                "cannot open {DEVICE}: {e}; load the driver first (insmod tzwasm.ko) and check \
                 dmesg"
            ),
            SetupError::Open(e) if e.kind() == io::ErrorKind::PermissionDenied => write!(
                f,
                "cannot open {DEVICE}: {e}; its mode{} (the driver's module parameter `mode`) \
                 does not let this user in: ask the administrator (docs/driver.md)",
                parameter("mode").map_or(String::new(), |m| format!(" is {m}"))
            ),
            SetupError::Open(e) => write!(f, "cannot open {DEVICE}: {e}"),
            SetupError::Limit {
                limit: Limit::Sessions,
                value,
                ..
            } => write!(
                f,
                "per-user limit: this user already holds {value} tzwasm session{}, the most the \
                 driver allows one user (module parameter max_sessions_per_uid, \
                 {PARAMETERS}/max_sessions_per_uid); wait for your other tzwasm programs to \
                 finish",
                if *value == 1 { "" } else { "s" }
            ),
            SetupError::Limit {
                limit: Limit::Quota,
                value,
                quota,
            } => write!(
                f,
                "per-user limit: a heap of {} would take this user's sessions past {value} bytes \
                 ({}) of heap quota in the secure world, the most the driver allows one user \
                 (module parameter max_quota_per_uid{}, {PARAMETERS}/max_quota_per_uid); ask \
                 for less with --heap or wait for your other tzwasm programs to finish",
                crate::size::show(*quota),
                crate::size::show(*value),
                parameter("max_quota_per_uid").map_or(String::new(), |m| format!(" = {m}"))
            ),
            SetupError::Limit { value, .. } => write!(
                f,
                "per-user limit: {value} users already hold tzwasm sessions, the most the \
                 driver keeps track of; try again when some have finished"
            ),
            SetupError::Refused {
                status: Status::QuotaTooSmall,
                value,
            } => write!(
                f,
                "heap too small: the secure world takes at least {value} bytes (--heap {})",
                crate::size::show(*value)
            ),
            SetupError::Refused {
                status: Status::QuotaTooLarge,
                value,
            } => write!(
                f,
                "heap too large: the secure world's pool has {value} bytes ({}) free for \
                 sessions now (other programs hold the rest); ask for less with --heap",
                crate::size::show(*value)
            ),
            SetupError::Refused {
                status: Status::NoResources,
                ..
            } => write!(
                f,
                "the secure world has no free session or shared-memory slot ({}); wait for \
                 other tzwasm programs to finish",
                Status::NoResources
            ),
            SetupError::Refused { status, .. } => {
                write!(f, "the secure world refused the session: {status}")
            }
            SetupError::Failed(message) => write!(f, "secure world failed: {message}"),
            SetupError::Busy => f.write_str(
                "busy: another CPU stayed inside this program's secure-world session; try again",
            ),
            SetupError::Os(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

/// An open `/dev/tzwasm`: the calls ([`Channel`]) and the mapped shared pages ([`Mapping`]),
/// separate so that a run can hold the memory while it issues calls.
pub struct Device {
    /// The file: every call goes through it.
    pub channel: Channel,
    /// The shared pages.
    pub shm: Mapping,
}

/// The open file, a [`Conduit`].
pub struct Channel {
    fd: OwnedFd,
    session: u64,
    /// The last OS error of a call (a call that failed in the driver, not in the secure world).
    pub last_os_error: Option<io::Error>,
}

/// The shared pages mapped into this process (unmapped on drop; the pages themselves are
/// freed by the driver when the file is closed and unmapped).
pub struct Mapping {
    map: NonNull<u8>,
    len: usize,
    handle: u64,
}

/// A module parameter's current value, as the driver shows it, if it can be read.
fn parameter(name: &str) -> Option<String> {
    let v = std::fs::read_to_string(format!("{PARAMETERS}/{name}")).ok()?;
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn busy_message_once(shown: &mut bool) {
    if !*shown {
        *shown = true;
        eprintln!("tzwasm: waiting: another CPU is inside this program's secure-world session");
    }
}

impl Device {
    /// Opens the device with `shm_size` bytes of shared memory (rounded up to pages) and a
    /// session with heap quota `quota`.
    pub fn open(shm_size: usize, quota: u64) -> Result<Device, SetupError> {
        let fd = open_raw().map_err(SetupError::Open)?;
        let len = shm_size.max(1).next_multiple_of(page_size());
        let started = Instant::now();
        let mut shown = false;
        let setup = loop {
            let mut s = IocSetup {
                shm_size: len as u64,
                quota,
                ..IocSetup::default()
            };
            let Err(err) = ioctl_setup(&fd, &mut s) else {
                break s;
            };
            // The driver's own per-uid limits refuse with status 0.
            if let (0, Some(limit)) = (s.status, err.raw_os_error().and_then(Limit::from_errno)) {
                return Err(SetupError::Limit {
                    limit,
                    value: s.value,
                    quota,
                });
            }
            match Status::from_raw(s.status as u64) {
                Some(Status::Busy) if started.elapsed() < BUSY_WAIT && !crate::stopping() => {
                    busy_message_once(&mut shown);
                    std::thread::sleep(Duration::from_millis(20));
                }
                Some(Status::Busy) => return Err(SetupError::Busy),
                Some(Status::Failed) => {
                    // GET_INFO works before SETUP: read the message through the same file.
                    let message = Raw(&fd).failure_message().unwrap_or_default();
                    return Err(SetupError::Failed(message.to_string()));
                }
                Some(status) if s.status != 0 => {
                    return Err(SetupError::Refused {
                        status,
                        value: s.value,
                    })
                }
                _ if err.raw_os_error() == Some(libc::EINTR) => {}
                _ => return Err(SetupError::Os("TZWASM_IOC_SETUP", err)),
            }
        };
        // SAFETY: a shared read/write mapping of the device at offset 0 with the length SETUP
        // accepted; the kernel chooses the address.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(SetupError::Os(
                "mmap of the shared pages",
                io::Error::last_os_error(),
            ));
        }
        Ok(Device {
            channel: Channel {
                fd,
                session: setup.session,
                last_os_error: None,
            },
            shm: Mapping {
                map: NonNull::new(p.cast()).expect("mmap never returns NULL on success"),
                len,
                handle: setup.shm_handle,
            },
        })
    }
}

impl Channel {
    /// The session handle the driver opened (the driver puts it into every session call).
    pub fn session(&self) -> SessionHandle {
        SessionHandle::from_raw(self.session)
    }
}

impl Mapping {
    /// The shared pages as one registration.
    pub fn area(&self) -> SharedArea<'_> {
        // SAFETY: the mapping is `len` bytes, readable and writable, page-aligned, and lives
        // as long as `self` (unmapped in Drop). This program touches it only through the
        // returned region's volatile and atomic accesses, from one thread; the secure world
        // may write any byte at any time, which the ring and runner code tolerate.
        let mem = unsafe { SharedRegion::new(self.map.as_ptr(), self.len) }
            .expect("a page-aligned mapping is a valid region");
        SharedArea {
            handle: ShmHandle::from_raw(self.handle),
            mem,
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `map`/`len` are the mapping made in `Device::open`, no longer used: the
        // regions handed out borrow `self`, which is being dropped.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.len) };
        // The file closes after this: the driver cancels, closes the session and frees pages.
    }
}

/// One `TZWASM_IOC_CALL` per call, no retries: for GET_INFO before SETUP.
struct Raw<'a>(&'a OwnedFd);

impl Conduit for Raw<'_> {
    fn call(&mut self, args: [u64; 8]) -> [u64; 4] {
        let mut c = IocCall {
            regs: args,
            ret: [0; 4],
        };
        match ioctl_call(self.0, &mut c) {
            Ok(()) => c.ret,
            Err(_) => [Status::Internal.to_raw(), 0, 0, 0],
        }
    }
}

impl Conduit for Channel {
    fn call(&mut self, args: [u64; 8]) -> [u64; 4] {
        let started = Instant::now();
        let mut shown = false;
        loop {
            let mut c = IocCall {
                regs: args,
                ret: [0; 4],
            };
            if let Err(err) = ioctl_call(&self.fd, &mut c) {
                if err.raw_os_error() == Some(libc::EINTR) {
                    if c.ret[0] == Status::Cancelled.to_raw() {
                        // A signal ended the run in the secure world.
                        return c.ret;
                    }
                    continue; // interrupted before the call was issued
                }
                self.last_os_error = Some(err);
                return [Status::Internal.to_raw(), 0, 0, 0];
            }
            if c.ret[0] != Status::Busy.to_raw() {
                return c.ret;
            }
            if crate::stopping() {
                return [Status::Cancelled.to_raw(), 0, 0, 0];
            }
            if started.elapsed() >= BUSY_WAIT {
                return c.ret;
            }
            busy_message_once(&mut shown);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tzwasm_smc::call::ids;
    use tzwasm_smc::status::ALL_STATUSES;

    const HEADER: &str = include_str!("../../include/tzwasm_ioctl.h");

    /// `#define NAME VALUE` lines of the C header, VALUE as written.
    fn define(name: &str) -> &'static str {
        HEADER
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix("#define ")?;
                let (n, v) = rest.split_once(char::is_whitespace)?;
                (n == name).then(|| v.trim())
            })
            .unwrap_or_else(|| panic!("{name} not in tzwasm_ioctl.h"))
    }

    fn number(name: &str) -> i64 {
        let v = define(name).trim_start_matches('(').trim_end_matches(')');
        let v = v.trim_end_matches('u').trim_end_matches('U');
        let (neg, v) = match v.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, v),
        };
        let n = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(hex) => i64::from_str_radix(hex, 16).unwrap(),
            None => v.parse().unwrap(),
        };
        if neg {
            -n
        } else {
            n
        }
    }

    #[test]
    fn c_header_function_ids_match_the_protocol() {
        for (name, id) in [
            ("TZWASM_FN_CALL_UID", ids::CALL_UID),
            ("TZWASM_FN_GET_INFO", ids::GET_INFO),
            ("TZWASM_FN_NULL", ids::NULL),
            ("TZWASM_FN_SHM_REGISTER", ids::SHM_REGISTER),
            ("TZWASM_FN_SHM_UNREGISTER", ids::SHM_UNREGISTER),
            ("TZWASM_FN_SESSION_OPEN", ids::SESSION_OPEN),
            ("TZWASM_FN_SESSION_CLOSE", ids::SESSION_CLOSE),
            ("TZWASM_FN_LOAD", ids::LOAD),
            ("TZWASM_FN_RUN", ids::RUN),
            ("TZWASM_FN_RESUME", ids::RESUME),
            ("TZWASM_FN_CANCEL", ids::CANCEL),
            ("TZWASM_FN_UNLOAD", ids::UNLOAD),
            ("TZWASM_FN_STATS", ids::STATS),
            ("TZWASM_FN_ATTEST", ids::ATTEST),
            ("TZWASM_FN_RECEIPT", ids::RECEIPT),
        ] {
            assert_eq!(number(name) as u64, id.to_x0(), "{name}");
        }
    }

    #[test]
    fn c_header_statuses_match_the_protocol() {
        let mut seen = 0;
        for line in HEADER.lines() {
            let Some(rest) = line.strip_prefix("#define TZWASM_") else {
                continue;
            };
            let name = rest.split_whitespace().next().unwrap();
            if let Some(status) = ALL_STATUSES.iter().find(|s| s.name() == name) {
                assert_eq!(number(&format!("TZWASM_{name}")), status.code(), "{name}");
                seen += 1;
            }
        }
        assert!(
            seen == ALL_STATUSES.len(),
            "only {seen} statuses found in the header"
        );
    }

    #[test]
    fn per_uid_limits_are_named_with_their_parameter() {
        assert_eq!(Limit::from_errno(libc::EMFILE), Some(Limit::Sessions));
        assert_eq!(Limit::from_errno(libc::EDQUOT), Some(Limit::Quota));
        assert_eq!(Limit::from_errno(libc::EUSERS), Some(Limit::Users));
        assert_eq!(Limit::from_errno(libc::ENOSPC), None);
        let sessions = SetupError::Limit {
            limit: Limit::Sessions,
            value: 2,
            quota: 8 << 20,
        }
        .to_string();
        assert!(
            sessions.contains("already holds 2 tzwasm sessions"),
            "{sessions}"
        );
        assert!(sessions.contains("max_sessions_per_uid"), "{sessions}");
        let quota = SetupError::Limit {
            limit: Limit::Quota,
            value: 6 << 20,
            quota: 8 << 20,
        }
        .to_string();
        assert!(quota.contains("a heap of 8 MiB"), "{quota}");
        assert!(quota.contains("6291456 bytes (6 MiB)"), "{quota}");
        assert!(quota.contains("max_quota_per_uid"), "{quota}");
        let denied = SetupError::Open(io::Error::from_raw_os_error(libc::EACCES)).to_string();
        assert!(denied.contains("Permission denied"), "{denied}");
        assert!(denied.contains("module parameter `mode`"), "{denied}");
    }

    #[test]
    fn c_header_ioctls_and_limits() {
        assert_eq!(define("TZWASM_IOC_MAGIC"), "'z'");
        assert_eq!(
            define("TZWASM_IOC_SETUP"),
            "_IOWR(TZWASM_IOC_MAGIC, 0, struct tzwasm_ioc_setup)"
        );
        assert_eq!(
            define("TZWASM_IOC_CALL"),
            "_IOWR(TZWASM_IOC_MAGIC, 1, struct tzwasm_ioc_call)"
        );
        assert_eq!(define("TZWASM_SHM_MAX_SIZE"), "(4UL << 20)");
        assert_eq!(SHM_MAX_SIZE, 4 << 20);
        assert_eq!(core::mem::size_of::<IocSetup>(), 48);
        assert_eq!(core::mem::size_of::<IocCall>(), 96);
        let uid = tzwasm_smc::TZWASM_UID.to_smccc_words();
        for (i, w) in uid.iter().enumerate() {
            assert_eq!(number(&format!("TZWASM_UID_W{i}")) as u32, *w);
        }
    }
}
