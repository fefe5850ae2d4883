//! cargo-fuzz target `load`: the input is an AOT file; the whole load path (parse, validate,
//! plan, relocate, instantiate, prepare calls, teardown) runs over it for both processors,
//! without executing guest code. The harness lives in `src/harness.rs`.
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use libfuzzer_sys::fuzz_target;

// `explain` is only for the regression test (aot-loader/tests/fuzz_regressions.rs).
#[allow(dead_code)]
#[path = "../src/harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::load(data);
});
