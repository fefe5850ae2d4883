//! The tzwasm SMC protocol: the ABI shared by the secure world (the BL32 firmware) and the
//! normal world (the bare-metal test client now, the Linux driver and tool later).
//!
//! This crate owns:
//! - [`function_id`]: SMC Calling Convention (SMCCC, Arm DEN 0028) function-id encoding and the
//!   [`FunctionId`] newtype for the untrusted `w0` register value;
//! - [`args`]: the typed arguments of the shared-memory and session calls ([`LoadArgs`],
//!   [`RunArgs`], ... with `to_regs`/`from_regs`), the handle newtypes and [`Refusal`];
//! - [`call`]: every function id tzwasm defines, and [`FunctionId::decode`] to a typed [`Call`];
//! - [`status`]: the status codes returned in `x0` ([`Status`]);
//! - [`info`]: the GET_INFO selectors and their typed results;
//! - [`uid`]: the fixed tzwasm UUID returned by the Trusted OS Call UID query;
//! - [`client`]: the [`Conduit`] trait (one SMC) and typed wrappers for the normal world;
//! - [`ring`]: the stdout/stderr ring in shared memory (producer and consumer ends);
//! - [`session`]: session limits, the LOAD and RUN reports and the RUN block;
//! - [`runner`]: the normal world's load/run/drain/resume loop, shared by every client.
//!
//! The transport (opteed entry vectors on the secure side, the `smc` instruction on the normal
//! side) is not here: this crate is pure data and logic, `no_std`, and tested on the host.
//! `docs/protocol.md` is the reference for every call's registers.
//!
//! Normal-world use: implement [`Conduit`] once for the transport, then call the typed
//! wrappers of [`Client`]:
//!
//! ```
//! use tzwasm_smc::{Client as _, ClientError, Conduit, Status, TZWASM_UID};
//!
//! /// A transport that answers every call with NOT_SUPPORTED (a world without tzwasm).
//! struct Nobody;
//! impl Conduit for Nobody {
//!     fn call(&mut self, _args: [u64; 8]) -> [u64; 4] {
//!         [Status::NotSupported.to_raw(), 0, 0, 0]
//!     }
//! }
//!
//! let mut smc = Nobody;
//! assert_eq!(smc.call_uid(), Err(ClientError::Status(Status::NotSupported)));
//! assert_eq!(smc.null_call(), Err(ClientError::Status(Status::NotSupported)));
//! # let _ = TZWASM_UID;
//! ```
//!
//! Secure-world use: [`FunctionId::from_x0`] on the incoming `x0`, then
//! [`FunctionId::decode`]; every [`DecodeError`] is answered with [`Status::NotSupported`].
#![cfg_attr(not(test), no_std)]
// Both worlds run this code on untrusted values (registers, shared memory, the other world's
// reports): no unwrap, expect, panic or unchecked indexing outside tests. An `allow` below
// this says why it cannot fire.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod args;
pub mod call;
pub mod client;
pub mod files;
pub mod function_id;
pub mod info;
pub mod ring;
pub mod runner;
pub mod session;
pub mod shared;
pub mod status;
pub mod uid;

pub use args::{
    LoadArgs, NativeStack, OpenArgs, Refusal, RunArgs, SessionCall, SessionHandle, ShmCall,
    ShmHandle, ShmOffset, ShmRegisterArgs, ShmSpan, StatsArgs,
};
pub use call::{Call, DecodeError, El0Program, FaultKind, MeasureSelector, ReservedCall};
pub use client::{Client, ClientError, Conduit};
pub use function_id::{CallConv, CallType, FunctionId};
pub use info::{
    CpuInfo, FailureMessage, Features, FeaturesInfo, FirmwareVersion, InfoSelector, Measurement,
    PoolInfo, ProtocolVersion, VersionInfo, MEASUREMENT_LEN, PROTOCOL_VERSION,
};
pub use status::Status;
pub use uid::{Uuid, TZWASM_UID};

/// The four result registers the normal world receives (its `x0..x3`): `x0` is the status or,
/// for the standard Trusted OS queries, the first result word.
pub type Regs4 = [u64; 4];

/// The eight argument registers a caller passes (`x0` = function id, `x1..x7` = arguments).
pub type Regs8 = [u64; 8];

#[cfg(test)]
mod tests;
