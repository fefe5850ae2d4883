//! tzwasm BL32: the S-EL1 secure payload TF-A's opteed dispatcher launches.
//!
//! Boot: `arch/entry.S` sets up stacks and vectors, zeroes .bss and calls [`boot::primary_main`],
//! which brings up the console, the pool and the MMU, then the assembly reports ENTRY_DONE with
//! the opteed vector table. Every later event (SMC, CPU on/off, suspend, system off) enters
//! through that table on a fresh stack.
#![cfg_attr(target_os = "none", no_std, no_main)]
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

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod attestation;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod calls;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod device;
#[cfg(target_os = "none")]
mod el0;
#[cfg(all(target_os = "none", feature = "test-hooks"))]
mod el0_test;
#[cfg(target_os = "none")]
mod fault;
#[cfg(target_os = "none")]
mod heap;
#[cfg(all(target_os = "none", feature = "test-hooks"))]
mod measure;
#[cfg(target_os = "none")]
mod mmu;
#[cfg(target_os = "none")]
mod opteed;
#[cfg(target_os = "none")]
mod platform;
#[cfg(target_os = "none")]
mod runner;
#[cfg(target_os = "none")]
mod session;
#[cfg(target_os = "none")]
mod shared_memory;

/// The bare-metal image has no `main`; on the host this binary is an empty shell so that
/// `cargo test --workspace` can build the crate's library.
#[cfg(not(target_os = "none"))]
fn main() {}
