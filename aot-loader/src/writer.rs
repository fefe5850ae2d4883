//! A small WAMR AOT (version 6) file writer, for tests only (feature `writer`).
//!
//! [`ModuleBuilder`] describes a module with plain owned data and [`ModuleBuilder::build`]
//! emits a container laid out as wamrc 2.4.3 lays it out (`aot_emit_aot_file.c`): sections
//! 4-aligned, `u16` aligned to 2 and `u32`/`u64` to 4 from the file start, strings with their
//! NUL. [`ModuleBuilder::minimal`] is a tiny valid module with real machine code that returns
//! 42, handy as a starting point for hostile-module tests: build it, then corrupt bytes.
//! [`Emitter`] is the low-level writer for hand-made broken files.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::module::{BinOp, ElemMode, InitExpr, TableType, ValType};
use crate::parse::{custom_id, section_id, AOT_MAGIC, AOT_VERSION};
use crate::Arch;

/// A byte writer that aligns like WAMR's reader.
#[derive(Clone, Debug, Default)]
pub struct Emitter {
    /// The bytes so far.
    pub buf: Vec<u8>,
}

impl Emitter {
    /// Pads with zeros to a multiple of `n`.
    pub fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }
    /// Writes a byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Aligns to 2, writes a u16.
    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Aligns to 4, writes a u32.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Aligns to 4, writes a u64.
    pub fn u64(&mut self, v: u64) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Writes raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// Aligns to 2, writes a WAMR string (u16 length including NUL, bytes, NUL).
    pub fn string(&mut self, s: &str) {
        self.u16(u16::try_from(s.len() + 1).unwrap_or(u16::MAX));
        self.bytes(s.as_bytes());
        self.u8(0);
    }
    /// Writes a section: aligned header, then the body `f` writes, then patches the size.
    pub fn section(&mut self, id: u32, f: impl FnOnce(&mut Emitter)) {
        self.u32(id);
        let size_at = self.buf.len();
        self.u32(0);
        let start = self.buf.len();
        f(self);
        let size = u32::try_from(self.buf.len() - start).unwrap_or(u32::MAX);
        if let Some(dst) = self.buf.get_mut(size_at..size_at + 4) {
            dst.copy_from_slice(&size.to_le_bytes());
        }
    }
    /// Writes an init_expr.
    pub fn init_expr(&mut self, e: &InitExpr) {
        self.align(4);
        match e {
            InitExpr::None => self.u32(0),
            InitExpr::I32(v) => {
                self.u32(0x41);
                self.u32(*v as u32);
            }
            InitExpr::I64(v) => {
                self.u32(0x42);
                self.u64(*v as u64);
            }
            InitExpr::F32(v) => {
                self.u32(0x43);
                self.u32(*v);
            }
            InitExpr::F64(v) => {
                self.u32(0x44);
                self.u64(*v);
            }
            InitExpr::V128(v) => {
                self.u32(0xfd);
                self.bytes(v);
            }
            InitExpr::GlobalGet(g) => {
                self.u32(0x23);
                self.u32(*g);
            }
            InitExpr::RefNull(t) => {
                self.u32(0xd0);
                self.u32(*t);
            }
            InitExpr::RefFunc(f) => {
                self.u32(0xd2);
                self.u32(*f);
            }
            InitExpr::Binary(op, l, r) => {
                self.u32(match op {
                    BinOp::I32Add => 0x6a,
                    BinOp::I32Sub => 0x6b,
                    BinOp::I32Mul => 0x6c,
                    BinOp::I64Add => 0x7c,
                    BinOp::I64Sub => 0x7d,
                    BinOp::I64Mul => 0x7e,
                });
                self.init_expr(l);
                self.init_expr(r);
            }
        }
    }
}

fn val_byte(t: ValType) -> u8 {
    match t {
        ValType::I32 => 0x7f,
        ValType::I64 => 0x7e,
        ValType::F32 => 0x7d,
        ValType::F64 => 0x7c,
        ValType::V128 => 0x7b,
        ValType::FuncRef => 0x70,
        ValType::ExternRef => 0x6f,
    }
}

/// One relocation: (offset, addend, ELF type, symbol name).
pub type RelocSpec = (u64, i64, u32, String);

