//! The loader fuzz harness (`aot-loader/fuzz/src/harness.rs`, the cargo-fuzz target's whole
//! load path) as a plain test: every saved fuzzer finding in `tests/fuzz-regressions/` must
//! load or be refused without a panic, a bad free or a leak, and the committed fixtures must
//! get through instantiation (so the harness really reaches it).

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::Path;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "aot" || e == "bin"));
    v.sort();
    v
}

#[test]
fn saved_fuzzer_findings_do_not_crash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for p in files(&dir) {
        let bytes = std::fs::read(&p).unwrap();
        eprintln!("{}: reached {}", p.display(), harness::load(&bytes));
    }
}

#[test]
fn harness_instantiates_real_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut instantiated = 0;
    let mut notes = Vec::new();
    for p in files(&dir) {
        let bytes = std::fs::read(&p).unwrap();
        let reached = harness::load(&bytes);
        assert!(reached >= 1, "{}: does not parse", p.display());
        if reached == 2 {
            instantiated += 1;
        }
        notes.push(format!("{}: {:?}", p.display(), harness::explain(&bytes)));
    }
    assert!(
        instantiated >= 6,
        "only {instantiated} fixtures instantiated:\n{}",
        notes.join("\n")
    );
}
