//! Small real wamrc 2.4.3 files committed under `tests/data/` (see `regen.sh`): exact facts
//! about what the parser reads, and robustness on real bytes (every truncation, every bit
//! flip), so these run even without the corpus.

mod common;

use common::{helper, valid_prefix_ends};
use tzwasm_aot_loader::image;
use tzwasm_aot_loader::layout::InstanceLayout;
use tzwasm_aot_loader::module::*;
use tzwasm_aot_loader::{parse, Arch, LoadError};

fn data(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const FEATURES: &[(&str, Arch)] = &[
    ("features.aarch64.aot", Arch::Aarch64),
    ("features.aarch64.bc1.aot", Arch::Aarch64),
    ("features.aarch64.s0.aot", Arch::Aarch64),
    ("features.aarch64.xip.aot", Arch::Aarch64),
    ("features.x86_64.aot", Arch::X86_64),
    ("features.x86_64.bc1.aot", Arch::X86_64),
    ("features.x86_64.s0.aot", Arch::X86_64),
];

#[test]
fn features_module_is_read_exactly() {
    for &(name, arch) in FEATURES {
        let b = data(name);
        let m = parse(&b, arch).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            m.target.feature_flags,
            feature::SIMD_128BIT | feature::BULK_MEMORY | feature::REF_TYPES,
            "{name}"
        );
        assert_eq!(m.target.is_xip(), name.contains("xip"));
        assert_eq!(
            m.memories,
            vec![MemoryType {
                flags: mem_flags::HAS_MAX,
                num_bytes_per_page: 65536,
                init_page_count: 1,
                max_page_count: 4
            }]
        );
        // Types are canonicalised: the explicit (i32 i32)->i32 type is host_add's.
        assert_eq!(m.types.len(), 5);
        assert_eq!(m.import_funcs[0].name, "host_add");
        assert_eq!(m.import_funcs[0].type_index, 0);
        assert_eq!(m.import_globals[0].name, "g_imp");
        let inits: Vec<_> = m
            .globals
            .iter()
            .map(|g| (g.val_type, g.mutable, g.init.clone()))
            .collect();
        assert_eq!(
            inits,
            vec![
                (ValType::I32, true, InitExpr::I32(7)),
                (ValType::I64, true, InitExpr::I64(-9)),
                (ValType::F32, false, InitExpr::F32(1.5f32.to_bits())),
                (ValType::F64, false, InitExpr::F64(2.5f64.to_bits())),
                (
                    ValType::V128,
                    true,
                    InitExpr::V128([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0])
                ),
                (ValType::FuncRef, false, InitExpr::RefFunc(1)),
                (ValType::I32, false, InitExpr::GlobalGet(0)),
            ]
        );
        // funcref table that grows keeps max slots; externref table without max.
        assert_eq!(m.tables.len(), 2);
        assert!(m.tables[0].possible_grow);
        assert_eq!(m.tables[0].slot_count(), 10);
        assert_eq!(m.tables[1].elem_type, 0x6f);
        let modes: Vec<_> = m
            .elem_segments
            .iter()
            .map(|e| (e.mode, e.raw_mode, e.values.clone()))
            .collect();
        assert_eq!(
            modes,
            vec![
                (
                    ElemMode::Active,
                    0,
                    vec![InitExpr::RefFunc(1), InitExpr::RefFunc(2)]
                ),
                (
                    ElemMode::Passive,
                    1,
                    vec![InitExpr::RefFunc(2), InitExpr::RefFunc(1)]
                ),
                (ElemMode::Declarative, 3, vec![InitExpr::RefFunc(3)]),
            ]
        );
        // The active segment's element type is written as 0x64 "(ref func)".
        assert_eq!(m.elem_segments[0].elem_type, 0x64);
        assert_eq!(m.data_segments[0].offset, InitExpr::I32(16));
        assert_eq!(m.data_segments[0].bytes.get(&b), Some(&b"active"[..]));
        assert!(m.data_segments[1].is_passive);
        assert_eq!(
            m.data_segments[1].bytes.get(&b),
            Some(&b"passive bytes"[..])
        );
        assert_eq!(m.functions.len(), 6);
        assert_eq!(m.start_function, Some(4));
        let exports: Vec<_> = m
            .exports
            .iter()
            .map(|e| (e.name.as_str(), e.kind, e.index))
            .collect();
        assert_eq!(
            exports,
            vec![
                ("calc", ExportKind::Func, 5),
                ("simd", ExportKind::Func, 6),
                ("mem", ExportKind::Memory, 0),
                ("tab", ExportKind::Table, 0),
                ("g", ExportKind::Global, 1),
            ]
        );
        assert_eq!(
            m.func_type(5).unwrap().results,
            vec![ValType::F64, ValType::I64]
        );
        // The instance layout: header, one memory, 60 bytes of packed globals, two tables.
        let l = InstanceLayout::of(&m).unwrap();
        assert_eq!(l.global_data, 0x1d0);
        assert_eq!(l.global_data_size, 4 + 4 + 8 + 4 + 8 + 16 + 4 + 4);
        assert_eq!(l.tables[0], (0x1d0 + 52, 10));
        if m.target.is_xip() {
            assert!(m
                .native_symbols
                .contains(&NativeSymbol::Runtime("aot_table_grow".into())));
        } else {
            let mut rt = m.runtime_symbols(&b).unwrap();
            rt.sort_unstable();
            for s in [
                "aot_invoke_native",
                "aot_memory_init",
                "aot_data_drop",
                "aot_table_init",
                "aot_table_grow",
            ] {
                assert!(rt.contains(&s), "{name}: {s} missing from {rt:?}");
            }
        }
        if name.contains("bc1") {
            assert!(m.data_section_index(".aot_stack_sizes").is_some());
        }
        // Loads for its processor, refused for the other.
        let layout = image::plan(&m, 4096).unwrap();
        let mut img = vec![0u8; layout.total_len as usize];
        image::build(&m, &b, &layout, &mut img, 0x4000_0000, &mut helper)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let other = if arch == Arch::Aarch64 {
            Arch::X86_64
        } else {
            Arch::Aarch64
        };
        assert!(matches!(parse(&b, other), Err(LoadError::WrongArch { .. })));
    }
}