/// Everything needed to emit a module. Fields are public; tweak freely.
#[derive(Clone, Debug)]
pub struct ModuleBuilder {
    /// Processor (sets e_machine and the arch string).
    pub arch: Arch,
    /// TARGET_INFO bin_type (2 = ELF64 little endian).
    pub bin_type: u16,
    /// 1 = relocatable, 4 = XIP.
    pub e_type: u16,
    /// Overrides e_machine when set.
    pub e_machine: Option<u16>,
    /// Feature flags.
    pub feature_flags: u64,
    /// AOT version in the header.
    pub version: u32,
    /// Memories: (flags, bytes per page, init pages, max pages).
    pub memories: Vec<(u32, u32, u32, u32)>,
    /// Data segments: (is_passive, memory index, offset, bytes).
    pub data_segments: Vec<(bool, u32, InitExpr, Vec<u8>)>,
    /// Imported tables.
    pub import_tables: Vec<TableType>,
    /// Tables.
    pub tables: Vec<TableType>,
    /// Element segments: (mode, table index, offset, values).
    pub elem_segments: Vec<(ElemMode, u32, InitExpr, Vec<InitExpr>)>,
    /// Function types: (params, results).
    pub types: Vec<(Vec<ValType>, Vec<ValType>)>,
    /// Imported globals: (type, mutable, module, name).
    pub import_globals: Vec<(ValType, bool, String, String)>,
    /// Globals: (type, mutable, init).
    pub globals: Vec<(ValType, bool, InitExpr)>,
    /// Imported functions: (type index, module, name).
    pub import_funcs: Vec<(u16, String, String)>,
    /// Start function or u32::MAX.
    pub start: u32,
    /// Object data sections: (name, bytes).
    pub data_sections: Vec<(String, Vec<u8>)>,
    /// Machine code.
    pub code: Vec<u8>,
    /// Defined functions: (text offset, type index).
    pub functions: Vec<(u64, u32)>,
    /// Exports: (name, kind 0..3, index).
    pub exports: Vec<(String, u8, u32)>,
    /// Relocation groups: (group name, relocations).
    pub relocation_groups: Vec<(String, Vec<RelocSpec>)>,
    /// XIP native symbols, in table order (written reversed, as wamrc does).
    pub native_symbols: Vec<String>,
    /// Function names for a name section (emitted if not empty).
    pub func_names: Vec<(u32, String)>,
}

impl ModuleBuilder {
    /// An empty module for `arch` with one 1-page memory, no functions.
    pub fn new(arch: Arch) -> Self {
        ModuleBuilder {
            arch,
            bin_type: 2,
            e_type: 1,
            e_machine: None,
            feature_flags: 0,
            version: AOT_VERSION,
            memories: vec![(0, 65536, 1, 65536)],
            data_segments: Vec::new(),
            import_tables: Vec::new(),
            tables: Vec::new(),
            elem_segments: Vec::new(),
            types: Vec::new(),
            import_globals: Vec::new(),
            globals: Vec::new(),
            import_funcs: Vec::new(),
            start: u32::MAX,
            data_sections: Vec::new(),
            code: Vec::new(),
            functions: Vec::new(),
            exports: Vec::new(),
            relocation_groups: Vec::new(),
            native_symbols: Vec::new(),
            func_names: Vec::new(),
        }
    }

    /// A valid module exporting `run: () -> i32` whose code returns 42
    /// (aarch64 `mov w0, #42; ret`; x86-64 `mov eax, 42; ret`).
    pub fn minimal(arch: Arch) -> Self {
        let mut b = ModuleBuilder::new(arch);
        b.types.push((Vec::new(), vec![ValType::I32]));
        b.code = match arch {
            Arch::Aarch64 => {
                let mut c = Vec::new();
                c.extend_from_slice(&0x5280_0540u32.to_le_bytes());
                c.extend_from_slice(&0xd65f_03c0u32.to_le_bytes());
                c
            }
            Arch::X86_64 => vec![0xb8, 42, 0, 0, 0, 0xc3, 0xcc, 0xcc],
        };
        b.functions.push((0, 0));
        b.exports.push((String::from("run"), 0, 0));
        b
    }

