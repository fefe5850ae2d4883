//! The payload's heap: the static pool as the global allocator, and how much of it is kept
//! back from session quotas for the payload itself. The pool's logic (charging, figures,
//! fault injection) is `tzwasm_firmware::pool`, host-tested; this module only places it.

use tzwasm_firmware::pool::Pool;

/// The static pool, also the global allocator.
#[global_allocator]
pub static POOL: Pool = Pool::empty(crate::arch::current_cpu);

/// Bytes of the pool kept back from session quotas for the payload itself (handle tables,
/// run-block copies, log formatting, TEST_RUN).
pub const KERNEL_RESERVE: u64 = 1 << 20;
