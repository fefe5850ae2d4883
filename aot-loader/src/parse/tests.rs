//! Parser tests on files from the test writer: every section, every refusal, and robustness
//! (truncation at every byte, every single-bit flip).

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::writer::{Emitter, ModuleBuilder};

const ARCHES: [Arch; 2] = [Arch::Aarch64, Arch::X86_64];

fn err(bytes: &[u8], arch: Arch) -> LoadError {
    parse(bytes, arch).expect_err("parse should fail")
}

#[test]
fn minimal_module_parses() {
    for arch in ARCHES {
        let bytes = ModuleBuilder::minimal(arch).build();
        let m = parse(&bytes, arch).unwrap();
        assert_eq!(m.target.arch, arch);
        assert_eq!(m.target.e_machine, arch.e_machine());
        assert!(!m.target.is_xip());
        assert_eq!(m.memories.len(), 1);
        assert_eq!(m.memories[0].init_bytes(), 65536);
        assert_eq!(m.types.len(), 1);
        assert_eq!(m.types[0].results, vec![ValType::I32]);
        assert_eq!(m.functions.len(), 1);
        assert_eq!(m.functions[0].text_offset, 0);
        assert_eq!(
            m.export("run").map(|e| (e.kind, e.index)),
            Some((ExportKind::Func, 0))
        );
        assert_eq!(m.code.len, 8);
        assert_eq!(
            m.code.get(&bytes).unwrap(),
            &ModuleBuilder::minimal(arch).code[..]
        );
        assert!(m.relocation_groups.is_empty());
        assert_eq!(m.start_function, None);
        assert_eq!(m.aux, AuxInfo::default());
    }
}

#[test]
fn kitchen_sink_parses_every_section() {
    for arch in ARCHES {
        let bytes = ModuleBuilder::kitchen_sink(arch).build();
        let m = parse(&bytes, arch).unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(
            m.target.feature_flags,
            feature::BULK_MEMORY | feature::REF_TYPES
        );
        assert_eq!(m.import_funcs.len(), 1);
        assert_eq!(m.import_funcs[0].name, "host_fn");
        assert_eq!(m.import_funcs[0].module, "env");
        assert_eq!(m.total_funcs(), 3);
        assert_eq!(m.import_globals[0].name, "g_base");
        assert_eq!(m.globals.len(), 7);
        assert_eq!(m.globals[0].init, InitExpr::GlobalGet(0));
        assert_eq!(m.globals[1].init, InitExpr::I64(-5));
        assert_eq!(m.globals[4].init, InitExpr::V128([7; 16]));
        assert_eq!(m.globals[5].init, InitExpr::RefFunc(1));
        assert!(matches!(
            m.globals[6].init,
            InitExpr::Binary(BinOp::I32Add, _, _)
        ));
        let (offsets, size) = m.global_layout().unwrap();
        assert_eq!(offsets, vec![0, 4, 8, 16, 20, 28, 44, 48]);
        assert_eq!(size, 52);
        assert_eq!(m.tables.len(), 1);
        assert_eq!(m.tables[0].slot_count(), 4);
        assert_eq!(m.elem_segments.len(), 2);
        assert_eq!(m.elem_segments[0].mode, ElemMode::Active);
        assert_eq!(m.elem_segments[0].offset, InitExpr::I32(1));
        assert_eq!(
            m.elem_segments[0].values,
            vec![InitExpr::RefFunc(1), InitExpr::RefNull(0x70)]
        );
        assert_eq!(m.elem_segments[1].mode, ElemMode::Passive);
        assert_eq!(m.elem_segments[1].raw_mode, 1);
        assert_eq!(m.data_segments.len(), 2);
        assert_eq!(m.data_segments[0].bytes.get(&bytes), Some(&b"hello"[..]));
        assert!(m.data_segments[1].is_passive);
        assert_eq!(m.data_segments[1].bytes.get(&bytes), Some(&b"passive!"[..]));
        assert_eq!(m.data_sections.len(), 2);
        assert_eq!(m.data_section_index(".rodata.cst16"), Some(1));
        assert_eq!(m.functions[1].text_offset, 8);
        assert_eq!(m.start_function, Some(2));
        assert_eq!(m.export("memory").map(|e| e.kind), Some(ExportKind::Memory));
        assert_eq!(m.export("g").map(|e| e.kind), Some(ExportKind::Global));
        assert_eq!(
            m.func_names,
            vec![(1, String::from("run")), (2, String::from("second"))]
        );

        let text = &m.relocation_groups[0];
        assert_eq!(crate::module::span_str(&bytes, text.name), ".rela.text");
        assert_eq!(text.target, RelocTarget::Text);
        let sym = |i: usize| &m.symbols[text.relocations[i].symbol as usize];
        assert_eq!(sym(0), &Symbol::DataSection(1));
        match arch {
            Arch::Aarch64 => {
                assert_eq!(text.relocations.len(), 5);
                assert_eq!(sym(2), &Symbol::AotFunc(0));
                let Symbol::Runtime(span) = *sym(3) else {
                    panic!("not a runtime symbol: {:?}", sym(3));
                };
                assert_eq!(
                    crate::module::span_str(&bytes, span),
                    "aot_set_exception_with_id"
                );
                assert_eq!(m.relocation_groups.len(), 1);
            }
            Arch::X86_64 => {
                assert_eq!(sym(1), &Symbol::AotFunc(0));
                let data = &m.relocation_groups[1];
                assert_eq!(data.target, RelocTarget::DataSection(0));
                assert_eq!(m.symbols[data.relocations[0].symbol as usize], Symbol::Text);
            }
        }
        // Group names that no relocation uses.
        assert_eq!(m.symbols[0], Symbol::Unreferenced);
        assert_eq!(
            m.runtime_symbols(&bytes).unwrap(),
            vec!["aot_set_exception_with_id", "memmove"]
        );
    }
}

