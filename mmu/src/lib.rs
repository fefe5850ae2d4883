//! Translation tables for the S-EL1&0 regime (stub; being written).
#![cfg_attr(not(test), no_std)]
