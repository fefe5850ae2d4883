//! Real wamrc output: parse, plan and build every corpus file, and make sure truncated and
//! mutated copies are refused (or loaded) without panics.
//!
//! Files come from `build/corpus/` (built by `make corpus`; the test prints a note and passes
//! if it is absent, unless `TZWASM_REQUIRE_CORPUS` is set, as `make aot-test` does: then a
//! missing corpus fails) and from the directories in `AOT_LOADER_EXTRA_DIRS` (colon-separated).
//! The processor of each file is taken from its path (`aarch64` or `x86_64` in a directory
//! or file name).

mod common;

use std::path::{Path, PathBuf};

use common::{helper as resolver, valid_prefix_ends};

use tzwasm_aot_loader::image::{self, ImageError};
use tzwasm_aot_loader::module::Symbol;
use tzwasm_aot_loader::{parse, Arch, LoadError};

/// A missing corpus: a note on a plain `cargo test`, a failure under `make aot-test`.
fn no_corpus() {
    assert!(
        std::env::var_os("TZWASM_REQUIRE_CORPUS").is_none(),
        "TZWASM_REQUIRE_CORPUS is set but build/corpus has no .aot file"
    );
    eprintln!("note: no corpus (run `make corpus`); nothing to check");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "aot") {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<(PathBuf, Arch)> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/corpus")];
    if let Ok(extra) = std::env::var("AOT_LOADER_EXTRA_DIRS") {
        dirs.extend(
            extra
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    let mut files = Vec::new();
    for d in &dirs {
        collect(d, &mut files);
    }
    files
        .into_iter()
        .filter_map(|p| {
            let s = p.to_string_lossy();
            let arch = if s.contains("aarch64") {
                Arch::Aarch64
            } else if s.contains("x86_64") {
                Arch::X86_64
            } else {
                eprintln!("note: skipping {} (no arch in its path)", p.display());
                return None;
            };
            Some((p, arch))
        })
        .collect()
}

fn load(bytes: &[u8], arch: Arch) -> Result<(), String> {
    let m = parse(bytes, arch).map_err(|e| format!("parse: {e}"))?;
    let layout = image::plan(&m, 4096).map_err(|e| format!("plan: {e}"))?;
    let mut img = vec![0u8; layout.total_len as usize];
    image::build(&m, bytes, &layout, &mut img, 0x4000_0000, &mut resolver)
        .map_err(|e| format!("build: {e}"))?;
    Ok(())
}

#[test]
fn every_corpus_file_loads() {
    let files = corpus();
    if files.is_empty() {
        no_corpus();
        return;
    }
    let mut failures = Vec::new();
    let mut counts = std::collections::BTreeMap::<u32, usize>::new();
    for (path, arch) in &files {
        let bytes = std::fs::read(path).unwrap();
        if let Err(e) = load(&bytes, *arch) {
            failures.push(format!("{}: {e}", path.display()));
            continue;
        }
        let m = parse(&bytes, *arch).unwrap();
        for g in &m.relocation_groups {
            for r in &g.relocations {
                *counts.entry(r.r_type).or_default() += 1;
            }
        }
        // Every runtime symbol is one we know.
        for s in &m.symbols {
            if let Symbol::Runtime(span) = s {
                let n = tzwasm_aot_loader::module::span_str(&bytes, *span);
                assert!(
                    resolver(n).is_some(),
                    "{}: unknown runtime symbol {n}",
                    path.display()
                );
            }
        }
        // The wrong processor is refused with the actionable message.
        let other = match arch {
            Arch::Aarch64 => Arch::X86_64,
            Arch::X86_64 => Arch::Aarch64,
        };
        assert!(matches!(
            parse(&bytes, other),
            Err(LoadError::WrongArch { .. })
        ));
    }
    eprintln!(
        "{} corpus files; relocation types seen: {counts:?}",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Truncation: every byte of the smallest file per processor, a spread of cuts elsewhere.
#[test]
fn truncated_corpus_files_are_refused() {
    let files = corpus();
    if files.is_empty() {
        no_corpus();
        return;
    }
    for arch in [Arch::Aarch64, Arch::X86_64] {
        let mut mine: Vec<_> = files
            .iter()
            .filter(|f| f.1 == arch)
            .map(|f| std::fs::read(&f.0).unwrap())
            .collect();
        mine.sort_by_key(|b| b.len());
        for (i, bytes) in mine.iter().enumerate() {
            let valid_ends = valid_prefix_ends(bytes);
            let cuts: Vec<usize> = if i == 0 {
                (0..bytes.len()).collect()
            } else {
                let step = (bytes.len() / 300).max(1);
                (0..bytes.len())
                    .step_by(step)
                    .chain(bytes.len().saturating_sub(64)..bytes.len())
                    .collect()
            };
            for len in cuts {
                let ok = parse(&bytes[..len], arch).is_ok();
                assert_eq!(
                    ok,
                    valid_ends.contains(&len),
                    "{arch}: prefix {len} of {}",
                    bytes.len()
                );
            }
        }
    }
}

/// Bit flips and byte overwrites: never a panic, from parse through build.
#[test]
fn mutated_corpus_files_do_not_panic() {
    let files = corpus();
    if files.is_empty() {
        no_corpus();
        return;
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let per_file = (20_000 / files.len()).clamp(50, 2_000);
    let (mut ok, mut refused) = (0usize, 0usize);
    for (path, arch) in &files {
        let bytes = std::fs::read(path).unwrap();
        // Headers, INIT_DATA and RELOCATION are where the structure is; flip there more often
        // than in machine code by biasing towards the first and last 4 KiB.
        for k in 0..per_file {
            let mut m = bytes.clone();
            let len = m.len() as u64;
            let at = match k % 3 {
                0 => next() % len.min(4096),
                1 => len - 1 - next() % len.min(4096),
                _ => next() % len,
            } as usize;
            if k % 2 == 0 {
                m[at] ^= 1 << (next() % 8);
            } else {
                m[at] = next() as u8;
            }
            match load(&m, *arch) {
                Ok(()) => ok += 1,
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!("mutations: {ok} still loaded, {refused} refused");
}

/// A build error names the helper a module needs.
#[test]
fn missing_helper_is_named() {
    let files = corpus();
    let Some((path, arch)) = files.first() else {
        no_corpus();
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let m = parse(&bytes, *arch).unwrap();
    let Some(first) = m
        .runtime_symbols(&bytes)
        .unwrap()
        .first()
        .map(|s| s.to_string())
    else {
        return;
    };
    let layout = image::plan(&m, 4096).unwrap();
    let mut img = vec![0u8; layout.total_len as usize];
    let e = image::build(&m, &bytes, &layout, &mut img, 0x4000_0000, &mut |n| {
        if n == first {
            None
        } else {
            resolver(n)
        }
    })
    .unwrap_err();
    assert_eq!(e, ImageError::UnresolvedSymbol(first.clone()));
    assert!(e.to_string().contains("tzwasm does not provide"));
}
