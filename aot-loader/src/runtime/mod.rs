//! The runtime: instantiate a parsed module ([`Instance`]), the helper and import logic that
//! generated code reaches through platform-provided entry points ([`Instance::dispatch`]),
//! typed export calls ([`abi`]), traps ([`Trap`], [`Stop`]) and the per-instance heap quota
//! ([`Quota`]).
//!
//! Privilege separation (docs/aot-loader.md, "Runtime"): generated code can write its exec_env,
//! module instance, globals, tables, `func_ptrs`, linear memory and native stack. The runtime
//! keeps its own records of everything that matters (memory base, size and pages, table sizes,
//! function counts and types, dropped segments, quota) in [`Instance`], which module code
//! cannot reach in the firmware; instance fields are a mirror it writes but never reads back.
//! Every pointer and length a helper receives is checked against those records.
//!
//! What the embedder provides is the [`Platform`]: memory (a linear-memory window committed
//! in place, module-writable data, a stack with a guard, code pages that are RW while being
//! built and RX afterwards), the address generated code calls for each helper and import
//! (the host: per-instance stubs into [`Instance::dispatch`]; the firmware: EL0 stubs that
//! `svc`), the WASI host and other host imports. Entering module code and the non-local exit
//! on a trap are the embedder's few lines of assembly per processor.

pub mod abi;
pub mod decimal;
mod helpers;
mod instance;
mod platform;
mod quota;
pub mod signature;
mod trap;

#[cfg(test)]
mod tests;

pub use helpers::{Helper, HELPERS};
pub use instance::{
    footprint, footprint_total, ImportBinding, Instance, InstanceConfig, InstantiateError, Value,
};
pub use platform::{Entry, Platform, PlatformError};
pub use quota::{Quota, QuotaError};
pub use trap::{Stop, Trap};