#[test]
fn section_table_lists_headers() {
    let b = ModuleBuilder::kitchen_sink(Arch::Aarch64).build();
    let t = section_table(&b).unwrap();
    let ids: Vec<u32> = t.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5, 100]);
    assert_eq!(t[0].header_offset, 8);
    assert_eq!(
        t[0].body,
        Span {
            offset: 16,
            len: 48
        }
    );
    assert!(t
        .windows(2)
        .all(|w| w[1].header_offset as u64 >= w[0].body.end()));
    assert_eq!(t.last().unwrap().body.end(), b.len() as u64);
    assert!(section_table(&b[..b.len() - 1]).is_err());
}

#[test]
fn header_errors() {
    assert!(matches!(
        err(&[], Arch::Aarch64),
        LoadError::Truncated {
            section: SectionKind::Header,
            offset: 0
        }
    ));
    let mut b = ModuleBuilder::minimal(Arch::Aarch64).build();
    b[0] = 0x7f;
    assert!(matches!(err(&b, Arch::Aarch64), LoadError::BadMagic { .. }));
    assert!(err(&b, Arch::Aarch64)
        .to_string()
        .contains("not a WAMR AOT file"));

    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.version = 2;
    assert_eq!(
        err(&m.build(), Arch::Aarch64).to_string(),
        "AOT version 2 (WAMR 2021 and older) is not supported: recompile with wamrc 2.4"
    );
    m.version = 5;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("recompile with wamrc 2.4"));
    m.version = 7;
    assert!(matches!(
        err(&m.build(), Arch::Aarch64),
        LoadError::UnsupportedVersion { version: 7 }
    ));
}

