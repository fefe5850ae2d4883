//! The AOT version 6 parser: file bytes in, validated [`AotModule`] out.
//!
//! The reader of record is WAMR 2.4.3's `aot_loader.c`; the layout facts are in
//! `WAMR-AOT-ABI.md` section 6. Every count is checked against the bytes left before anything
//! is allocated for it, every index is checked against the table it indexes (some only after
//! the whole file is read, in [`validate`]), and every failure is a [`LoadError`] naming the
//! section and file offset. Nothing here panics on any input.

use alloc::string::String;
use alloc::vec::Vec;

use crate::cursor::{clamp_u32, Cursor, Span};
use crate::error::{LoadError, SectionKind};
use crate::fallible::{self, OutOfMemory};
use crate::module::*;
use crate::reloc;
use crate::Arch;

/// `"\0aot"` read as a little-endian u32.
pub const AOT_MAGIC: u32 = 0x746f_6100;
/// The only AOT format version accepted (WAMR 2.4.x).
pub const AOT_VERSION: u32 = 6;
/// Section ids.
pub mod section_id {
    /// TARGET_INFO
    pub const TARGET_INFO: u32 = 0;
    /// INIT_DATA
    pub const INIT_DATA: u32 = 1;
    /// TEXT
    pub const TEXT: u32 = 2;
    /// FUNCTION
    pub const FUNCTION: u32 = 3;
    /// EXPORT
    pub const EXPORT: u32 = 4;
    /// RELOCATION
    pub const RELOCATION: u32 = 5;
    /// CUSTOM
    pub const CUSTOM: u32 = 100;
}
/// CUSTOM section sub-types.
pub mod custom_id {
    /// Raw custom section (`--emit-custom-sections=<name>`).
    pub const RAW: u32 = 0;
    /// XIP native-symbol table.
    pub const NATIVE_SYMBOL: u32 = 1;
    /// The `name` section (`--emit-custom-sections=name`).
    pub const NAME: u32 = 3;
}
/// Size of the TARGET_INFO body.
pub const TARGET_INFO_SIZE: usize = 48;
/// Largest linear memory or aux address in bytes (`MAX_LINEAR_MEMORY_SIZE`).
pub const MAX_LINEAR_MEMORY: u64 = 4 << 30;
/// Deepest nesting of extended constant expressions accepted.
pub const MAX_EXPR_DEPTH: u32 = 32;

const NONE_INDEX: u32 = u32::MAX;

/// Parses and validates a whole AOT file compiled for `arch`.
pub fn parse(file: &[u8], arch: Arch) -> Result<AotModule, LoadError> {
    if u32::try_from(file.len()).is_err() {
        return Err(LoadError::FileTooLarge {
            size: file.len() as u64,
        });
    }
    let mut hdr = Cursor::new(file, 0, file.len(), SectionKind::Header)?;
    let magic = hdr.u32()?;
    if magic != AOT_MAGIC {
        return Err(LoadError::BadMagic { found: magic });
    }
    let version = hdr.u32()?;
    if version != AOT_VERSION {
        return Err(LoadError::UnsupportedVersion { version });
    }

    let mut p = Parser {
        file,
        arch,
        m: AotModule {
            target: TargetInfo {
                bin_type: 0,
                abi_type: 0,
                e_type: 0,
                e_machine: 0,
                e_version: 0,
                e_flags: 0,
                feature_flags: 0,
                arch,
                arch_name: String::new(),
            },
            memories: Vec::new(),
            data_segments: Vec::new(),
            import_tables: Vec::new(),
            tables: Vec::new(),
            elem_segments: Vec::new(),
            types: Vec::new(),
            import_globals: Vec::new(),
            globals: Vec::new(),
            import_funcs: Vec::new(),
            start_function: None,
            aux: AuxInfo::default(),
            data_sections: Vec::new(),
            literal: Span::default(),
            code: Span::default(),
            functions: Vec::new(),
            exports: Vec::new(),
            symbols: Vec::new(),
            symbol_names: Vec::new(),
            relocation_groups: Vec::new(),
            native_symbols: Vec::new(),
            func_names: Vec::new(),
            custom_sections: Vec::new(),
        },
        func_count: 0,
        seen_native_symbols: false,
        name_sections: Vec::new(),
        data_by_name: Vec::new(),
    };

    let mut next_required = section_id::TARGET_INFO;
    while !hdr.is_empty() {
        let raw = next_section(&mut hdr)?;
        let order_error = LoadError::SectionOrder {
            found: raw.kind,
            offset: raw.header_offset,
        };
        if raw.id == section_id::CUSTOM {
            // CUSTOM sections may follow TARGET_INFO anywhere (WAMR 2.4.3 itself only
            // accepts them after RELOCATION, which is where wamrc puts them).
            if next_required == section_id::TARGET_INFO {
                return Err(order_error);
            }
        } else if raw.id != next_required {
            return Err(order_error);
        } else {
            next_required += 1;
        }
        let start = raw.body.offset as usize;
        let end = usize::try_from(raw.body.end()).unwrap_or(usize::MAX);
        let c = Cursor::new(file, start, end, raw.kind)?;
        p.section(raw.id, c)?;
    }
    if next_required <= section_id::RELOCATION {
        let missing = SectionKind::from_id(next_required).unwrap_or(SectionKind::Relocation);
        return Err(LoadError::MissingSection { missing });
    }
    // Names need the function count, so they are read last (best effort, as WAMR does).
    for span in core::mem::take(&mut p.name_sections) {
        if let Some(names) = parse_name_section(file, span, p.m.total_funcs())? {
            p.m.func_names = names;
        }
    }
    validate(&p.m)?;
    Ok(p.m)
}

