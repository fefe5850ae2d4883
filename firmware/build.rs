//! Links the BL32 image with linker/bl32.ld (bare-metal target only).

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/../linker/bl32.ld");
        println!("cargo:rerun-if-changed={dir}/../linker/bl32.ld");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TZWASM_LOG");
}