#[test]
fn target_info_errors() {
    let b = ModuleBuilder::minimal(Arch::X86_64).build();
    assert_eq!(
        err(&b, Arch::Aarch64).to_string(),
        "compiled for x86_64; this runtime runs aarch64: recompile with wamrc --target=aarch64"
    );
    let b = ModuleBuilder::minimal(Arch::Aarch64).build();
    assert_eq!(
        err(&b, Arch::X86_64).to_string(),
        "compiled for aarch64; this runtime runs x86_64: recompile with wamrc --target=x86_64"
    );
    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.e_machine = Some(243);
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .starts_with("compiled for riscv;"));

    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.feature_flags = feature::MULTI_THREAD;
    assert_eq!(
        err(&m.build(), Arch::Aarch64).to_string(),
        "module uses threads, which tzwasm does not support"
    );
    m.feature_flags = feature::GARBAGE_COLLECTION;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("garbage collection"));
    m.feature_flags = 1 << 20;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("unknown feature flags"));
    m.feature_flags = feature::SIMD_128BIT | feature::BULK_MEMORY | feature::REF_TYPES;
    assert!(parse(&m.build(), Arch::Aarch64).is_ok());

    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.bin_type = 0;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("32-bit target"));
    m.bin_type = 3;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("big-endian"));
    m.bin_type = 6;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("Windows"));

    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.e_type = 2;
    assert!(matches!(
        err(&m.build(), Arch::Aarch64),
        LoadError::Malformed {
            section: SectionKind::TargetInfo,
            ..
        }
    ));
    m.e_type = E_TYPE_XIP;
    assert!(parse(&m.build(), Arch::Aarch64).unwrap().target.is_xip());

    // arch string without NUL in its 16 bytes
    let mut b = ModuleBuilder::minimal(Arch::Aarch64).build();
    let arch_at = 8 + 8 + 32;
    for x in &mut b[arch_at..arch_at + 16] {
        *x = b'a';
    }
    assert!(matches!(
        err(&b, Arch::Aarch64),
        LoadError::BadString { .. }
    ));
}

#[test]
fn memory_and_feature_refusals() {
    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.memories[0].0 = mem_flags::SHARED | mem_flags::HAS_MAX;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("threads"));
    m.memories[0].0 = mem_flags::MEMORY64;
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("memory64"));
    m.memories[0].0 = 8;
    assert!(matches!(
        err(&m.build(), Arch::Aarch64),
        LoadError::Malformed { .. }
    ));
    m.memories[0] = (0, 65536, 2, 1);
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("exceed the maximum"));
    m.memories[0] = (0, 65536 * 2, 1, 65536);
    assert!(err(&m.build(), Arch::Aarch64).to_string().contains("4 GiB"));
    // a big page as wamrc folds it (3 pages as one)
    m.memories[0] = (0, 196_608, 1, 1);
    assert_eq!(
        parse(&m.build(), Arch::Aarch64).unwrap().memories[0].init_bytes(),
        196_608
    );
    m.memories.push((0, 65536, 1, 1));
    assert_eq!(
        err(&m.build(), Arch::Aarch64).to_string(),
        "module uses multiple memories, which tzwasm does not support"
    );
    m.memories.clear();
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("at least 1"));
}