/// A section as found in the file, before its body is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSection {
    /// Section id.
    pub id: u32,
    /// What it is.
    pub kind: SectionKind,
    /// Absolute file offset of the section header.
    pub header_offset: u32,
    /// The body.
    pub body: Span,
}

/// Reads one section header (aligned to 4, as every u32) and takes its body.
fn next_section(hdr: &mut Cursor<'_>) -> Result<RawSection, LoadError> {
    let header_offset = hdr.pos_u32();
    let id = hdr.u32()?;
    let size = hdr.u32()?;
    let kind = SectionKind::from_id(id).ok_or(LoadError::UnknownSection {
        id,
        offset: header_offset,
    })?;
    let body = hdr.span(size as usize).map_err(|_| LoadError::Truncated {
        section: kind,
        offset: hdr.pos_u32(),
    })?;
    Ok(RawSection {
        id,
        kind,
        header_offset,
        body,
    })
}

/// The file's section table (header checked, bodies not parsed), for tools and tests.
pub fn section_table(file: &[u8]) -> Result<Vec<RawSection>, LoadError> {
    let mut hdr = Cursor::new(file, 0, file.len(), SectionKind::Header)?;
    let magic = hdr.u32()?;
    if magic != AOT_MAGIC {
        return Err(LoadError::BadMagic { found: magic });
    }
    hdr.u32()?;
    let mut out = Vec::new();
    while !hdr.is_empty() {
        fallible::push(&mut out, next_section(&mut hdr)?)?;
    }
    Ok(out)
}

struct Parser<'a> {
    file: &'a [u8],
    arch: Arch,
    m: AotModule,
    /// func_count from INIT_DATA, checked against FUNCTION.
    func_count: u32,
    seen_native_symbols: bool,
    name_sections: Vec<Span>,
    /// Object data section indexes sorted by (name, index), for lookups by name in
    /// logarithmic time (a file may hold many sections and many relocations).
    data_by_name: Vec<u32>,
}

fn expect_end(c: &Cursor<'_>) -> Result<(), LoadError> {
    if c.is_empty() {
        Ok(())
    } else {
        Err(LoadError::SectionSizeMismatch {
            section: c.section(),
            offset: c.pos_u32(),
            left_over: clamp_u32(c.remaining()),
        })
    }
}

fn u32_len(c: &Cursor<'_>, n: usize) -> Result<u32, LoadError> {
    u32::try_from(n).map_err(|_| c.truncated())
}

