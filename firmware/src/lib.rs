//! tzwasm BL32 payload: the parts that run (and are tested) on the host too.
//!
//! The binary (`main.rs`) adds the aarch64-only pieces: entry and vector assembly, console,
//! MMU programming. Everything here is plain logic over values, tested with `cargo test`.
#![cfg_attr(not(test), no_std)]
// Nothing the normal world or a module can reach may panic: no unwrap, expect, panic or
// unchecked indexing outside tests. An `allow` below this says why it cannot fire.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;

pub mod device_page;
pub mod dispatch;
pub mod drbg;
pub mod esr;
pub mod exception;
pub mod failstop;
pub mod files;
pub mod handles;
pub mod identity;
pub mod layout;
pub mod ns_memory;
pub mod pool;
pub mod quota;
pub mod sessions;
pub mod sha256;
pub mod shm;
pub mod tee_imports;
pub mod user;
