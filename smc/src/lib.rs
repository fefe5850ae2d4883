//! The tzwasm SMC protocol, shared by the secure and normal worlds (stub; being written).
#![cfg_attr(not(test), no_std)]