#[test]
fn extended_const_expressions() {
    let b = data("ext.aarch64.aot");
    let m = parse(&b, Arch::Aarch64).unwrap();
    use InitExpr::*;
    assert_eq!(
        m.globals[0].init,
        Binary(
            BinOp::I32Add,
            Box::new(GlobalGet(0)),
            Box::new(Binary(BinOp::I32Mul, Box::new(I32(3)), Box::new(I32(5))))
        )
    );
    assert_eq!(
        m.globals[1].init,
        Binary(BinOp::I64Sub, Box::new(I64(10)), Box::new(I64(3)))
    );
    assert_eq!(
        m.data_segments[0].offset,
        Binary(BinOp::I32Add, Box::new(GlobalGet(0)), Box::new(I32(8)))
    );
}

#[test]
fn every_truncation_and_bit_flip_of_real_files() {
    let mut files: Vec<(&str, Arch)> = FEATURES.to_vec();
    files.push(("ext.aarch64.aot", Arch::Aarch64));
    for (name, arch) in files {
        let b = data(name);
        // Only prefixes ending right after RELOCATION or a trailing CUSTOM section (XIP files
        // end with the native-symbol table) are valid.
        let valid_ends = valid_prefix_ends(&b);
        for len in 0..b.len() {
            let ok = parse(&b[..len], arch).is_ok();
            assert_eq!(ok, valid_ends.contains(&len), "{name}: prefix {len}");
        }
        let mut img = Vec::new();
        for bit in 0..b.len() * 8 {
            let mut m = b.clone();
            m[bit / 8] ^= 1 << (bit % 8);
            if let Ok(module) = parse(&m, arch) {
                if let Ok(layout) = image::plan(&module, 4096) {
                    img.resize(layout.total_len as usize, 0);
                    let _ = image::build(&module, &m, &layout, &mut img, 0x4000_0000, &mut helper);
                }
            }
        }
    }
}
