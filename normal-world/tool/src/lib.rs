//! The `tzwasm` tool's library: the `/dev/tzwasm` device ([`device`]), the file server for
//! the file channel ([`files`], not yet used by `tzwasm run`), sizes on the command
//! line ([`size`]) and signal handling, shared by the `tzwasm` binary and the driver's
//! interface test `tzwasm-driver-test`.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod device;
pub mod files;
pub mod size;

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked this process to stop (0: none).
pub static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// True once SIGINT, SIGTERM or SIGHUP arrived.
pub fn stopping() -> bool {
    SIGNAL.load(Ordering::Relaxed) != 0
}

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::Relaxed);
}

/// Catches SIGINT, SIGTERM and SIGHUP without SA_RESTART: a signal during a run makes the
/// driver cancel it in the secure world and the ioctl return EINTR; the run then ends as
/// cancelled and the tool exits with 128 + the signal number.
pub fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler
        // only stores into an atomic, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, core::ptr::null_mut());
        }
    }
}