    /// A richer valid module: imports, globals of every kind, tables, element and data
    /// segments, two functions (the second calls the first and a runtime helper), data
    /// sections with relocations, and a name section.
    pub fn kitchen_sink(arch: Arch) -> Self {
        let mut b = ModuleBuilder::minimal(arch);
        b.feature_flags = crate::module::feature::BULK_MEMORY | crate::module::feature::REF_TYPES;
        b.types.push((vec![ValType::I32, ValType::I64], vec![]));
        b.import_funcs
            .push((1, String::from("env"), String::from("host_fn")));
        b.import_globals.push((
            ValType::I32,
            false,
            String::from("env"),
            String::from("g_base"),
        ));
        b.globals.push((ValType::I32, true, InitExpr::GlobalGet(0)));
        b.globals.push((ValType::I64, false, InitExpr::I64(-5)));
        b.globals
            .push((ValType::F32, false, InitExpr::F32(0x3f80_0000)));
        b.globals
            .push((ValType::F64, false, InitExpr::F64(0x4000_0000_0000_0000)));
        b.globals
            .push((ValType::V128, false, InitExpr::V128([7; 16])));
        b.globals
            .push((ValType::FuncRef, false, InitExpr::RefFunc(1)));
        b.globals.push((
            ValType::I32,
            false,
            InitExpr::Binary(
                BinOp::I32Add,
                alloc::boxed::Box::new(InitExpr::I32(1)),
                alloc::boxed::Box::new(InitExpr::GlobalGet(0)),
            ),
        ));
        b.tables.push(TableType {
            elem_type: 0x70,
            flags: 1,
            possible_grow: false,
            init_size: 4,
            max_size: 4,
        });
        b.elem_segments.push((
            ElemMode::Active,
            0,
            InitExpr::I32(1),
            vec![InitExpr::RefFunc(1), InitExpr::RefNull(0x70)],
        ));
        b.elem_segments.push((
            ElemMode::Passive,
            0,
            InitExpr::None,
            vec![InitExpr::RefFunc(0)],
        ));
        b.data_segments
            .push((false, 0, InitExpr::I32(16), b"hello".to_vec()));
        b.data_segments
            .push((true, 0, InitExpr::None, b"passive!".to_vec()));
        b.data_sections
            .push((String::from(".rodata"), vec![0u8; 16]));
        b.data_sections
            .push((String::from(".rodata.cst16"), vec![0xab; 32]));
        // Function 1 starts at offset 8 (after the minimal function).
        let (code, relocs): (Vec<u8>, Vec<RelocSpec>) = match arch {
            Arch::Aarch64 => {
                use crate::reloc::aarch64 as r;
                let words = [
                    0x9000_0000u32, // adrp x0, .rodata.cst16
                    0x3dc0_0000,    // ldr q0, [x0, :lo12:]
                    0x9400_0000,    // bl aot_func#0
                    0x9400_0000,    // bl aot_set_exception_with_id
                    0x1400_0000,    // b memmove (tail call)
                    0xd65f_03c0,    // ret
                ];
                let mut c = Vec::new();
                for w in words {
                    c.extend_from_slice(&w.to_le_bytes());
                }
                let base = 8u64;
                (
                    c,
                    vec![
                        (base, 16, r::ADR_PREL_PG_HI21, String::from(".rodata.cst16")),
                        (
                            base + 4,
                            16,
                            r::LDST128_ABS_LO12_NC,
                            String::from(".rodata.cst16"),
                        ),
                        (base + 8, 0, r::CALL26, String::from("aot_func#0")),
                        (
                            base + 12,
                            0,
                            r::CALL26,
                            String::from("aot_set_exception_with_id"),
                        ),
                        (base + 16, 0, r::JUMP26, String::from("memmove")),
                    ],
                )
            }
            Arch::X86_64 => {
                use crate::reloc::x86_64 as r;
                let mut c = Vec::new();
                c.extend_from_slice(&[0x0f, 0x28, 0x05, 0, 0, 0, 0]); // movaps xmm0, [rip+x]
                c.extend_from_slice(&[0xe8, 0, 0, 0, 0]); // call aot_func#0
                c.extend_from_slice(&[0xe8, 0, 0, 0, 0]); // call helper
                c.extend_from_slice(&[0x48, 0x8b, 0x05, 0, 0, 0, 0]); // mov rax, [rip+GOT]
                c.push(0xc3);
                let base = 8u64;
                (
                    c,
                    vec![
                        (base + 3, 12, r::PC32, String::from(".rodata.cst16")),
                        (base + 8, -4, r::PLT32, String::from("aot_func#0")),
                        (
                            base + 13,
                            -4,
                            r::PLT32,
                            String::from("aot_set_exception_with_id"),
                        ),
                        (base + 20, -4, r::REX_GOTPCRELX, String::from("memmove")),
                    ],
                )
            }
        };
        b.code.extend_from_slice(&code);
        b.types.push((Vec::new(), Vec::new()));
        b.functions.push((8, 2));
        if let Some(e) = b.exports.first_mut() {
            e.2 = 1; // "run" moved behind the import
        }
        b.exports.push((String::from("second"), 0, 2));
        b.exports.push((String::from("memory"), 2, 0));
        b.exports.push((String::from("g"), 3, 1));
        b.start = 2;
        b.relocation_groups
            .push((String::from(".rela.text"), relocs));
        let data_reloc = match arch {
            Arch::Aarch64 => Vec::new(),
            Arch::X86_64 => vec![(
                8u64,
                0i64,
                crate::reloc::x86_64::R_64,
                String::from(".text"),
            )],
        };
        if !data_reloc.is_empty() {
            b.relocation_groups
                .push((String::from(".rela.rodata"), data_reloc));
        }
        b.func_names = vec![(1, String::from("run")), (2, String::from("second"))];
        b
    }

