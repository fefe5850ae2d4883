//! Empty: this crate exists only so `cargo fetch` downloads wamrx-sys 0.3.0 (WAMR 2.4.3 sources).
