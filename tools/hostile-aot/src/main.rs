//! `hostile-aot OUTDIR`: writes every hostile case as `OUTDIR/<name>.aot`, a human-readable
//! `OUTDIR/manifest.txt` (name, expected outcome, patch offsets, what it tries) and
//! `OUTDIR/hostile-bundle.bin`, the bundle the bare-metal test client reads; and the modules
//! of the Linux end-to-end tests in `OUTDIR/linux/` (see `linux.rs`): the isolation victim,
//! one attacker per victim address with its `.patch` list, and the many-symbols module.

use std::fmt::Write as _;
use std::path::PathBuf;

use tzwasm_hostile_aot::{build, cases, linux, make_bundle, Expect};

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: hostile-aot OUTDIR");
        std::process::exit(2);
    };
    let cases = cases();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| {
            eprintln!("hostile-aot: {}: {e}", path.display());
            std::process::exit(1);
        });
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("hostile-aot: {}: {e}", dir.display());
        std::process::exit(1);
    }
    let mut manifest =
        String::from("# name\texpected\tpatches (file offset:target+addend)\twhat\n");
    for case in &cases {
        let (file, patches) = build(case);
        write(&format!("{}.aot", case.name), &file);
        let expect = match case.expect {
            Expect::Trap(Some(id), msg) => format!("trap id {id} \"{msg}\""),
            Expect::Trap(None, msg) => format!("trap \"{msg}\""),
            Expect::Exit(code) => format!("exit {code}"),
            Expect::Cancelled => String::from("interrupted, cancelled"),
            Expect::LoadRefused(status, msg) => format!("LOAD refused: {status} \"{msg}\""),
            Expect::Isolation(role) => format!("isolation test module, role {role}"),
        };
        let patches: Vec<String> = patches
            .iter()
            .map(|(off, p)| format!("{off:#x}:{:?}+{:#x}", p.target, p.addend))
            .collect();
        let _ = writeln!(
            manifest,
            "{}\t{expect}\t{}\t{}",
            case.name,
            if patches.is_empty() {
                String::from("-")
            } else {
                patches.join(",")
            },
            case.what
        );
    }
    write("manifest.txt", manifest.as_bytes());
    write("hostile-bundle.bin", &make_bundle(&cases));
    if let Err(e) = std::fs::create_dir_all(dir.join("linux")) {
        eprintln!("hostile-aot: {}/linux: {e}", dir.display());
        std::process::exit(1);
    }
    write(
        "linux/isolation-victim.aot",
        &build(&linux::isolation_victim()).0,
    );
    for (what, case) in linux::isolation_attackers() {
        write(
            &format!("linux/isolation-attack-{what}.aot"),
            &build(&case).0,
        );
        write(
            &format!("linux/isolation-attack-{what}.patch"),
            linux::patch_list(&case).as_bytes(),
        );
    }
    write("linux/many-symbols.aot", &linux::many_symbols());
}