impl Parser<'_> {
    /// Index of the first object data section named `name` (as WAMR picks it).
    fn data_section_index(&self, name: &str) -> Option<u32> {
        let name_of = |i: u32| {
            self.m
                .data_sections
                .get(i as usize)
                .map_or("", |d| d.name.as_str())
        };
        let k = self.data_by_name.partition_point(|&i| name_of(i) < name);
        self.data_by_name
            .get(k)
            .copied()
            .filter(|&i| name_of(i) == name)
    }

    fn section(&mut self, id: u32, mut c: Cursor<'_>) -> Result<(), LoadError> {
        match id {
            section_id::TARGET_INFO => self.target_info(&mut c)?,
            section_id::INIT_DATA => self.init_data(&mut c)?,
            section_id::TEXT => self.text(&mut c)?,
            section_id::FUNCTION => self.function(&mut c)?,
            section_id::EXPORT => self.export(&mut c)?,
            section_id::RELOCATION => self.relocation(&mut c)?,
            _ => return self.custom(&mut c),
        }
        expect_end(&c)
    }

    // ---- TARGET_INFO ------------------------------------------------------------------

    fn target_info(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let start = c.pos();
        let bin_type = c.u16()?;
        let abi_type = c.u16()?;
        let e_type_at = c.pos();
        let e_type = c.u16()?;
        let e_machine = c.u16()?;
        let e_version_at = c.pos();
        let e_version = c.u32()?;
        let e_flags = c.u32()?;
        let flags_at = c.pos();
        let feature_flags = c.u64()?;
        let _reserved = c.u64()?;
        let arch_at = c.pos();
        let raw = c.bytes(16)?;
        let _ = start; // TARGET_INFO_SIZE bytes were read from `start`.

        // The arch string: NUL-terminated within 16 bytes.
        let bad_arch = || LoadError::BadString {
            section: SectionKind::TargetInfo,
            offset: clamp_u32(arch_at),
        };
        if raw.last() != Some(&0) {
            return Err(bad_arch());
        }
        let len = raw.iter().position(|&b| b == 0).unwrap_or(0);
        let name = raw.get(..len).ok_or_else(bad_arch)?;
        let name = core::str::from_utf8(name).map_err(|_| bad_arch())?;

        // Which processor: say so even if the binary type is also wrong.
        let found: &'static str = match e_machine {
            183 => "aarch64",
            62 | 0x8664 => "x86_64",
            3 | 0x14c => "i386",
            40 => "arm (32-bit)",
            8 | 10 | 51 => "mips",
            94 => "xtensa",
            243 => "riscv",
            93 | 195 => "arc",
            _ => "an unknown processor",
        };
        if found != self.arch.name() {
            return Err(LoadError::WrongArch {
                found,
                expected: self.arch,
            });
        }
        let consistent = match self.arch {
            Arch::Aarch64 => name.starts_with("aarch64") || name == "arm64",
            Arch::X86_64 => name.starts_with("x86_64"),
        };
        if !consistent {
            return Err(c.malformed(arch_at, "arch string does not match e_machine", 0));
        }
        if bin_type != 2 {
            return Err(LoadError::WrongBinaryType { bin_type });
        }
        if e_type != E_TYPE_REL && e_type != E_TYPE_XIP {
            return Err(c.malformed(
                e_type_at,
                "object file type must be 1 (relocatable) or 4 (XIP)",
                u64::from(e_type),
            ));
        }
        if e_version != 1 {
            return Err(c.malformed(e_version_at, "ELF version must be 1", u64::from(e_version)));
        }
        check_features(c, flags_at, feature_flags)?;
        self.m.target = TargetInfo {
            bin_type,
            abi_type,
            e_type,
            e_machine,
            e_version,
            e_flags,
            feature_flags,
            arch: self.arch,
            arch_name: fallible::string(name)?,
        };
        Ok(())
    }

    // ---- INIT_DATA --------------------------------------------------------------------

    fn init_data(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        self.memory_info(c)?;
        self.table_info(c)?;
        self.type_info(c)?;
        self.import_globals(c)?;
        self.globals(c)?;
        self.import_funcs(c)?;

        let at = c.pos();
        self.func_count = c.u32()?;
        let imports = u32_len(c, self.m.import_funcs.len())?;
        let total = imports
            .checked_add(self.func_count)
            .ok_or_else(|| c.malformed(at, "function count overflows the index space", 0))?;
        let at = c.pos();
        let start = c.u32()?;
        if start != NONE_INDEX {
            if start >= total {
                return Err(c.index_error(at, "start function", start.into(), total.into()));
            }
            self.m.start_function = Some(start);
        }

        let aux_index = |c: &mut Cursor<'_>| -> Result<Option<u32>, LoadError> {
            let i = c.u32()?;
            Ok((i != NONE_INDEX).then_some(i))
        };
        let aux_value = |c: &mut Cursor<'_>| -> Result<u64, LoadError> {
            let at = c.pos();
            let v = c.u64()?;
            if v >= MAX_LINEAR_MEMORY {
                return Err(c.malformed(at, "aux data/heap/stack address beyond 4 GiB", v));
            }
            Ok(v)
        };
        self.m.aux.data_end_global = aux_index(c)?;
        self.m.aux.data_end = aux_value(c)?;
        self.m.aux.heap_base_global = aux_index(c)?;
        self.m.aux.heap_base = aux_value(c)?;
        self.m.aux.stack_top_global = aux_index(c)?;
        self.m.aux.stack_bottom = aux_value(c)?;
        self.m.aux.stack_size = c.u32()?;

        let n = c.count("object data section", 6)?;
        let mut sections = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            let name = c.string()?;
            let size = c.u32()?;
            let bytes = c.span(size as usize)?;
            sections.push(ObjectDataSection { name, bytes });
        }
        self.m.data_sections = sections;
        let mut by_name = fallible::vec_with_capacity(n as usize)?;
        by_name.extend(0..n);
        let m = &self.m;
        let name = |i: &u32| m.data_sections.get(*i as usize).map(|d| d.name.as_str());
        // By (name, index), so the first of equal names is WAMR's; unstable sorting needs
        // no working memory.
        crate::sort::sort_by(&mut by_name, |a, b| (name(a), *a).cmp(&(name(b), *b)));
        self.data_by_name = by_name;
        Ok(())
    }

    fn memory_info(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let at = c.pos();
        let import_count = c.u32()?;
        if import_count != 0 {
            return Err(c.malformed(
                at,
                "imported memory count must be 0 (wamrc lists imported memories as memories)",
                import_count.into(),
            ));
        }
        let at = c.pos();
        let n = c.count("memory", 16)?;
        if n == 0 {
            return Err(c.malformed(at, "memory count must be at least 1", 0));
        }
        if n > 1 {
            return Err(LoadError::UnsupportedFeature {
                feature: "multiple memories",
            });
        }
        for _ in 0..n {
            let at = c.pos();
            let flags = c.u32()?;
            if flags & mem_flags::SHARED != 0 {
                return Err(LoadError::UnsupportedFeature {
                    feature: "threads (shared memory)",
                });
            }
            if flags & mem_flags::MEMORY64 != 0 {
                return Err(LoadError::UnsupportedFeature {
                    feature: "64-bit memory (memory64)",
                });
            }
            if flags > mem_flags::HAS_MAX {
                return Err(c.malformed(at, "unknown memory flags", flags.into()));
            }
            let mem = MemoryType {
                flags,
                num_bytes_per_page: c.u32()?,
                init_page_count: c.u32()?,
                max_page_count: c.u32()?,
            };
            if mem.init_page_count > mem.max_page_count {
                return Err(c.malformed(
                    at,
                    "initial memory pages exceed the maximum",
                    mem.init_page_count.into(),
                ));
            }
            if mem.max_bytes() > MAX_LINEAR_MEMORY {
                return Err(c.malformed(at, "maximum memory size exceeds 4 GiB", mem.max_bytes()));
            }
            fallible::push(&mut self.m.memories, mem)?;
        }

        let n = c.count("data segment", 16)?;
        let mut segs = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            let at = c.pos();
            let is_passive = c.u32()?;
            if is_passive > 1 {
                return Err(c.malformed(
                    at,
                    "data segment is_passive must be 0 or 1",
                    is_passive.into(),
                ));
            }
            let memory_index = c.u32()?;
            let offset = init_expr(c, 0)?;
            let len = c.u32()?;
            let bytes = c.span(len as usize)?;
            segs.push(DataSegment {
                is_passive: is_passive == 1,
                memory_index,
                offset,
                bytes,
            });
        }
        self.m.data_segments = segs;
        Ok(())
    }

    fn table_type(c: &mut Cursor<'_>) -> Result<TableType, LoadError> {
        let at = c.pos();
        let elem_type = c.u8()?;
        if elem_type != 0x70 && elem_type != 0x6f {
            return Err(c.malformed(
                at,
                "table element type must be funcref or externref",
                elem_type.into(),
            ));
        }
        let flags_at = c.pos();
        let flags = c.u8()?;
        if flags & 2 != 0 {
            return Err(c.malformed(flags_at, "tables cannot be shared", flags.into()));
        }
        if flags & 4 != 0 {
            return Err(LoadError::UnsupportedFeature {
                feature: "64-bit tables (memory64)",
            });
        }
        if flags > 1 {
            return Err(c.malformed(flags_at, "unknown table flags", flags.into()));
        }
        let grow_at = c.pos();
        let possible_grow = c.u8()?;
        if possible_grow > 1 {
            return Err(c.malformed(
                grow_at,
                "table possible_grow must be 0 or 1",
                possible_grow.into(),
            ));
        }
        c.skip(1)?;
        let init_size = c.u32()?;
        let max_size = c.u32()?;
        if init_size > max_size {
            return Err(c.malformed(
                at,
                "initial table size exceeds the maximum",
                init_size.into(),
            ));
        }
        Ok(TableType {
            elem_type,
            flags,
            possible_grow: possible_grow == 1,
            init_size,
            max_size,
        })
    }

    fn table_info(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = c.count("imported table", 12)?;
        let mut v = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            v.push(Self::table_type(c)?);
        }
        self.m.import_tables = v;
        let n = c.count("table", 12)?;
        let mut v = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            v.push(Self::table_type(c)?);
        }
        self.m.tables = v;
        if self.m.total_tables_checked().is_none() {
            return Err(c.malformed(c.pos(), "table count overflows the index space", 0));
        }

        let n = c.count("element segment", 28)?;
        let mut segs = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            let at = c.pos();
            // The wasm binary's segment flags 0..=7: bit 0 clear = active; bits 0 and 1 set =
            // declarative; otherwise passive (`wasm_elem_is_*` in WAMR).
            let raw_mode = c.u32()?;
            if raw_mode > 7 {
                return Err(c.malformed(
                    at,
                    "element segment flags must be 0..=7",
                    raw_mode.into(),
                ));
            }
            let mode = if raw_mode & 1 == 0 {
                ElemMode::Active
            } else if raw_mode & 3 == 3 {
                ElemMode::Declarative
            } else {
                ElemMode::Passive
            };
            let elem_type = c.u32()?;
            let table_index = c.u32()?;
            let offset = init_expr(c, 0)?;
            // Reference type placeholder: u16 ref_type, u16 nullable, u32 heap_type.
            c.skip(8)?;
            let count = c.count("element", 4)?;
            let mut values = fallible::vec_with_capacity(count as usize)?;
            for _ in 0..count {
                values.push(init_expr(c, 0)?);
            }
            segs.push(ElemSegment {
                mode,
                raw_mode,
                elem_type,
                table_index,
                offset,
                values,
            });
        }
        self.m.elem_segments = segs;
        Ok(())
    }

    fn type_info(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = c.count("function type", 6)?;
        let mut types = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            c.align(4)?;
            let at = c.pos();
            let flag = c.u16()?;
            if flag != 0 {
                return Err(c.malformed(
                    at,
                    "type is not a function type (GC types are not supported)",
                    flag.into(),
                ));
            }
            let np = usize::from(c.u16()?);
            let nr = usize::from(c.u16()?);
            let bytes_at = c.pos();
            let bytes = c.bytes(np.saturating_add(nr))?;
            let mut params = fallible::vec_with_capacity(np)?;
            let mut results = fallible::vec_with_capacity(nr)?;
            for (i, &b) in bytes.iter().enumerate() {
                let t = ValType::from_byte(b).ok_or_else(|| {
                    c.malformed(bytes_at.saturating_add(i), "unknown value type", b.into())
                })?;
                if i < np {
                    params.push(t);
                } else {
                    results.push(t);
                }
            }
            let ty = FuncType { params, results };
            if ty.param_cells() > u32::from(u16::MAX) || ty.result_cells() > u32::from(u16::MAX) {
                return Err(c.malformed(at, "too many parameter or result cells", 0));
            }
            types.push(ty);
        }
        self.m.types = types;
        Ok(())
    }

    fn val_type(c: &mut Cursor<'_>) -> Result<(ValType, bool), LoadError> {
        let at = c.pos();
        let b = c.u8()?;
        let t =
            ValType::from_byte(b).ok_or_else(|| c.malformed(at, "unknown value type", b.into()))?;
        let at = c.pos();
        let m = c.u8()?;
        if m > 1 {
            return Err(c.malformed(at, "global mutability must be 0 or 1", m.into()));
        }
        Ok((t, m == 1))
    }

    fn import_globals(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = c.count("imported global", 6)?;
        let mut v = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            c.align(2)?;
            let (val_type, mutable) = Self::val_type(c)?;
            let module = c.string()?;
            let name = c.string()?;
            v.push(ImportGlobal {
                val_type,
                mutable,
                module,
                name,
            });
        }
        self.m.import_globals = v;
        Ok(())
    }

    fn globals(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = c.count("global", 6)?;
        let mut v = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            let (val_type, mutable) = Self::val_type(c)?;
            let init = init_expr(c, 0)?;
            v.push(Global {
                val_type,
                mutable,
                init,
            });
        }
        self.m.globals = v;
        if self.m.total_globals_checked().is_none() {
            return Err(c.malformed(c.pos(), "global count overflows the index space", 0));
        }
        Ok(())
    }

    fn import_funcs(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = c.count("imported function", 6)?;
        let mut v = fallible::vec_with_capacity(n as usize)?;
        let type_count = self.m.types.len() as u64;
        for _ in 0..n {
            let at = c.pos();
            let type_index = u32::from(c.u16()?);
            if u64::from(type_index) >= type_count {
                return Err(c.index_error(at, "function type", type_index.into(), type_count));
            }
            let module = c.string()?;
            let name = c.string()?;
            v.push(ImportFunc {
                type_index,
                module,
                name,
            });
        }
        self.m.import_funcs = v;
        Ok(())
    }

    // ---- TEXT -------------------------------------------------------------------------

    fn text(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        if self.func_count > 0 && c.is_empty() {
            return Err(c.truncated());
        }
        let at = c.pos();
        let literal_size = c.u32()?;
        if literal_size != 0 {
            return Err(c.malformed(
                at,
                "TEXT has a literal pool, which only xtensa files have",
                literal_size.into(),
            ));
        }
        self.m.literal = c.span(0)?;
        let rest = c.remaining();
        self.m.code = c.span(rest)?;
        Ok(())
    }

    // ---- FUNCTION ---------------------------------------------------------------------

    fn function(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = self.func_count;
        // 64-bit offset + type index + two cell counts per function.
        c.check_count(c.pos(), "function", n, 20)?;
        let n = n as usize;
        let code_len = u64::from(self.m.code.len);
        let mut funcs = fallible::vec_with_capacity(n)?;
        for _ in 0..n {
            let at = c.pos();
            let off = c.u64()?;
            if off >= code_len {
                return Err(c.index_error(at, "function code offset", off, code_len));
            }
            funcs.push(Function {
                // code_len < 2^32, so this fits.
                text_offset: off as u32,
                type_index: 0,
                max_local_cells: 0,
                max_stack_cells: 0,
            });
        }
        let type_count = self.m.types.len() as u64;
        for f in &mut funcs {
            let at = c.pos();
            f.type_index = c.u32()?;
            if u64::from(f.type_index) >= type_count {
                return Err(c.index_error(at, "function type", f.type_index.into(), type_count));
            }
        }
        for f in &mut funcs {
            f.max_local_cells = c.u32()?;
        }
        for f in &mut funcs {
            f.max_stack_cells = c.u32()?;
        }
        self.m.functions = funcs;
        Ok(())
    }

    // ---- EXPORT -----------------------------------------------------------------------

    fn export(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let n = c.count("export", 7)?;
        let mut v: Vec<Export> = fallible::vec_with_capacity(n as usize)?;
        let funcs = self.m.total_funcs_checked().unwrap_or(0);
        let tables = self.m.total_tables_checked().unwrap_or(0);
        let memories = self.m.memories.len() as u64;
        let globals = self.m.total_globals_checked().unwrap_or(0);
        for _ in 0..n {
            let at = c.pos();
            let index = c.u32()?;
            let kind_at = c.pos();
            let kind_byte = c.u8()?;
            let (kind, limit, what) = match kind_byte {
                0 => (ExportKind::Func, funcs, "exported function"),
                1 => (ExportKind::Table, tables, "exported table"),
                2 => (ExportKind::Memory, memories, "exported memory"),
                3 => (ExportKind::Global, globals, "exported global"),
                other => return Err(c.malformed(kind_at, "unknown export kind", other.into())),
            };
            if u64::from(index) >= limit {
                return Err(c.index_error(at, what, index.into(), limit));
            }
            let name = c.string()?;
            v.push(Export { name, kind, index });
        }
        let mut names: Vec<&str> = fallible::vec_with_capacity(v.len())?;
        names.extend(v.iter().map(|e| e.name.as_str()));
        crate::sort::sort(&mut names);
        if names.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(c.malformed(c.pos(), "duplicate export name", 0));
        }
        self.m.exports = v;
        Ok(())
    }

    // ---- RELOCATION -------------------------------------------------------------------

    fn relocation(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let symbol_count = c.count("relocation symbol", 4)?;
        // The offsets are read again below, from their place in the file, rather than copied.
        let offsets_at = c.pos();
        c.skip((symbol_count as usize).saturating_mul(4))?;
        let total_len = c.u32()? as usize;
        let area_start = c.pos();
        let area_end = area_start
            .checked_add(total_len)
            .filter(|&e| e <= c.end())
            .ok_or_else(|| c.truncated())?;
        // The symbol table: strings back to back, each padded to 2, offsets relative to the
        // area (which starts 4-aligned, so relative and absolute alignment agree). Names are
        // kept as spans of the file: 8 bytes per symbol, plus 12 for its `Symbol`.
        let mut offsets = Cursor::new(self.file, offsets_at, area_start, SectionKind::Relocation)?;
        let mut s = Cursor::new(self.file, area_start, area_end, SectionKind::Relocation)?;
        let mut names: Vec<Span> = fallible::vec_with_capacity(symbol_count as usize)?;
        for _ in 0..symbol_count {
            let at = offsets.pos();
            let off = offsets.u32()?;
            s.align(2)?;
            if off as usize != s.pos().saturating_sub(area_start) {
                return Err(c.malformed(
                    at,
                    "symbol table offset does not match the string layout",
                    off.into(),
                ));
            }
            fallible::push(&mut names, s.str_span()?)?;
        }
        if !s.is_empty() {
            s.align(2)?;
        }
        expect_end(&s)?;
        c.skip(total_len)?;

        let file = self.file;
        let mut symbols = fallible::vec_filled(names.len(), Symbol::Unreferenced)?;

        let n = c.count("relocation group", 8)?;
        let mut groups = fallible::vec_with_capacity(n as usize)?;
        for _ in 0..n {
            c.align(4)?;
            let at = c.pos();
            let name_index = c.u32()?;
            let name_span = *names.get(name_index as usize).ok_or_else(|| {
                c.index_error(
                    at,
                    "relocation group name symbol",
                    name_index.into(),
                    names.len() as u64,
                )
            })?;
            let name = span_str(file, name_span);
            let count = c.count("relocation", 24)?;
            let target = self.group_target(c, at, name, count)?;
            let target_len = match target {
                Some(RelocTarget::Text) => self.m.code.len,
                Some(RelocTarget::DataSection(i)) => self
                    .m
                    .data_sections
                    .get(i as usize)
                    .map_or(0, |d| d.bytes.len),
                None => 0,
            };
            let mut relocs = fallible::vec_with_capacity(count as usize)?;
            for _ in 0..count {
                c.align(4)?;
                let rel_at = c.pos();
                let offset = c.u64()?;
                let addend = c.u64()? as i64;
                let r_type = c.u32()?;
                let sym_at = c.pos();
                let symbol = c.u32()?;
                let sym_span = *names.get(symbol as usize).ok_or_else(|| {
                    c.index_error(
                        sym_at,
                        "relocation symbol",
                        symbol.into(),
                        names.len() as u64,
                    )
                })?;
                let width = reloc::patch_width(self.arch, r_type).ok_or(
                    LoadError::UnsupportedRelocation {
                        arch: self.arch,
                        r_type,
                    },
                )?;
                if offset
                    .checked_add(width as u64)
                    .is_none_or(|e| e > u64::from(target_len))
                {
                    return Err(c.index_error(
                        rel_at,
                        "relocation offset",
                        offset,
                        target_len.into(),
                    ));
                }
                let sym = self.classify_symbol(sym_span, target)?;
                if let Some(slot) = symbols.get_mut(symbol as usize) {
                    *slot = sym;
                }
                relocs.push(Relocation {
                    offset: offset as u32,
                    addend,
                    r_type,
                    symbol,
                });
            }
            if let Some(target) = target {
                groups.push(RelocationGroup {
                    name: name_span,
                    target,
                    relocations: relocs,
                });
            }
        }
        self.m.symbols = symbols;
        self.m.symbol_names = names;
        self.m.relocation_groups = groups;
        Ok(())
    }

    /// What a group patches; `None` for an empty group naming a section that is absent.
    fn group_target(
        &self,
        c: &Cursor<'_>,
        at: usize,
        name: &str,
        count: u32,
    ) -> Result<Option<RelocTarget>, LoadError> {
        match name {
            ".rela.text" | ".rel.text" | ".rela.ltext" | ".rel.ltext" => {
                Ok(Some(RelocTarget::Text))
            }
            ".rela.literal" => {
                if count == 0 {
                    Ok(None)
                } else {
                    Err(LoadError::bad_symbol(
                        name,
                        "relocations against a literal pool (xtensa only)",
                    ))
                }
            }
            _ => {
                let section = name
                    .strip_prefix(".rela")
                    .or_else(|| name.strip_prefix(".rel"))
                    .filter(|s| s.starts_with('.'));
                let Some(section) = section else {
                    return Err(c.malformed(
                        at,
                        "relocation group is not named .rela.<section>",
                        0,
                    ));
                };
                match self.data_section_index(section) {
                    Some(i) => Ok(Some(RelocTarget::DataSection(i))),
                    None if count == 0 => Ok(None),
                    None => Err(LoadError::bad_symbol(
                        name,
                        "relocation group for a data section the file does not contain",
                    )),
                }
            }
        }
    }

    fn classify_symbol(
        &self,
        span: Span,
        target: Option<RelocTarget>,
    ) -> Result<Symbol, LoadError> {
        let name = span_str(self.file, span);
        let bad = |reason| LoadError::bad_symbol(name, reason);
        if name == ".text" || name == ".ltext" {
            return Ok(Symbol::Text);
        }
        if matches!(target, Some(RelocTarget::DataSection(_))) {
            // WAMR only relocates data sections against the code (jump tables).
            return Err(bad("data sections may only be relocated against .text"));
        }
        if let Some(digits) = name.strip_prefix("aot_func#") {
            let index = parse_decimal(digits).ok_or_else(|| bad("malformed function number"))?;
            if index >= self.func_count {
                return Err(bad("function number out of range"));
            }
            return Ok(Symbol::AotFunc(index));
        }
        if name == ".literal" {
            return Err(bad("literal pools exist only in xtensa files"));
        }
        if is_data_section_symbol(name) {
            return self
                .data_section_index(name)
                .map(Symbol::DataSection)
                .ok_or_else(|| bad("refers to a data section the file does not contain"));
        }
        if name.is_empty() {
            return Err(bad("empty symbol name"));
        }
        Ok(Symbol::Runtime(span))
    }

    // ---- CUSTOM -----------------------------------------------------------------------

    fn custom(&mut self, c: &mut Cursor<'_>) -> Result<(), LoadError> {
        let sub = c.u32()?;
        match sub {
            custom_id::NATIVE_SYMBOL => {
                if self.seen_native_symbols {
                    return Err(c.malformed(c.pos(), "duplicate native symbol section", 0));
                }
                self.seen_native_symbols = true;
                let n = c.count("native symbol", 2)?;
                let mut v = fallible::vec_with_capacity(n as usize)?;
                for _ in 0..n {
                    let at = c.pos();
                    let s = c.str()?;
                    let sym = native_symbol(s)?.ok_or_else(|| {
                        c.malformed(at, "malformed constant in native symbol table", 0)
                    })?;
                    v.push(sym);
                }
                // wamrc inserts at the list head: the k-th string has index n-1-k.
                v.reverse();
                self.m.native_symbols = v;
                Ok(())
            }
            custom_id::NAME => {
                let rest = c.remaining();
                let span = c.span(rest)?;
                fallible::push(&mut self.name_sections, span)?;
                Ok(())
            }
            custom_id::RAW => {
                let name = c.string()?;
                let rest = c.remaining();
                let bytes = c.span(rest)?;
                fallible::push(&mut self.m.custom_sections, CustomSection { name, bytes })?;
                Ok(())
            }
            // Other sub-types (access control, stringref literals) are skipped, as in WAMR.
            _ => Ok(()),
        }
    }
}

