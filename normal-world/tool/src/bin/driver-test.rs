//! `tzwasm-driver-test FILE.aot`: checks what `tzwasm.ko` refuses and what it substitutes,
//! from an unprivileged process's point of view (run by `make linux-test` in the guest).
//!
//! Every check prints `[PASS] name` or `[FAIL] name: why`; the last line is `N passed, M
//! failed` and the exit status is 0 only if nothing failed. FILE.aot is any module that loads
//! with a 4 MiB quota (the LOAD checks use it).
//!
//! The per-uid limits (docs/driver.md, "Fair use") are checked by `make linux-test`'s
//! `fair_use` case with three more commands:
//!
//! ```text
//! tzwasm-driver-test limits SESSIONS QUOTA   # as a non-root uid, the driver loaded with
//!                                            # max_sessions_per_uid=SESSIONS and
//!                                            # max_quota_per_uid=QUOTA (bytes): the errnos
//! tzwasm-driver-test hold COUNT QUOTA        # opens COUNT sessions of QUOTA bytes, prints
//!                                            # "holding COUNT sessions", waits to be killed
//! tzwasm-driver-test as UID CMD [ARGS...]    # as root: runs CMD as UID (gid UID, no
//!                                            # supplementary groups, no capabilities)
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;

use tzwasm_smc::call::ids;
use tzwasm_smc::function_id::FunctionId;
use tzwasm_smc::session::{GUARANTEED_SESSIONS, SESSION_MIN_QUOTA};
use tzwasm_smc::Status;
use tzwasm_tool::device::{ioctl_call, ioctl_setup, open_raw, IocCall, IocSetup, SHM_MAX_SIZE};

const PAGE: usize = 4096;
const QUOTA: u64 = 4 << 20;

struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    fn check(&mut self, name: &str, result: Result<String, String>) {
        match result {
            Ok(note) if note.is_empty() => {
                println!("[PASS] {name}");
                self.passed += 1;
            }
            Ok(note) => {
                println!("[PASS] {name}: {note}");
                self.passed += 1;
            }
            Err(why) => {
                println!("[FAIL] {name}: {why}");
                self.failed += 1;
            }
        }
    }
}

fn errno(r: io::Result<()>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}

fn want_errno(r: io::Result<()>, want: i32, what: &str) -> Result<String, String> {
    match errno(r) {
        Some(e) if e == want => Ok(String::new()),
        Some(e) => Err(format!(
            "{what}: errno {e} ({}), want {want}",
            io::Error::from_raw_os_error(e)
        )),
        None => Err(format!("{what}: succeeded, want errno {want}")),
    }
}

fn setup(fd: &OwnedFd, shm_size: usize, quota: u64) -> (io::Result<()>, IocSetup) {
    let mut s = IocSetup {
        shm_size: shm_size as u64,
        quota,
        ..IocSetup::default()
    };
    let r = ioctl_setup(fd, &mut s);
    (r, s)
}

fn call(fd: &OwnedFd, regs: [u64; 8]) -> (io::Result<()>, [u64; 4]) {
    let mut c = IocCall { regs, ret: [0; 4] };
    let r = ioctl_call(fd, &mut c);
    (r, c.ret)
}

fn id(f: FunctionId) -> u64 {
    f.to_x0()
}

/// mmap(fd, len, prot, flags, offset); the address or the errno.
fn map(fd: &OwnedFd, len: usize, prot: i32, flags: i32, off: i64) -> Result<*mut u8, i32> {
    // SAFETY: a fresh mapping chosen by the kernel; nothing of this program is replaced.
    let p = unsafe { libc::mmap(core::ptr::null_mut(), len, prot, flags, fd.as_raw_fd(), off) };
    if p == libc::MAP_FAILED {
        Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(p.cast())
    }
}

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: `p`/`len` is a mapping made by `map` and no longer used.
    unsafe { libc::munmap(p.cast(), len) };
}

