//! The run mode, chosen by the harness without rebuilding: a u64 it preloads into normal RAM
//! with QEMU's generic loader before TF-A runs.
//!
//! `-device loader,addr=0x5ffff000,data=0xfa177e57,data-len=8` selects crash mode: bits 31:0
//! hold [`CRASH_TEST_MAGIC`], bits 63:32 the TEST_FAULT kind (`tzwasm_smc::FaultKind`, 0 =
//! data abort on an unmapped address; e.g. `data=0x2fa177e57` for the stack-guard overflow).
//! [`PARALLEL_MAGIC`] selects the parallel run, [`TIMING_MAGIC`] only the world-switch
//! timing (`make bench`'s counted boot under `-icount`). Any other value (QEMU zeroes RAM, so by
//! default 0) selects the normal run. The word sits just below
//! the BL33 image, where neither TF-A nor QEMU's DTB (at 0x40000000, at most 1 MiB) lands.

/// Address of the mode word.
pub const MODE_ADDR: usize = 0x5fff_f000;
/// Low 32 bits of the mode word that enable the fault-injection run ("FAIL TEST").
pub const CRASH_TEST_MAGIC: u64 = 0xfa17_7e57;
/// The mode word of the parallel run (`-smp 4`): only the parallel-run and multi-CPU stress
/// checks (`crate::parallel`).
pub const PARALLEL_MAGIC: u64 = 0x5a4d_9a11;
/// The mode word of the timing-only run: the NULL / PSCI_VERSION timing line and nothing else
/// (under QEMU's `-icount` its ns are instructions; the checks run in the other boots).
pub const TIMING_MAGIC: u64 = 0x7193_0c0d;

/// What the client does after the ordinary checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Checks, timing, summary, SYSTEM_OFF.
    Normal,
    /// As `Normal`, plus a TEST_FAULT call of this kind from the secondary CPU before the
    /// summary.
    CrashTest {
        /// The raw TEST_FAULT kind (`x1`).
        kind: u64,
    },
    /// Only the parallel checks, on every CPU, then the summary.
    Parallel,
    /// Only the world-switch timing, then the summary.
    Timing,
}

/// Reads the mode word.
pub fn read() -> Mode {
    // SAFETY: MODE_ADDR is 8-byte aligned normal RAM below the image that nothing else in the
    // normal world uses; reading it has no side effects.
    let word = unsafe { core::ptr::read_volatile(MODE_ADDR as *const u64) };
    if word == PARALLEL_MAGIC {
        Mode::Parallel
    } else if word == TIMING_MAGIC {
        Mode::Timing
    } else if word & 0xffff_ffff == CRASH_TEST_MAGIC {
        Mode::CrashTest { kind: word >> 32 }
    } else {
        Mode::Normal
    }
}
