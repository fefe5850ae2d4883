//! Links the BL33 test client with linker/bl33.ld (bare-metal target only; on the host the
//! binary is an empty shell).

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/../../linker/bl33.ld");
        println!("cargo:rerun-if-changed={dir}/../../linker/bl33.ld");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