impl AotModule {
    fn total_funcs_checked(&self) -> Option<u64> {
        let t = self.import_funcs.len() as u64 + self.functions.len() as u64;
        (t <= u64::from(u32::MAX)).then_some(t)
    }
    fn total_tables_checked(&self) -> Option<u64> {
        let t = self.import_tables.len() as u64 + self.tables.len() as u64;
        (t <= u64::from(u32::MAX)).then_some(t)
    }
    fn total_globals_checked(&self) -> Option<u64> {
        let t = self.import_globals.len() as u64 + self.globals.len() as u64;
        (t <= u64::from(u32::MAX)).then_some(t)
    }
}

fn check_features(c: &Cursor<'_>, at: usize, flags: u64) -> Result<(), LoadError> {
    let refuse = [
        (feature::MULTI_THREAD, "threads"),
        (feature::GARBAGE_COLLECTION, "garbage collection (GC)"),
        (feature::EXCEPTION_HANDLING, "exception handling"),
        (feature::MULTI_MEMORY, "multiple memories"),
        (feature::DYNAMIC_LINKING, "dynamic linking"),
        (feature::COMPONENT_MODEL, "the component model"),
        (feature::FLEXIBLE_VECTORS, "flexible vectors"),
    ];
    for (bit, feature) in refuse {
        if flags & bit != 0 {
            return Err(LoadError::UnsupportedFeature { feature });
        }
    }
    if flags >> 14 != 0 {
        return Err(c.malformed(
            at,
            "unknown feature flags (file from a newer wamrc?)",
            flags,
        ));
    }
    Ok(())
}