    /// Emits the file.
    pub fn build(&self) -> Vec<u8> {
        let mut w = Emitter::default();
        w.u32(AOT_MAGIC);
        w.u32(self.version);
        w.section(section_id::TARGET_INFO, |w| {
            w.u16(self.bin_type);
            w.u16(0);
            w.u16(self.e_type);
            w.u16(self.e_machine.unwrap_or(self.arch.e_machine()));
            w.u32(1);
            w.u32(0);
            w.u64(self.feature_flags);
            w.u64(0);
            let mut arch = [0u8; 16];
            let name: &[u8] = match self.arch {
                Arch::Aarch64 => b"aarch64v8",
                Arch::X86_64 => b"x86_64",
            };
            arch[..name.len()].copy_from_slice(name);
            w.bytes(&arch);
        });
        w.section(section_id::INIT_DATA, |w| self.init_data(w));
        w.section(section_id::TEXT, |w| {
            w.u32(0);
            w.bytes(&self.code);
            w.align(4);
        });
        w.section(section_id::FUNCTION, |w| {
            for f in &self.functions {
                w.u64(f.0);
            }
            for f in &self.functions {
                w.u32(f.1);
            }
            for _ in &self.functions {
                w.u32(2);
            }
            for _ in &self.functions {
                w.u32(4);
            }
        });
        w.section(section_id::EXPORT, |w| {
            w.u32(self.exports.len() as u32);
            for (name, kind, index) in &self.exports {
                w.align(4);
                w.u32(*index);
                w.u8(*kind);
                w.u8(0);
                w.string(name);
            }
        });
        w.section(section_id::RELOCATION, |w| self.relocations(w));
        if !self.native_symbols.is_empty() {
            w.section(section_id::CUSTOM, |w| {
                w.u32(custom_id::NATIVE_SYMBOL);
                w.u32(self.native_symbols.len() as u32);
                for s in self.native_symbols.iter().rev() {
                    w.string(s);
                }
            });
        }
        if !self.func_names.is_empty() {
            w.section(section_id::CUSTOM, |w| {
                w.u32(custom_id::NAME);
                w.u32(4);
                w.bytes(b"name");
                w.u32(1);
                // wamrc writes the wasm (LEB128) subsection size here, which is not the AOT
                // size; readers only need it non-zero and within the section.
                let size_at = w.buf.len();
                w.u32(0);
                let start = w.buf.len();
                w.u32(self.func_names.len() as u32);
                for (i, n) in &self.func_names {
                    w.u32(*i);
                    w.string(n);
                }
                let size = (w.buf.len() - start) as u32;
                w.buf[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            });
        }
        w.buf
    }

    fn init_data(&self, w: &mut Emitter) {
        w.u32(0);
        w.u32(self.memories.len() as u32);
        for m in &self.memories {
            w.u32(m.0);
            w.u32(m.1);
            w.u32(m.2);
            w.u32(m.3);
        }
        w.u32(self.data_segments.len() as u32);
        for (passive, mem, off, bytes) in &self.data_segments {
            w.align(4);
            w.u32(u32::from(*passive));
            w.u32(*mem);
            w.init_expr(off);
            w.u32(bytes.len() as u32);
            w.bytes(bytes);
        }
        let table = |w: &mut Emitter, t: &TableType| {
            w.u8(t.elem_type);
            w.u8(t.flags);
            w.u8(u8::from(t.possible_grow));
            w.u8(0);
            w.u32(t.init_size);
            w.u32(t.max_size);
        };
        w.u32(self.import_tables.len() as u32);
        for t in &self.import_tables {
            table(w, t);
        }
        w.u32(self.tables.len() as u32);
        for t in &self.tables {
            table(w, t);
        }
        w.u32(self.elem_segments.len() as u32);
        for (mode, tbl, off, values) in &self.elem_segments {
            w.align(4);
            w.u32(match mode {
                ElemMode::Active => 0,
                ElemMode::Passive => 1,
                ElemMode::Declarative => 3,
            });
            w.u32(0x70);
            w.u32(*tbl);
            w.init_expr(off);
            w.u16(0x70);
            w.u16(0);
            w.u32(0);
            w.u32(values.len() as u32);
            for v in values {
                w.init_expr(v);
            }
        }
        w.u32(self.types.len() as u32);
        for (params, results) in &self.types {
            w.align(4);
            w.u16(0);
            w.u16(params.len() as u16);
            w.u16(results.len() as u16);
            for t in params.iter().chain(results.iter()) {
                w.u8(val_byte(*t));
            }
        }
        w.u32(self.import_globals.len() as u32);
        for (t, m, module, name) in &self.import_globals {
            w.align(2);
            w.u8(val_byte(*t));
            w.u8(u8::from(*m));
            w.string(module);
            w.string(name);
        }
        w.u32(self.globals.len() as u32);
        for (t, m, init) in &self.globals {
            w.align(4);
            w.u8(val_byte(*t));
            w.u8(u8::from(*m));
            w.init_expr(init);
        }
        w.u32(self.import_funcs.len() as u32);
        for (t, module, name) in &self.import_funcs {
            w.u16(*t);
            w.string(module);
            w.string(name);
        }
        w.u32(self.functions.len() as u32);
        w.u32(self.start);
        w.u32(u32::MAX);
        w.u64(0);
        w.u32(u32::MAX);
        w.u64(0);
        w.u32(u32::MAX);
        w.u64(0);
        w.u32(0);
        w.u32(self.data_sections.len() as u32);
        for (name, bytes) in &self.data_sections {
            w.string(name);
            w.u32(bytes.len() as u32);
            w.bytes(bytes);
        }
    }

    fn relocations(&self, w: &mut Emitter) {
        // Symbol table: group names and relocation symbols, each once, in order of first
        // use (an index map, so modules with very many symbols build quickly).
        fn intern(
            s: &str,
            symbols: &mut Vec<String>,
            index: &mut alloc::collections::BTreeMap<String, u32>,
        ) -> u32 {
            if let Some(&i) = index.get(s) {
                return i;
            }
            let i = symbols.len() as u32;
            symbols.push(String::from(s));
            index.insert(String::from(s), i);
            i
        }
        let mut symbols: Vec<&str> = Vec::new();
        let mut owned: Vec<String> = Vec::new();
        let mut index = alloc::collections::BTreeMap::new();
        let mut groups = Vec::new();
        for (name, relocs) in &self.relocation_groups {
            let gi = intern(name, &mut owned, &mut index);
            let rs: Vec<(u64, i64, u32, u32)> = relocs
                .iter()
                .map(|(o, a, t, s)| (*o, *a, *t, intern(s, &mut owned, &mut index)))
                .collect();
            groups.push((gi, rs));
        }
        symbols.extend(owned.iter().map(String::as_str));
        w.u32(symbols.len() as u32);
        let mut off = 0u32;
        for s in &symbols {
            w.u32(off);
            off += 2 + s.len() as u32 + 1;
            off = (off + 1) & !1;
        }
        w.u32(off);
        for s in &symbols {
            w.string(s);
            w.align(2);
        }
        w.u32(groups.len() as u32);
        for (gi, rs) in &groups {
            w.align(4);
            w.u32(*gi);
            w.u32(rs.len() as u32);
            for (o, a, t, s) in rs {
                w.align(4);
                w.u64(*o);
                w.u64(*a as u64);
                w.u32(*t);
                w.u32(*s);
            }
        }
    }
}
