//! Helpers shared by the integration tests.
#![allow(dead_code)]

use tzwasm_aot_loader::parse::{section_id, section_table};

/// Runtime functions the tzwasm runtime provides (a subset of WAMR's `REG_COMMON_SYMBOLS`
/// plus the bulk-memory and reference-types helpers), each at a made-up address far from any
/// image, as the firmware's helper stubs are.
pub const RUNTIME_SYMBOLS: &[&str] = &[
    "aot_set_exception_with_id",
    "aot_invoke_native",
    "aot_call_indirect",
    "aot_enlarge_memory",
    "aot_set_exception",
    "aot_check_app_addr_and_convert",
    "memset",
    "memmove",
    "memcpy",
    "sqrt",
    "sqrtf",
    "fmin",
    "fminf",
    "fmax",
    "fmaxf",
    "ceil",
    "ceilf",
    "floor",
    "floorf",
    "trunc",
    "truncf",
    "rint",
    "rintf",
    "aot_memory_init",
    "aot_data_drop",
    "aot_drop_table_seg",
    "aot_table_init",
    "aot_table_copy",
    "aot_table_fill",
    "aot_table_grow",
];

/// Resolver for `image::build`.
pub fn helper(name: &str) -> Option<u64> {
    RUNTIME_SYMBOLS
        .iter()
        .position(|s| *s == name)
        .map(|i| 0x7f00_0000_0000 + 0x100 * i as u64)
}

/// Lengths at which a prefix of the valid file `b` is itself valid: right after RELOCATION
/// or after a trailing CUSTOM section.
pub fn valid_prefix_ends(b: &[u8]) -> Vec<usize> {
    section_table(b)
        .unwrap()
        .iter()
        .filter(|s| s.id == section_id::RELOCATION || s.id == section_id::CUSTOM)
        .map(|s| s.body.end() as usize)
        .collect()
}
