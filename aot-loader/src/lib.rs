//! WAMR AOT (version 6) loader and runtime (stub; being written).
#![cfg_attr(not(test), no_std)]