/// Names WAMR resolves to object data sections (`do_text_relocation`).
pub fn is_data_section_symbol(name: &str) -> bool {
    matches!(
        name,
        ".data" | ".sdata" | ".rdata" | ".rodata" | ".srodata" | ".aot_stack_sizes"
    ) || name.starts_with(".rodata.cst")
        || name.starts_with(".srodata.cst")
        || name.starts_with(".rodata.str")
}

fn parse_decimal(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_hex(s: &str, digits: usize) -> Option<u64> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

fn native_symbol(s: &str) -> Result<Option<NativeSymbol>, OutOfMemory> {
    if s.is_empty() || s.starts_with("__ignore") {
        return Ok(Some(NativeSymbol::Empty));
    }
    if let Some(h) = s.strip_prefix("f32#").or_else(|| s.strip_prefix("i32#")) {
        return Ok(parse_hex(h, 8).map(NativeSymbol::Const));
    }
    if let Some(h) = s.strip_prefix("f64#").or_else(|| s.strip_prefix("i64#")) {
        return Ok(parse_hex(h, 16).map(NativeSymbol::Const));
    }
    Ok(Some(NativeSymbol::Runtime(fallible::string(s)?)))
}

/// Reads an `init_expr`: align 4, u32 opcode, payload.
fn init_expr(c: &mut Cursor<'_>, depth: u32) -> Result<InitExpr, LoadError> {
    c.align(4)?;
    let at = c.pos();
    let op = c.u32()?;
    let bin = |op| -> Option<BinOp> {
        Some(match op {
            0x6a => BinOp::I32Add,
            0x6b => BinOp::I32Sub,
            0x6c => BinOp::I32Mul,
            0x7c => BinOp::I64Add,
            0x7d => BinOp::I64Sub,
            0x7e => BinOp::I64Mul,
            _ => return None,
        })
    };
    Ok(match op {
        0x00 => InitExpr::None,
        0x41 => InitExpr::I32(c.u32()? as i32),
        0x43 => InitExpr::F32(c.u32()?),
        0x42 => InitExpr::I64(c.u64()? as i64),
        0x44 => InitExpr::F64(c.u64()?),
        0xfd => {
            let mut v = [0u8; 16];
            for (d, s) in v.iter_mut().zip(c.bytes(16)?) {
                *d = *s;
            }
            InitExpr::V128(v)
        }
        0x23 => InitExpr::GlobalGet(c.u32()?),
        0xd0 => InitExpr::RefNull(c.u32()?),
        0xd2 => InitExpr::RefFunc(c.u32()?),
        _ => match bin(op) {
            Some(b) => {
                if depth >= MAX_EXPR_DEPTH {
                    return Err(c.malformed(
                        at,
                        "constant expression nested too deeply",
                        depth.into(),
                    ));
                }
                let l = init_expr(c, depth + 1)?;
                let r = init_expr(c, depth + 1)?;
                InitExpr::Binary(b, fallible::boxed(l)?, fallible::boxed(r)?)
            }
            None => {
                let reason = if (0xd3..=0xda).contains(&op) {
                    "GC constant expressions are not supported"
                } else {
                    "unknown constant expression opcode"
                };
                return Err(c.malformed(at, reason, op.into()));
            }
        },
    })
}

/// Best-effort read of the AOT name section; `None` if it is malformed (WAMR ignores it then).
/// Running out of memory is an error, not a malformed section.
fn parse_name_section(
    file: &[u8],
    span: Span,
    total_funcs: u32,
) -> Result<Option<Vec<(u32, String)>>, OutOfMemory> {
    match name_section(file, span, total_funcs) {
        Ok(v) => Ok(Some(v)),
        Err(LoadError::OutOfMemory) => Err(OutOfMemory),
        Err(_) => Ok(None),
    }
}

fn name_section(
    file: &[u8],
    span: Span,
    total_funcs: u32,
) -> Result<Vec<(u32, String)>, LoadError> {
    let start = span.offset as usize;
    let end = usize::try_from(span.end()).unwrap_or(usize::MAX);
    let mut c = Cursor::new(file, start, end, SectionKind::Custom)?;
    let malformed = LoadError::Malformed {
        section: SectionKind::Custom,
        offset: span.offset,
        reason: "malformed name section",
        value: 0,
    };
    if c.u32()? != 4 || c.bytes(4)? != b"name" {
        return Err(malformed);
    }
    let mut out = Vec::new();
    let mut prev_type = None;
    while !c.is_empty() {
        let ty = c.u32()?;
        if prev_type.is_some_and(|p| ty <= p) {
            return Err(malformed);
        }
        prev_type = Some(ty);
        let size = c.u32()? as usize;
        if c.remaining() < size {
            return Err(malformed);
        }
        if ty == 1 && size > 0 {
            let n = c.count("function name", 6)?;
            if n > total_funcs {
                return Err(malformed);
            }
            out.try_reserve_exact(n as usize)
                .map_err(|_| LoadError::OutOfMemory)?;
            let mut prev: Option<u32> = None;
            for _ in 0..n {
                let idx = c.u32()?;
                if idx >= total_funcs || prev.is_some_and(|p| idx <= p) {
                    return Err(malformed);
                }
                prev = Some(idx);
                let name = c.string()?;
                fallible::push(&mut out, (idx, name))?;
            }
        } else {
            c.skip(size)?;
        }
    }
    Ok(out)
}

// ---- cross-checks after the whole file is read --------------------------------------------

fn fail(what: &'static str, index: u64, limit: u64) -> LoadError {
    LoadError::IndexOutOfRange {
        section: SectionKind::InitData,
        offset: 0,
        what,
        index,
        limit,
    }
}

fn bad_expr(reason: &'static str) -> LoadError {
    LoadError::Malformed {
        section: SectionKind::InitData,
        offset: 0,
        reason,
        value: 0,
    }
}

/// Checks that `e` is a constant expression of type `want`, where only globals below
/// `global_limit` may be read.
fn check_expr(
    m: &AotModule,
    e: &InitExpr,
    want: ValType,
    global_limit: u32,
    depth: u32,
) -> Result<(), LoadError> {
    let funcs = m.total_funcs();
    let ok = match e {
        InitExpr::None => false,
        InitExpr::I32(_) => want == ValType::I32,
        InitExpr::I64(_) => want == ValType::I64,
        InitExpr::F32(_) => want == ValType::F32,
        InitExpr::F64(_) => want == ValType::F64,
        InitExpr::V128(_) => want == ValType::V128,
        InitExpr::GlobalGet(g) => {
            if *g >= global_limit {
                return Err(fail(
                    "global in constant expression",
                    (*g).into(),
                    global_limit.into(),
                ));
            }
            m.global_type(*g).map(|(t, _)| t) == Some(want)
        }
        InitExpr::RefNull(_) => matches!(want, ValType::FuncRef | ValType::ExternRef),
        InitExpr::RefFunc(f) => {
            if *f >= funcs {
                return Err(fail("function in ref.func", (*f).into(), funcs.into()));
            }
            want == ValType::FuncRef
        }
        InitExpr::Binary(op, l, r) => {
            if depth >= MAX_EXPR_DEPTH {
                return Err(bad_expr("constant expression nested too deeply"));
            }
            let t = match op {
                BinOp::I32Add | BinOp::I32Sub | BinOp::I32Mul => ValType::I32,
                _ => ValType::I64,
            };
            check_expr(m, l, t, global_limit, depth + 1)?;
            check_expr(m, r, t, global_limit, depth + 1)?;
            t == want
        }
    };
    if ok {
        Ok(())
    } else {
        Err(bad_expr("constant expression has the wrong type"))
    }
}

/// Cross-checks that need the whole file: expression types, segment targets, aux globals.
pub fn validate(m: &AotModule) -> Result<(), LoadError> {
    let globals = m.total_globals();
    let imports = m.import_globals.len() as u32;
    for (i, g) in m.globals.iter().enumerate() {
        // Imported globals and (with extended-const/GC) earlier defined ones may be read.
        check_expr(m, &g.init, g.val_type, imports.saturating_add(i as u32), 0)?;
    }
    let memories = m.memories.len() as u64;
    for d in &m.data_segments {
        if !d.is_passive {
            if u64::from(d.memory_index) >= memories {
                return Err(fail("data segment memory", d.memory_index.into(), memories));
            }
            check_expr(m, &d.offset, ValType::I32, globals, 0)?;
        }
    }
    let tables = m.total_tables();
    for e in &m.elem_segments {
        let elem_type = if e.mode == ElemMode::Active {
            if e.table_index >= tables {
                return Err(fail(
                    "element segment table",
                    e.table_index.into(),
                    tables.into(),
                ));
            }
            check_expr(m, &e.offset, ValType::I32, globals, 0)?;
            let t = m
                .import_tables
                .iter()
                .chain(m.tables.iter())
                .nth(e.table_index as usize)
                .map_or(0x70, |t| t.elem_type);
            if t == 0x6f {
                ValType::ExternRef
            } else {
                ValType::FuncRef
            }
        } else {
            ValType::FuncRef
        };
        for v in &e.values {
            check_expr(m, v, elem_type, globals, 0)?;
        }
    }
    if let Some(start) = m.start_function {
        let ty = m.func_type(start);
        if ty.is_none_or(|t| !t.params.is_empty() || !t.results.is_empty()) {
            return Err(LoadError::Malformed {
                section: SectionKind::InitData,
                offset: 0,
                reason: "start function must take and return nothing",
                value: start.into(),
            });
        }
    }
    for g in [
        m.aux.data_end_global,
        m.aux.heap_base_global,
        m.aux.stack_top_global,
    ]
    .into_iter()
    .flatten()
    {
        if g >= globals {
            return Err(fail("aux global", g.into(), globals.into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