#[test]
fn section_structure_errors() {
    let arch = Arch::Aarch64;
    let good = ModuleBuilder::minimal(arch).build();
    // Split the file into sections to reorder and drop them.
    let sections: Vec<(u32, Vec<u8>)> = section_table(&good)
        .unwrap()
        .iter()
        .map(|s| (s.id, s.body.get(&good).unwrap().to_vec()))
        .collect();
    assert_eq!(
        sections.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    let assemble = |secs: &[(u32, Vec<u8>)]| {
        let mut w = Emitter::default();
        w.u32(AOT_MAGIC);
        w.u32(AOT_VERSION);
        for (id, body) in secs {
            w.section(*id, |w| w.bytes(body));
        }
        w.buf
    };
    assert_eq!(assemble(&sections), good);

    let mut s = sections.clone();
    s.swap(3, 4);
    assert!(matches!(
        err(&assemble(&s), arch),
        LoadError::SectionOrder {
            found: SectionKind::Export,
            ..
        }
    ));
    let s = &sections[..5];
    assert_eq!(
        err(&assemble(s), arch).to_string(),
        "file ends before section RELOCATION: the file is incomplete"
    );
    let mut s = sections.clone();
    s.insert(0, (100, vec![0, 0, 0, 0]));
    assert!(matches!(
        err(&assemble(&s), arch),
        LoadError::SectionOrder {
            found: SectionKind::Custom,
            ..
        }
    ));
    let mut s = sections.clone();
    s.insert(3, (6, vec![]));
    assert!(matches!(
        err(&assemble(&s), arch),
        LoadError::UnknownSection { id: 6, .. }
    ));
    let mut s = sections.clone();
    s.insert(2, (100, vec![9, 0, 0, 0, 1, 2, 3])); // unknown custom sub-type, skipped
    s.push((100, vec![9, 0, 0, 0]));
    assert!(parse(&assemble(&s), arch).is_ok());
    let mut s = sections.clone();
    s[4].1.extend_from_slice(&[0, 0, 0, 0]);
    assert!(matches!(
        err(&assemble(&s), arch),
        LoadError::SectionSizeMismatch {
            section: SectionKind::Export,
            left_over: 4,
            ..
        }
    ));
    let mut s = sections.clone();
    s[0].1.push(0);
    assert!(matches!(
        err(&assemble(&s), arch),
        LoadError::SectionSizeMismatch {
            section: SectionKind::TargetInfo,
            ..
        }
    ));
    // A section size running past the end of the file.
    let mut b = good.clone();
    let n = b.len();
    b.truncate(n - 1);
    let e = err(&b, arch);
    assert!(
        matches!(
            e,
            LoadError::Truncated {
                section: SectionKind::Relocation,
                ..
            }
        ),
        "{e}"
    );
    assert!(e
        .to_string()
        .starts_with("section RELOCATION truncated at offset "));
    // Trailing bytes that do not form a section header.
    let mut b = good.clone();
    b.extend_from_slice(&[0, 0]);
    assert!(matches!(
        err(&b, arch),
        LoadError::Truncated {
            section: SectionKind::Header,
            ..
        }
    ));
    // A literal pool is refused.
    let mut s = sections.clone();
    s[2].1.splice(0..4, 4u32.to_le_bytes());
    assert!(err(&assemble(&s), arch)
        .to_string()
        .contains("literal pool"));
}

#[test]
fn index_and_count_errors() {
    let arch = Arch::X86_64;
    let mut m = ModuleBuilder::minimal(arch);
    m.functions[0].1 = 1;
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange {
            what: "function type",
            ..
        }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.functions[0].0 = 8;
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange {
            what: "function code offset",
            ..
        }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.exports[0].2 = 1;
    assert!(err(&m.build(), arch)
        .to_string()
        .contains("exported function index 1"));
    let mut m = ModuleBuilder::minimal(arch);
    m.exports.push((String::from("run"), 0, 0));
    assert!(err(&m.build(), arch)
        .to_string()
        .contains("duplicate export"));
    let mut m = ModuleBuilder::minimal(arch);
    m.exports[0].1 = 4;
    assert!(err(&m.build(), arch)
        .to_string()
        .contains("unknown export kind"));
    let mut m = ModuleBuilder::minimal(arch);
    m.start = 0; // type () -> i32
    assert!(err(&m.build(), arch).to_string().contains("start function"));
    m.start = 1;
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange {
            what: "start function",
            ..
        }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.import_funcs
        .push((3, String::from("env"), String::from("f")));
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange {
            what: "function type",
            ..
        }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.globals.push((ValType::I32, false, InitExpr::I64(1)));
    assert!(err(&m.build(), arch).to_string().contains("wrong type"));
    let mut m = ModuleBuilder::minimal(arch);
    m.globals
        .push((ValType::I32, false, InitExpr::GlobalGet(0)));
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange { .. }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.globals
        .push((ValType::FuncRef, false, InitExpr::RefFunc(1)));
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange {
            what: "function in ref.func",
            ..
        }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.data_segments.push((false, 1, InitExpr::I32(0), vec![1]));
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange { .. }
    ));
    let mut m = ModuleBuilder::minimal(arch);
    m.elem_segments
        .push((ElemMode::Active, 0, InitExpr::I32(0), vec![]));
    assert!(matches!(
        err(&m.build(), arch),
        LoadError::IndexOutOfRange {
            what: "element segment table",
            ..
        }
    ));

    // A count far beyond the section: refused before allocating.
    let mut b = ModuleBuilder::minimal(arch).build();
    // INIT_DATA body starts after header (8) + TARGET_INFO (8 + 48) + INIT_DATA header (8);
    // import memory count, memory count, 16 bytes of memory, then the data segment count.
    let data_count_at = 8 + 56 + 8 + 8 + 16;
    assert_eq!(&b[data_count_at..data_count_at + 4], &[0, 0, 0, 0]);
    b[data_count_at..data_count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = err(&b, arch);
    assert!(
        matches!(
            e,
            LoadError::CountTooLarge {
                what: "data segment",
                count: u32::MAX,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("does not fit"));
}

#[test]
fn element_segment_flags_follow_the_wasm_binary() {
    let arch = Arch::Aarch64;
    let mut b = ModuleBuilder::kitchen_sink(arch).build();
    let m = parse(&b, arch).unwrap();
    // Find the first segment's mode word: the u32 0 right before elem_type 0x70 and table 0.
    let at = (0..b.len() - 12)
        .step_by(4)
        .find(|&i| b[i..i + 12] == [0, 0, 0, 0, 0x70, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(m.elem_segments[0].mode, ElemMode::Active);
    for (flags, mode) in [
        (2, ElemMode::Active),
        (4, ElemMode::Active),
        (6, ElemMode::Active),
        (1, ElemMode::Passive),
        (5, ElemMode::Passive),
        (3, ElemMode::Declarative),
        (7, ElemMode::Declarative),
    ] {
        b[at] = flags;
        let m = parse(&b, arch).unwrap();
        assert_eq!(
            (m.elem_segments[0].mode, m.elem_segments[0].raw_mode),
            (mode, u32::from(flags))
        );
    }
    b[at] = 8;
    assert!(err(&b, arch).to_string().contains("element segment flags"));
}

#[test]
fn deep_init_expr_is_refused_not_overflowing_the_stack() {
    let mut e = InitExpr::I32(1);
    for _ in 0..(MAX_EXPR_DEPTH + 5) {
        e = InitExpr::Binary(BinOp::I32Add, Box::new(e), Box::new(InitExpr::I32(1)));
    }
    let mut m = ModuleBuilder::minimal(Arch::Aarch64);
    m.globals.push((ValType::I32, false, e));
    assert!(err(&m.build(), Arch::Aarch64)
        .to_string()
        .contains("nested too deeply"));
    // A long chain of add opcodes with no operands (hostile bytes) also stops.
    let mut w = Emitter::default();
    for _ in 0..10_000 {
        w.u32(0x6a);
    }
    let mut c = Cursor::new(&w.buf, 0, w.buf.len(), SectionKind::InitData).unwrap();
    assert!(init_expr(&mut c, 0).is_err());
    let mut c = Cursor::new(&[0xd3, 0, 0, 0], 0, 4, SectionKind::InitData).unwrap();
    assert!(init_expr(&mut c, 0).unwrap_err().to_string().contains("GC"));
}

#[test]
fn relocation_errors() {
    let arch = Arch::Aarch64;
    let with = |f: &dyn Fn(&mut ModuleBuilder)| {
        let mut m = ModuleBuilder::kitchen_sink(arch);
        f(&mut m);
        m.build()
    };
    let e = err(&with(&|m| m.relocation_groups[0].1[0].2 = 257), arch);
    assert_eq!(e, LoadError::UnsupportedRelocation { arch, r_type: 257 });
    assert!(e
        .to_string()
        .contains("relocation type 257 is not supported for aarch64"));
    let e = err(&with(&|m| m.relocation_groups[0].1[0].0 = 44), arch);
    assert!(
        matches!(
            e,
            LoadError::IndexOutOfRange {
                what: "relocation offset",
                ..
            }
        ),
        "{e}"
    );
    let e = err(
        &with(&|m| m.relocation_groups[0].1[0].0 = u64::MAX - 1),
        arch,
    );
    assert!(matches!(e, LoadError::IndexOutOfRange { .. }));
    let e = err(
        &with(&|m| m.relocation_groups[0].1[2].3 = String::from("aot_func#2")),
        arch,
    );
    assert!(e.to_string().contains("function number out of range"));
    let e = err(
        &with(&|m| m.relocation_groups[0].1[2].3 = String::from("aot_func#1x")),
        arch,
    );
    assert!(e.to_string().contains("malformed function number"));
    let e = err(
        &with(&|m| m.relocation_groups[0].1[0].3 = String::from(".rodata.cst8")),
        arch,
    );
    assert!(e
        .to_string()
        .contains("data section the file does not contain"));
    let e = err(
        &with(&|m| m.relocation_groups[0].1[0].3 = String::from(".literal")),
        arch,
    );
    assert!(matches!(e, LoadError::BadRelocationSymbol { .. }));
    let e = err(
        &with(&|m| m.relocation_groups[0].0 = String::from(".rela.data")),
        arch,
    );
    assert!(e
        .to_string()
        .contains("data section the file does not contain"));
    let e = err(
        &with(&|m| m.relocation_groups[0].0 = String::from("text")),
        arch,
    );
    assert!(e.to_string().contains(".rela.<section>"));
    // Data sections may only be relocated against .text.
    let e = err(
        &with(&|m| {
            m.relocation_groups.push((
                String::from(".rela.rodata"),
                vec![(0, 0, crate::reloc::aarch64::CALL26, String::from("memset"))],
            ))
        }),
        arch,
    );
    assert!(e.to_string().contains("only be relocated against .text"));
    // An empty group for a section that does not exist is dropped, as WAMR ignores it.
    let b = with(&|m| {
        m.relocation_groups
            .push((String::from(".rela.eh_frame"), vec![]))
    });
    assert_eq!(parse(&b, arch).unwrap().relocation_groups.len(), 1);
}

#[test]
fn symbol_table_layout_is_checked() {
    let arch = Arch::Aarch64;
    let b = ModuleBuilder::kitchen_sink(arch).build();
    let m = parse(&b, arch).unwrap();
    // Find the RELOCATION section body and corrupt the second symbol offset.
    let table = section_table(&b).unwrap();
    let body = table
        .iter()
        .find(|s| s.id == section_id::RELOCATION)
        .unwrap()
        .body
        .offset as usize;
    assert!(m.symbol_names.len() > 2);
    let mut bad = b.clone();
    bad[body + 8] ^= 2;
    assert!(err(&bad, arch).to_string().contains("symbol table offset"));
    let mut bad = b.clone();
    let total_len_at = body + 4 + 4 * m.symbol_names.len();
    let total = u32::from_le_bytes(bad[total_len_at..total_len_at + 4].try_into().unwrap());
    bad[total_len_at..total_len_at + 4].copy_from_slice(&(total + 2).to_le_bytes());
    assert!(parse(&bad, arch).is_err());
}

#[test]
fn native_symbols_and_raw_custom_sections() {
    let arch = Arch::Aarch64;
    let mut m = ModuleBuilder::minimal(arch);
    m.e_type = E_TYPE_XIP;
    m.native_symbols = vec![
        String::from("aot_set_exception_with_id"),
        String::from("f64#400921FB54442D18"),
        String::from("i32#0000002a"),
        String::from("__ignore"),
    ];
    let p = parse(&m.build(), arch).unwrap();
    assert_eq!(
        p.native_symbols,
        vec![
            NativeSymbol::Runtime(String::from("aot_set_exception_with_id")),
            NativeSymbol::Const(0x4009_21fb_5444_2d18),
            NativeSymbol::Const(42),
            NativeSymbol::Empty,
        ]
    );
    m.native_symbols[1] = String::from("f64#12");
    assert!(err(&m.build(), arch).to_string().contains("native symbol"));

    let mut b = ModuleBuilder::minimal(arch).build();
    let mut w = Emitter {
        buf: core::mem::take(&mut b),
    };
    w.section(100, |w| {
        w.u32(0);
        w.string("producers");
        w.bytes(b"raw!");
    });
    let p = parse(&w.buf, arch).unwrap();
    assert_eq!(p.custom_sections.len(), 1);
    assert_eq!(p.custom_sections[0].name, "producers");
    assert_eq!(p.custom_sections[0].bytes.get(&w.buf), Some(&b"raw!"[..]));
}

#[test]
fn malformed_name_section_is_ignored() {
    let arch = Arch::X86_64;
    let mut m = ModuleBuilder::minimal(arch);
    m.func_names = vec![(5, String::from("nope"))];
    let p = parse(&m.build(), arch).unwrap();
    assert!(p.func_names.is_empty());
    m.func_names = vec![(0, String::from("run"))];
    assert_eq!(
        parse(&m.build(), arch).unwrap().func_names,
        vec![(0, String::from("run"))]
    );
}

/// Every prefix of a valid file is refused, with an error, never a panic; the only prefixes
/// accepted are those that drop whole trailing CUSTOM sections.
#[test]
fn truncation_at_every_byte() {
    for arch in ARCHES {
        let b = ModuleBuilder::kitchen_sink(arch).build();
        let table = section_table(&b).unwrap();
        assert_eq!(
            table.last().map(|s| s.kind),
            Some(SectionKind::Custom),
            "ends with names"
        );
        for len in 0..b.len() {
            let whole_sections = table
                .iter()
                .any(|s| s.body.end() == len as u64 && s.id >= section_id::RELOCATION);
            assert_eq!(
                parse(&b[..len], arch).is_ok(),
                whole_sections,
                "{arch}: prefix of {len} bytes"
            );
        }
    }
}

/// Every single-bit flip either parses or is refused; whatever parses also plans and builds
/// (with errors, not panics).
#[test]
fn every_bit_flip() {
    for arch in ARCHES {
        let b = ModuleBuilder::kitchen_sink(arch).build();
        let mut accepted = 0;
        let mut img = Vec::new();
        for i in 0..b.len() * 8 {
            let mut m = b.clone();
            m[i / 8] ^= 1 << (i % 8);
            if let Ok(module) = parse(&m, arch) {
                accepted += 1;
                if let Ok(layout) = crate::image::plan(&module, 4096) {
                    img.resize(layout.total_len as usize, 0);
                    let _ = crate::image::build(
                        &module,
                        &m,
                        &layout,
                        &mut img,
                        0x4000_0000,
                        &mut |_| Some(0x4100_0000),
                    );
                }
            }
        }
        // Flips in code bytes, data bytes and names are harmless; most others are caught.
        assert!(accepted > 0 && accepted < b.len() * 8, "{arch}: {accepted}");
    }
}

/// Random multi-byte corruption (a deterministic xorshift, no extra dependency).
#[test]
fn random_mutations() {
    let mut rng = crate::test_rng::XorShift(0x2545_f491_4f6c_dd1d);
    let mut next = || rng.next();
    for arch in ARCHES {
        let b = ModuleBuilder::kitchen_sink(arch).build();
        for _ in 0..3000 {
            let mut m = b.clone();
            let n = 1 + next() % 8;
            for _ in 0..n {
                let at = (next() % m.len() as u64) as usize;
                m[at] = next() as u8;
            }
            if next() % 4 == 0 {
                let len = (next() % m.len() as u64) as usize;
                m.truncate(len);
            }
            let _ = parse(&m, arch);
        }
    }
}
