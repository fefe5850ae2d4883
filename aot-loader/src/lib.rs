//! WAMR AOT (version 6, WAMR 2.4.x) loader for tzwasm: parse and validate `.aot` files from
//! `wamrc`, lay out and relocate their code and data.
//!
//! - [`parse()`] / [`AotFile`]: bytes in, validated [`AotModule`] out, or a [`LoadError`]
//!   that says what is wrong and what to do. Never panics on any input.
//! - [`image`]: where code, PLT, GOT and data sections go ([`image::plan`]) and filling a
//!   buffer for a given run-time address ([`image::build`]).
//! - [`reloc`]: the bit-level relocation encodings for aarch64 and x86_64.
//! - [`layout`]: `#[repr(C)]` mirrors of exec_env, module/memory/table instances with
//!   compile-time offset checks, and the instance block layout.
//! - `writer` (feature `writer`, and in tests): a small AOT file writer for tests, including
//!   hostile-module tests in other crates.
//! - [`runtime`]: instantiation, helper logic, typed export calls, traps and the heap quota,
//!   over a [`runtime::Platform`] the embedder implements (tools/aot-run on the host, the
//!   firmware at S-EL1).
//! - [`wasi`]: WASI preview1 as pure functions over a checked guest-memory view.
//!
//! The file format facts come from `WAMR-AOT-ABI.md` and WAMR 2.4.3's `aot_loader.c`; see
//! `docs/aot-loader.md` for what is supported and what is refused.
#![cfg_attr(not(test), no_std)]
// Nothing reachable from a file, a module or the normal world may panic: no unwrap, expect,
// panic or unchecked indexing outside tests. An `allow` below this says why it cannot fire.
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

pub mod cursor;
pub mod error;
pub mod fallible;
pub mod image;
pub mod layout;
pub mod module;
pub mod parse;
pub mod reloc;
pub mod runtime;
pub mod sort;
#[cfg(test)]
mod test_rng;
pub mod wasi;
// The writer builds test files from trusted test code only and is never part of the
// firmware (feature `writer` is for test crates), so its panics cannot be reached from input.
#[cfg(any(test, feature = "writer"))]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
pub mod writer;

pub use cursor::Span;
pub use error::{LoadError, SectionKind};
pub use fallible::OutOfMemory;
pub use module::{AotFile, AotModule};
pub use parse::parse;

/// The processors tzwasm loads AOT code for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// AArch64 (the secure world, and qemu-aarch64 tests).
    Aarch64,
    /// x86-64 (host tests).
    X86_64,
}

impl Arch {
    /// The name wamrc's `--target` takes.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// ELF `e_machine`.
    pub fn e_machine(self) -> u16 {
        match self {
            Arch::Aarch64 => 183,
            Arch::X86_64 => 62,
        }
    }

    /// The processor this code was compiled for, if it is one of the two.
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else {
            None
        }
    }
}

impl core::fmt::Display for Arch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