fn status(x0: u64) -> String {
    match Status::from_raw(x0) {
        Some(s) => s.name().to_string(),
        None => format!("{x0:#x}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("as") => run_as(&args[1..]),
        Some("hold") => hold(&args[1..]),
        Some("limits") => limits(&args[1..]),
        _ => interface(),
    }
}

fn number_arg(args: &[String], i: usize, what: &str) -> u64 {
    match args.get(i).and_then(|a| tzwasm_tool::size::parse(a)) {
        Some(n) => n,
        None => {
            eprintln!("tzwasm-driver-test: {what}: give a number (bytes: 65536, 64K, 6M)");
            std::process::exit(2);
        }
    }
}

/// `as UID CMD [ARGS...]`: CMD with uid and gid UID and no supplementary groups (so without
/// root's capabilities), exec'd in place so that killing this process kills CMD.
fn run_as(args: &[String]) -> ! {
    let uid = number_arg(args, 0, "as UID");
    let (Ok(uid), Some(cmd)) = (u32::try_from(uid), args.get(1)) else {
        eprintln!("usage: tzwasm-driver-test as UID CMD [ARGS...]");
        std::process::exit(2);
    };
    // std drops the supplementary groups (setgroups) before setgid/setuid when run as root.
    let err = std::process::Command::new(cmd)
        .args(&args[2..])
        .gid(uid)
        .uid(uid)
        .exec();
    eprintln!("tzwasm-driver-test: as {uid}: cannot run {cmd}: {err}");
    std::process::exit(126);
}

/// `hold COUNT QUOTA`: COUNT sessions held open until the process is killed.
fn hold(args: &[String]) -> ! {
    let count = number_arg(args, 0, "hold COUNT");
    let quota = number_arg(args, 1, "hold QUOTA");
    let mut files = Vec::new();
    for k in 0..count {
        let f = match open_raw() {
            Ok(f) => f,
            Err(e) => {
                println!("hold: open of session {}: {e}", k + 1);
                std::process::exit(1);
            }
        };
        let (res, s) = setup(&f, PAGE, quota);
        if let Err(e) = res {
            println!(
                "hold: SETUP of session {} (quota {quota}): {e}, status {}, value {}",
                k + 1,
                s.status,
                s.value
            );
            std::process::exit(1);
        }
        files.push(f);
    }
    println!("holding {count} sessions");
    loop {
        // SAFETY: pause() has no preconditions; it returns only after a caught signal.
        unsafe { libc::pause() };
    }
}

/// SETUP of one page with `quota` on a new file: the file (kept open) or (errno, status, value).
fn session(quota: u64) -> Result<OwnedFd, (Option<i32>, i64, u64)> {
    let f = open_raw().map_err(|e| (e.raw_os_error(), 0, 0))?;
    let (res, s) = setup(&f, PAGE, quota);
    match res {
        Ok(()) => Ok(f),
        Err(e) => Err((e.raw_os_error(), s.status, s.value)),
    }
}

/// The refusal a limit must give: `errno`, status 0 and value = `limit`.
fn want_limit(
    got: Result<OwnedFd, (Option<i32>, i64, u64)>,
    errno: i32,
    limit: u64,
) -> Result<String, String> {
    match got {
        Err((Some(e), 0, v)) if e == errno && v == limit => Ok(format!(
            "{}, status 0, value {v}",
            io::Error::from_raw_os_error(e)
        )),
        Err((e, st, v)) => Err(format!(
            "errno {e:?} status {st} value {v}, want errno {errno}, status 0, value {limit}"
        )),
        Ok(_) => Err(format!("SETUP succeeded, want errno {errno}")),
    }
}

/// `limits SESSIONS QUOTA`: the per-uid limits' errnos, from a non-root uid.
fn limits(args: &[String]) -> ! {
    let max = number_arg(args, 0, "limits SESSIONS");
    let cap = number_arg(args, 1, "limits QUOTA");
    let min = SESSION_MIN_QUOTA;
    let mut r = Report {
        passed: 0,
        failed: 0,
    };
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 || max < 2 || (max as usize) >= GUARANTEED_SESSIONS || cap < 4 * min {
        eprintln!(
            "tzwasm-driver-test limits: run as a non-root uid with 2 <= SESSIONS < {GUARANTEED_SESSIONS} \
             and QUOTA >= {} (euid {euid}, SESSIONS {max}, QUOTA {cap})",
            4 * min
        );
        std::process::exit(2);
    }

    // Up to the session limit, then EMFILE.
    let mut held: Vec<OwnedFd> = Vec::new();
    let mut first_err = None;
    for _ in 0..max {
        match session(min) {
            Ok(f) => held.push(f),
            Err(e) => {
                first_err = Some(e);
                break;
            }
        }
    }
    r.check(
        &format!("uid {euid} opens {max} sessions (max_sessions_per_uid)"),
        match first_err {
            None => Ok(String::new()),
            Some(e) => Err(format!("session {} refused: {e:?}", held.len() + 1)),
        },
    );
    r.check(
        "the next session is refused: EMFILE, value = max_sessions_per_uid",
        want_limit(session(min), libc::EMFILE, max),
    );
    let f = open_raw().expect("open /dev/tzwasm");
    let mut c = IocCall {
        // A session call: GET_INFO and NULL pass before SETUP (so a FAILED secure world can
        // be explained), session calls do not.
        regs: [id(ids::LOAD), 0, 0, 0, 0, 0, 0, 0],
        ret: [0; 4],
    };
    r.check(
        "an open file without SETUP costs nothing (open succeeds; LOAD is ENODEV)",
        want_errno(ioctl_call(&f, &mut c), libc::ENODEV, "CALL"),
    );
    drop(f);
    held.pop();
    r.check(
        "closing one session gives its count back: the next SETUP succeeds",
        session(min)
            .map(|f| {
                held.push(f);
                String::new()
            })
            .map_err(|e| format!("{e:?}")),
    );
    held.clear();

    // Refused SETUPs charge nothing.
    let mut refusals = 0;
    for _ in 0..max + 2 {
        let f = open_raw().expect("open /dev/tzwasm");
        refusals += u32::from(setup(&f, PAGE, 1).0.is_err()); // QUOTA_TOO_SMALL
        refusals += u32::from(setup(&f, PAGE + 1, min).0.is_err()); // bad size
        refusals += u32::from(session(cap + 1).is_err()); // over the quota cap
    }
    for _ in 0..max {
        match session(min) {
            Ok(f) => held.push(f),
            Err(_) => break,
        }
    }
    r.check(
        "refused SETUPs (secure world's QUOTA_TOO_SMALL, bad size, over the cap) charge nothing",
        if refusals == 3 * (max as u32 + 2) && held.len() as u64 == max {
            Ok(format!(
                "{refusals} refusals, then {max} sessions open again"
            ))
        } else {
            Err(format!(
                "{refusals} refusals of {}, then {} sessions of {max}",
                3 * (max + 2),
                held.len()
            ))
        },
    );
    held.clear();

    // The quota cap: the sum of this uid's quotas.
    r.check(
        "one session asking for more than max_quota_per_uid: EDQUOT, value = the cap",
        want_limit(session(cap + 1), libc::EDQUOT, cap),
    );
    r.check(
        "a quota of 2^64-1 (no overflow in the sum): EDQUOT",
        want_limit(session(u64::MAX), libc::EDQUOT, cap),
    );
    let big = session(cap - min);
    r.check(
        "a session of max_quota_per_uid - 64 KiB",
        big.as_ref()
            .map(|_| String::new())
            .map_err(|e| format!("{e:?}")),
    );
    r.check(
        "a second one of 64 KiB + 1 byte would pass the cap: EDQUOT",
        want_limit(session(min + 1), libc::EDQUOT, cap),
    );
    let exact = session(min);
    r.check(
        "a second one of exactly 64 KiB reaches the cap and is allowed",
        exact
            .as_ref()
            .map(|_| String::new())
            .map_err(|e| format!("{e:?}")),
    );
    drop(exact);
    drop(big);
    r.check(
        "closing them gives the quota back: one session of the whole cap",
        session(cap)
            .map(|_| String::new())
            .map_err(|e| format!("{e:?}")),
    );
    finish(r);
}

/// The driver's interface checks (`tzwasm-driver-test FILE.aot`).
fn interface() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: tzwasm-driver-test FILE.aot");
        std::process::exit(2);
    };
    let module = match std::fs::read(&path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "tzwasm-driver-test: cannot read {}: {e}",
                path.to_string_lossy()
            );
            std::process::exit(2);
        }
    };
    let mut r = Report {
        passed: 0,
        failed: 0,
    };
    // The pool's use with one file set up and nothing else open: that file's records in the
    // secure world's handle tables (which grow from the pool). The last check compares with it.
    let base = {
        let f = open_raw().expect("open /dev/tzwasm");
        let _ = setup(&f, PAGE, SESSION_MIN_QUOTA);
        call(&f, [id(ids::GET_INFO), 1, 0, 0, 0, 0, 0, 0]).1[2]
    };

    // Before SETUP.
    let fd = open_raw().expect("open /dev/tzwasm");
    let (res, _) = call(&fd, [id(ids::LOAD), 0, 0, 0, 0, 0, 0, 0]);
    r.check(
        "a session call before SETUP is refused (ENODEV)",
        want_errno(res, libc::ENODEV, "LOAD"),
    );
    // GET_INFO names nothing: served before SETUP (to explain a SETUP refused with FAILED).
    let (res, ret) = call(&fd, [id(ids::GET_INFO), 0, 0, 0, 0, 0, 0, 0]);
    r.check(
        "GET_INFO before SETUP gets through",
        match (res, ret[0]) {
            (Ok(()), 0) => Ok(String::new()),
            (res, x0) => Err(format!("GET_INFO {res:?} {}", status(x0))),
        },
    );
    r.check(
        "mmap before SETUP is refused (ENODEV)",
        match map(&fd, PAGE, libc::PROT_READ, libc::MAP_SHARED, 0) {
            Err(e) if e == libc::ENODEV => Ok(String::new()),
            Err(e) => Err(format!("errno {e}")),
            Ok(p) => {
                unmap(p, PAGE);
                Err("mapped".into())
            }
        },
    );

    // SETUP's size and quota checks.
    for (size, what) in [
        (0, "0 bytes"),
        (PAGE + 1, "not a page multiple"),
        (SHM_MAX_SIZE + PAGE, "above 4 MiB"),
    ] {
        let (res, _) = setup(&fd, size, QUOTA);
        r.check(
            &format!("SETUP with {what} is refused (EINVAL)"),
            want_errno(res, libc::EINVAL, "SETUP"),
        );
    }
    let (res, s) = setup(&fd, PAGE, 1);
    r.check(
        "SETUP with a 1-byte quota: EINVAL, status QUOTA_TOO_SMALL, value = the minimum",
        want_errno(res, libc::EINVAL, "SETUP").and_then(|_| {
            if s.status == Status::QuotaTooSmall.code() && s.value == SESSION_MIN_QUOTA {
                Ok(format!("status {}, value {}", s.status, s.value))
            } else {
                Err(format!("status {}, value {}", s.status, s.value))
            }
        }),
    );

    // A good SETUP, then a second one.
    let shm = 1 << 20;
    let (res, s) = setup(&fd, shm, QUOTA);
    r.check(
        "SETUP of 1 MiB with a 4 MiB quota",
        res.map(|()| format!("session {:#x}, shm handle {:#x}", s.session, s.shm_handle))
            .map_err(|e| e.to_string()),
    );
    let (res, s2) = setup(&fd, shm, QUOTA);
    r.check(
        "a second SETUP on the same file is refused (EBUSY, status 0)",
        want_errno(res, libc::EBUSY, "SETUP").and_then(|n| {
            (s2.status == 0)
                .then_some(n)
                .ok_or(format!("status {}", s2.status))
        }),
    );

    // Only tzwasm's own per-session calls get through.
    let not_allowed = [
        ("SHM_REGISTER", id(ids::SHM_REGISTER)),
        ("SHM_UNREGISTER", id(ids::SHM_UNREGISTER)),
        ("SESSION_OPEN", id(ids::SESSION_OPEN)),
        ("SESSION_CLOSE", id(ids::SESSION_CLOSE)),
        ("ECHO", id(ids::ECHO)),
        ("TEST_FAULT", id(ids::TEST_FAULT)),
        ("TEST_RUN", id(ids::TEST_RUN)),
        ("CALL_UID", id(ids::CALL_UID)),
        ("PSCI SYSTEM_OFF", 0x8400_0008),
        ("GET_INFO with upper bits", id(ids::GET_INFO) | 1 << 32),
        ("0", 0),
    ];
    let refused: Vec<String> = not_allowed
        .iter()
        .filter_map(|(name, f)| {
            let (res, _) = call(&fd, [*f, 0, 0, 0, 0, 0, 0, 0]);
            (errno(res) != Some(libc::EPERM)).then(|| name.to_string())
        })
        .collect();
    r.check(
        "other function ids are refused (EPERM)",
        if refused.is_empty() {
            Ok(format!("{} ids", not_allowed.len()))
        } else {
            Err(format!("let through: {}", refused.join(", ")))
        },
    );
    let (res, ret) = call(&fd, [id(ids::GET_INFO), 0, 0, 0, 0, 0, 0, 0]);
    r.check(
        "GET_INFO and NULL get through",
        match (res, ret[0], call(&fd, [id(ids::NULL), 0, 0, 0, 0, 0, 0, 0])) {
            (Ok(()), 0, (Ok(()), [0, ..])) => Ok(String::new()),
            (res, x0, (res2, ret2)) => Err(format!(
                "GET_INFO {res:?} {}, NULL {res2:?} {}",
                status(x0),
                status(ret2[0])
            )),
        },
    );

    // mmap checks.
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    for (name, len, prot, flags, off) in [
        ("MAP_PRIVATE", shm, rw, libc::MAP_PRIVATE, 0),
        ("PROT_EXEC", shm, rw | libc::PROT_EXEC, libc::MAP_SHARED, 0),
        ("beyond shm_size", shm + PAGE, rw, libc::MAP_SHARED, 0),
        ("at offset 4096", PAGE, rw, libc::MAP_SHARED, PAGE as i64),
    ] {
        r.check(
            &format!("mmap {name} is refused"),
            match map(&fd, len, prot, flags, off) {
                Err(e) => Ok(format!("errno {e}")),
                Ok(p) => {
                    unmap(p, len);
                    Err("mapped".into())
                }
            },
        );
    }
    let mem = match map(&fd, shm, rw, libc::MAP_SHARED, 0) {
        Ok(p) => p,
        Err(e) => {
            r.check("mmap of the shared pages", Err(format!("errno {e}")));
            finish(r);
        }
    };
    // SAFETY: `mem` is a live mapping of `shm` bytes, writable, not used elsewhere.
    let mprotect = unsafe { libc::mprotect(mem.cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) };
    r.check(
        "the mapping can never become executable (mprotect PROT_EXEC fails)",
        if mprotect != 0 {
            Ok(String::new())
        } else {
            Err("mprotect succeeded".into())
        },
    );

    // LOAD with someone else's handles in x1/x2: the driver puts its own in.
    let fits = module.len() + 512 <= shm;
    if fits {
        // SAFETY: `mem` has `shm` bytes and the module is smaller (checked); the secure world
        // reads them only during the LOAD below.
        unsafe { core::ptr::copy_nonoverlapping(module.as_ptr(), mem, module.len()) };
    }
    let report = module.len().next_multiple_of(64) as u64;
    let (res, ret) = call(
        &fd,
        [
            id(ids::LOAD),
            0xdead_beef,
            0x1234_5678,
            0,
            module.len() as u64,
            report,
            0,
            0,
        ],
    );
    r.check(
        "LOAD with foreign session and shm handles loads into this file's session",
        match (fits, res, ret[0]) {
            (false, ..) => Err("module larger than 1 MiB".into()),
            (true, Ok(()), 0) => Ok(format!("{} bytes charged", ret[1])),
            (true, res, x0) => Err(format!("{res:?}, {}", status(x0))),
        },
    );
    let (_, ret) = call(&fd, [id(ids::LOAD), 0, 0, shm as u64 - 16, 4096, 0, 0, 0]);
    r.check(
        "LOAD of a range beyond the registration: the secure world says BAD_ADDRESS (or BAD_STATE: loaded)",
        match Status::from_raw(ret[0]) {
            Some(Status::BadAddress | Status::BadState) => Ok(status(ret[0])),
            _ => Err(status(ret[0])),
        },
    );
    let (_, ret) = call(&fd, [id(ids::STATS), 0xdead_beef, 0, 0, 0, 0, 0, 0]);
    r.check(
        "STATS with a foreign session handle reports this file's session",
        if ret[0] == 0 && ret[1] == QUOTA && ret[3] == 1 {
            Ok(format!("quota {}, {} bytes used, loaded", ret[1], ret[2]))
        } else {
            Err(format!("{} {:?}", status(ret[0]), &ret[1..]))
        },
    );
    let (_, resume) = call(&fd, [id(ids::RESUME), 0, 0, 0, 0, 0, 0, 0]);
    let (_, cancel) = call(&fd, [id(ids::CANCEL), 0, 0, 0, 0, 0, 0, 0]);
    r.check(
        "RESUME and CANCEL with nothing paused: BAD_STATE",
        if resume[0] == Status::BadState.to_raw() && cancel[0] == Status::BadState.to_raw() {
            Ok(String::new())
        } else {
            Err(format!("{}, {}", status(resume[0]), status(cancel[0])))
        },
    );

    // Another file is another session: it does not see this one's module.
    let fd2 = open_raw().expect("open /dev/tzwasm");
    let (res, s2) = setup(&fd2, PAGE, QUOTA);
    let (_, ret) = call(&fd2, [id(ids::STATS), s.session, 0, 0, 0, 0, 0, 0]);
    r.check(
        "a second file has its own session and cannot reach the first one's",
        match res {
            Ok(()) if s2.session != s.session && ret[0] == 0 && ret[3] == 0 => Ok(format!(
                "sessions {:#x} and {:#x}; STATS naming the first: nothing loaded",
                s.session, s2.session
            )),
            other => Err(format!(
                "{other:?}, STATS {} {:?}",
                status(ret[0]),
                &ret[1..]
            )),
        },
    );

    // Sessions are bounded by memory: every SETUP reserves its quota out of the pool, so
    // files with the smallest quota open until the pool (or the registration cap, or the
    // secure world's mapping tables) is used up, then SETUP is refused: EINVAL with
    // QUOTA_TOO_LARGE, or ENOSPC with NO_RESOURCES. Far more than the old 4 at once.
    let mut more = Vec::new();
    let mut full = None;
    for _ in 0..1024 {
        let f = open_raw().expect("open /dev/tzwasm");
        let (res, st) = setup(&f, PAGE, SESSION_MIN_QUOTA);
        if res.is_err() {
            full = Some((errno(res), st.status));
            break;
        }
        more.push(f);
    }
    r.check(
        "sessions open until the pool is reserved, then SETUP fails with EINVAL / \
         QUOTA_TOO_LARGE (or ENOSPC / NO_RESOURCES)",
        match full {
            Some((Some(e), st))
                if more.len() >= 16
                    && ((e == libc::EINVAL && st == Status::QuotaTooLarge.code())
                        || (e == libc::ENOSPC && st == Status::NoResources.code())) =>
            {
                Ok(format!("after {} more sessions", more.len()))
            }
            other => Err(format!("{other:?} after {} more", more.len())),
        },
    );
    drop(more);
    drop(fd2);
    unmap(mem, shm);
    drop(fd);

    // Everything closed: the pool is back where it was.
    let f = open_raw().expect("open /dev/tzwasm");
    let (_, _) = setup(&f, PAGE, SESSION_MIN_QUOTA);
    let (_, ret) = call(&f, [id(ids::GET_INFO), 1, 0, 0, 0, 0, 0, 0]);
    r.check(
        "after closing every file the secure pool is back at its baseline (one file open)",
        if ret[0] == 0 && ret[2] == base {
            Ok(format!("{base} bytes"))
        } else {
            Err(format!(
                "{} used {}, baseline {base}",
                status(ret[0]),
                ret[2]
            ))
        },
    );
    finish(r);
}

fn finish(r: Report) -> ! {
    println!("{} passed, {} failed", r.passed, r.failed);
    std::process::exit(i32::from(r.failed != 0));
}
