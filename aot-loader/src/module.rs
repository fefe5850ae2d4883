//! The parsed form of a WAMR AOT (version 6) file: [`AotModule`] and the records it holds.
//!
//! Everything here was validated by [`crate::parse`]: counts match, every index is in range,
//! every [`Span`] lies inside the file. Large byte ranges (machine code, data segments,
//! object data sections) are kept as [`Span`]s into the file buffer rather than copied, so the
//! firmware, which already holds the file in secure memory, does not pay for them twice;
//! [`AotFile`] bundles the buffer and the module for callers that want one owner.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::cursor::Span;
use crate::fallible::{self, OutOfMemory};
use crate::Arch;

/// TARGET_INFO feature flag bits (`aot_runtime.h`, `WASM_FEATURE_*`).
pub mod feature {
    /// 128-bit SIMD.
    pub const SIMD_128BIT: u64 = 1 << 0;
    /// Bulk memory operations.
    pub const BULK_MEMORY: u64 = 1 << 1;
    /// Threads (shared memory, atomics wait/notify).
    pub const MULTI_THREAD: u64 = 1 << 2;
    /// Reference types.
    pub const REF_TYPES: u64 = 1 << 3;
    /// Garbage collection.
    pub const GARBAGE_COLLECTION: u64 = 1 << 4;
    /// Exception handling.
    pub const EXCEPTION_HANDLING: u64 = 1 << 5;
    /// Tiny stack frames (frame feature).
    pub const TINY_STACK_FRAME: u64 = 1 << 6;
    /// Multiple memories.
    pub const MULTI_MEMORY: u64 = 1 << 7;
    /// Dynamic linking.
    pub const DYNAMIC_LINKING: u64 = 1 << 8;
    /// Component model.
    pub const COMPONENT_MODEL: u64 = 1 << 9;
    /// Relaxed SIMD.
    pub const RELAXED_SIMD: u64 = 1 << 10;
    /// Flexible vectors.
    pub const FLEXIBLE_VECTORS: u64 = 1 << 11;
    /// Call-stack frames created once per function.
    pub const FRAME_PER_FUNCTION: u64 = 1 << 12;
    /// Call-stack frames without function index.
    pub const FRAME_NO_FUNC_IDX: u64 = 1 << 13;
}

/// TARGET_INFO `e_type` for a relocatable file (the default).
pub const E_TYPE_REL: u16 = 1;
/// TARGET_INFO `e_type` for an execute-in-place file (`wamrc --xip`).
pub const E_TYPE_XIP: u16 = 4;

/// Section 0: what the file was compiled for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// 2 = ELF64 little endian (the only value accepted).
    pub bin_type: u16,
    /// Always 0 from wamrc.
    pub abi_type: u16,
    /// [`E_TYPE_REL`] or [`E_TYPE_XIP`].
    pub e_type: u16,
    /// ELF machine: 183 aarch64, 62 x86_64.
    pub e_machine: u16,
    /// Always 1.
    pub e_version: u32,
    /// ELF flags (0 on aarch64 and x86_64).
    pub e_flags: u32,
    /// Features the module uses, see [`feature`].
    pub feature_flags: u64,
    /// The processor.
    pub arch: Arch,
    /// The arch string as written, e.g. "aarch64v8" or "x86_64".
    pub arch_name: String,
}

impl TargetInfo {
    /// True for `wamrc --xip` (indirect mode) files.
    pub fn is_xip(&self) -> bool {
        self.e_type == E_TYPE_XIP
    }
}

/// A WebAssembly value type as stored in AOT files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValType {
    /// i32 (0x7f)
    I32,
    /// i64 (0x7e)
    I64,
    /// f32 (0x7d)
    F32,
    /// f64 (0x7c)
    F64,
    /// v128 (0x7b)
    V128,
    /// funcref (0x70)
    FuncRef,
    /// externref (0x6f)
    ExternRef,
}

impl ValType {
    /// Decodes the wasm type byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0x7f => ValType::I32,
            0x7e => ValType::I64,
            0x7d => ValType::F32,
            0x7c => ValType::F64,
            0x7b => ValType::V128,
            0x70 => ValType::FuncRef,
            0x6f => ValType::ExternRef,
            _ => return None,
        })
    }

    /// Size in bytes in WAMR's packed global data (and of a value of this type).
    pub fn size(self) -> u32 {
        match self {
            ValType::I32 | ValType::F32 | ValType::FuncRef | ValType::ExternRef => 4,
            ValType::I64 | ValType::F64 => 8,
            ValType::V128 => 16,
        }
    }

    /// Number of 32-bit cells (WAMR's argument cell convention, non-GC build).
    pub fn cells(self) -> u32 {
        self.size() / 4
    }
}

/// A function type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl FuncType {
    /// Total 32-bit cells of the parameters.
    pub fn param_cells(&self) -> u32 {
        self.params.iter().map(|t| t.cells()).sum()
    }
    /// Total 32-bit cells of the results.
    pub fn result_cells(&self) -> u32 {
        self.results.iter().map(|t| t.cells()).sum()
    }
}

/// Memory limits flags.
pub mod mem_flags {
    /// The memory has a maximum.
    pub const HAS_MAX: u32 = 1;
    /// Shared memory (threads).
    pub const SHARED: u32 = 2;
    /// 64-bit memory.
    pub const MEMORY64: u32 = 4;
}

/// A linear memory. wamrc may fold a memory without `memory.grow` into one page of
/// `num_bytes_per_page = init_pages * 64 KiB`; the values must be used as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryType {
    /// See [`mem_flags`].
    pub flags: u32,
    /// Page size in bytes (not always 65536).
    pub num_bytes_per_page: u32,
    /// Initial pages.
    pub init_page_count: u32,
    /// Maximum pages (65536 if the module gives none).
    pub max_page_count: u32,
}

impl MemoryType {
    /// Initial size in bytes.
    pub fn init_bytes(&self) -> u64 {
        u64::from(self.num_bytes_per_page) * u64::from(self.init_page_count)
    }
    /// Maximum size in bytes.
    pub fn max_bytes(&self) -> u64 {
        u64::from(self.num_bytes_per_page) * u64::from(self.max_page_count)
    }
}

/// Binary operators of extended constant expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// i32.add (0x6a)
    I32Add,
    /// i32.sub (0x6b)
    I32Sub,
    /// i32.mul (0x6c)
    I32Mul,
    /// i64.add (0x7c)
    I64Add,
    /// i64.sub (0x7d)
    I64Sub,
    /// i64.mul (0x7e)
    I64Mul,
}

/// A constant expression (global initialiser, segment offset, element value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitExpr {
    /// No initialiser (opcode 0).
    None,
    /// i32.const
    I32(i32),
    /// i64.const
    I64(i64),
    /// f32.const, raw bits
    F32(u32),
    /// f64.const, raw bits
    F64(u64),
    /// v128.const, little-endian bytes
    V128([u8; 16]),
    /// global.get of a global index (imports first)
    GlobalGet(u32),
    /// ref.null of a heap type
    RefNull(u32),
    /// ref.func of a function index (imports first)
    RefFunc(u32),
    /// Extended constant expression.
    Binary(BinOp, Box<InitExpr>, Box<InitExpr>),
}

/// A data segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSegment {
    /// Passive segments are only used by `memory.init`.
    pub is_passive: bool,
    /// The memory an active segment initialises.
    pub memory_index: u32,
    /// Offset of an active segment.
    pub offset: InitExpr,
    /// The bytes, in the file.
    pub bytes: Span,
}

/// A table's type. Defined and imported tables have the same record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableType {
    /// 0x70 funcref or 0x6f externref.
    pub elem_type: u8,
    /// bit0 has max, bit1 shared, bit2 table64.
    pub flags: u8,
    /// wamrc found `table.grow` for this table: the instance holds `max_size` slots.
    pub possible_grow: bool,
    /// Initial size.
    pub init_size: u32,
    /// Maximum size.
    pub max_size: u32,
}

impl TableType {
    /// Element slots WAMR reserves in the instance for this table
    /// (`compilation/aot.h`: max if it may grow, else initial).
    pub fn slot_count(&self) -> u32 {
        if self.possible_grow {
            self.max_size
        } else {
            self.init_size
        }
    }
}

/// Element segment mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemMode {
    /// Written into a table at instantiation.
    Active,
    /// Only used by `table.init`.
    Passive,
    /// Only declares functions for `ref.func`.
    Declarative,
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElemSegment {
    /// Mode, decoded from `raw_mode`.
    pub mode: ElemMode,
    /// The segment flags of the wasm binary (0..=7) as wamrc writes them.
    pub raw_mode: u32,
    /// Element type as written (0x70 funcref; 0x64 from GC-aware wamrc; not checked).
    pub elem_type: u32,
    /// Table of an active segment.
    pub table_index: u32,
    /// Offset of an active segment.
    pub offset: InitExpr,
    /// The values, each `ref.func`, `ref.null` or `global.get`.
    pub values: Vec<InitExpr>,
}

/// An imported global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportGlobal {
    /// Type.
    pub val_type: ValType,
    /// Mutability.
    pub mutable: bool,
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
}

/// A defined global.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// Type.
    pub val_type: ValType,
    /// Mutability.
    pub mutable: bool,
    /// Initial value.
    pub init: InitExpr,
}

/// An imported function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportFunc {
    /// Index into [`AotModule::types`].
    pub type_index: u32,
    /// Module name, e.g. "wasi_snapshot_preview1".
    pub module: String,
    /// Field name, e.g. "fd_write".
    pub name: String,
}

/// C shadow-stack and heap facts wamrc detected (`None` index = not detected).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuxInfo {
    /// Global holding `__data_end`.
    pub data_end_global: Option<u32>,
    /// Value of `__data_end`.
    pub data_end: u64,
    /// Global holding `__heap_base`.
    pub heap_base_global: Option<u32>,
    /// Value of `__heap_base`.
    pub heap_base: u64,
    /// Global holding `__stack_pointer`.
    pub stack_top_global: Option<u32>,
    /// Lowest address of the aux stack.
    pub stack_bottom: u64,
    /// Size of the aux stack.
    pub stack_size: u32,
}

/// An ELF data section LLVM produced (`.rodata`, `.rodata.cst16`, `.aot_stack_sizes`, ...),
/// which the text is relocated against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDataSection {
    /// Section name.
    pub name: String,
    /// The bytes, in the file.
    pub bytes: Span,
}

/// A function defined by the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    /// Offset of `aot_func#i` from the start of the code.
    pub text_offset: u32,
    /// Index into [`AotModule::types`] (canonicalised by wamrc).
    pub type_index: u32,
    /// Params + locals in 4-byte cells (frame features only).
    pub max_local_cells: u32,
    /// Operand stack cells (frame features only).
    pub max_stack_cells: u32,
}

/// What an export refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// Function (index counts imports first).
    Func,
    /// Table.
    Table,
    /// Memory.
    Memory,
    /// Global (index counts imports first).
    Global,
}

/// An export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ExportKind,
    /// Index in the kind's index space.
    pub index: u32,
}

/// What a relocation symbol stands for, decided at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Symbol {
    /// `aot_func#N`: defined function N (not counting imports).
    AotFunc(u32),
    /// `.text` / `.ltext`: the start of the code.
    Text,
    /// `.literal`: the literal pool (xtensa only; never valid here).
    Literal,
    /// An object data section, by index into [`AotModule::data_sections`].
    DataSection(u32),
    /// Anything else: a runtime function (`aot_set_exception_with_id`, `memmove`, ...) that
    /// the runtime must provide. The name is a UTF-8 [`Span`] of the file (see
    /// [`AotModule::symbol_name`]), not a copy: a symbol costs 12 bytes of memory.
    Runtime(Span),
    /// Only used as a relocation group name, never by a relocation.
    Unreferenced,
}

/// The section a relocation group patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    /// `.rela.text` / `.rela.ltext`: the code.
    Text,
    /// `.rela.<name>`: an object data section, by index.
    DataSection(u32),
}

/// One relocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Offset in the target section (checked: the patched bytes lie inside it).
    pub offset: u32,
    /// Explicit addend.
    pub addend: i64,
    /// ELF relocation type of the file's processor (checked: supported).
    pub r_type: u32,
    /// Index into [`AotModule::symbols`].
    pub symbol: u32,
}

/// A group of relocations against one section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelocationGroup {
    /// Group name as written, e.g. ".rela.text": a UTF-8 span of the file.
    pub name: Span,
    /// What it patches.
    pub target: RelocTarget,
    /// The relocations.
    pub relocations: Vec<Relocation>,
}

/// An entry of the XIP native-symbol table (`exec_env->native_symbol`), in table order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NativeSymbol {
    /// Unused slot (`""` or `__ignore`).
    Empty,
    /// Raw constant bits stored in the slot (`f32#`, `i32#`, `f64#`, `i64#`).
    Const(u64),
    /// A runtime function address.
    Runtime(String),
}

/// A raw custom section kept by `--emit-custom-sections`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomSection {
    /// Its name.
    pub name: String,
    /// Its contents, in the file.
    pub bytes: Span,
}

/// A parsed, validated AOT file. Indexes and [`Span`]s refer to the buffer it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AotModule {
    /// Section 0.
    pub target: TargetInfo,
    /// Memories (exactly one; see the docs for why).
    pub memories: Vec<MemoryType>,
    /// Data segments.
    pub data_segments: Vec<DataSegment>,
    /// Imported tables (they precede defined tables in the index space).
    pub import_tables: Vec<TableType>,
    /// Defined tables.
    pub tables: Vec<TableType>,
    /// Element segments.
    pub elem_segments: Vec<ElemSegment>,
    /// Function types.
    pub types: Vec<FuncType>,
    /// Imported globals (they precede defined globals).
    pub import_globals: Vec<ImportGlobal>,
    /// Defined globals.
    pub globals: Vec<Global>,
    /// Imported functions (they precede defined functions).
    pub import_funcs: Vec<ImportFunc>,
    /// Start function, index counting imports first.
    pub start_function: Option<u32>,
    /// Aux stack/heap facts.
    pub aux: AuxInfo,
    /// Object data sections.
    pub data_sections: Vec<ObjectDataSection>,
    /// The literal pool (always empty for aarch64 and x86_64).
    pub literal: Span,
    /// The machine code.
    pub code: Span,
    /// Defined functions.
    pub functions: Vec<Function>,
    /// Exports.
    pub exports: Vec<Export>,
    /// Relocation symbols, by symbol-table index.
    pub symbols: Vec<Symbol>,
    /// Relocation symbol names, parallel to `symbols`: UTF-8 spans of the file (checked by
    /// the parser), read with [`AotModule::symbol_name`].
    pub symbol_names: Vec<Span>,
    /// Relocation groups.
    pub relocation_groups: Vec<RelocationGroup>,
    /// XIP native-symbol table (empty unless `--xip`).
    pub native_symbols: Vec<NativeSymbol>,
    /// Function names from the custom name section: (function index, name), ascending.
    pub func_names: Vec<(u32, String)>,
    /// Raw custom sections.
    pub custom_sections: Vec<CustomSection>,
}

impl AotModule {
    /// Total functions, imports included.
    pub fn total_funcs(&self) -> u32 {
        // Parsing checked that the sum fits; saturate rather than wrap regardless.
        sum_u32(self.import_funcs.len(), self.functions.len())
    }

    /// Total globals, imports included.
    pub fn total_globals(&self) -> u32 {
        sum_u32(self.import_globals.len(), self.globals.len())
    }

    /// Total tables, imports included.
    pub fn total_tables(&self) -> u32 {
        sum_u32(self.import_tables.len(), self.tables.len())
    }

    /// Type of function `index` (imports first).
    pub fn func_type(&self, index: u32) -> Option<&FuncType> {
        let i = usize::try_from(index).ok()?;
        let ty = match i.checked_sub(self.import_funcs.len()) {
            None => self.import_funcs.get(i)?.type_index,
            Some(d) => self.functions.get(d)?.type_index,
        };
        self.types.get(usize::try_from(ty).ok()?)
    }

    /// Type of global `index` (imports first).
    pub fn global_type(&self, index: u32) -> Option<(ValType, bool)> {
        let i = usize::try_from(index).ok()?;
        match i.checked_sub(self.import_globals.len()) {
            None => self.import_globals.get(i).map(|g| (g.val_type, g.mutable)),
            Some(d) => self.globals.get(d).map(|g| (g.val_type, g.mutable)),
        }
    }

    /// Byte offset of each global (imports first) in WAMR's packed global data, and the total
    /// size: no padding, 4/8/16 bytes per type (`compilation/aot.c`).
    pub fn global_layout(&self) -> Result<(Vec<u32>, u32), OutOfMemory> {
        let mut offsets = fallible::vec_with_capacity(
            self.import_globals.len().saturating_add(self.globals.len()),
        )?;
        let mut off = 0u32;
        let types = self
            .import_globals
            .iter()
            .map(|g| g.val_type)
            .chain(self.globals.iter().map(|g| g.val_type));
        for t in types {
            fallible::push(&mut offsets, off)?;
            // At most 2^32 globals * 16 bytes would overflow, but parsing bounded the count by
            // the file size, so this saturates only for impossible inputs.
            off = off.saturating_add(t.size());
        }
        Ok((offsets, off))
    }

    /// The export named `name`.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// Index into `data_sections` of the first section named `name` (WAMR uses the first).
    pub fn data_section_index(&self, name: &str) -> Option<u32> {
        self.data_sections
            .iter()
            .position(|d| d.name == name)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The name of relocation symbol `index`, read from `file` (the buffer the module was
    /// parsed from); `""` for an index or buffer that does not match.
    pub fn symbol_name<'f>(&self, file: &'f [u8], index: u32) -> &'f str {
        self.symbol_names
            .get(usize::try_from(index).unwrap_or(usize::MAX))
            .map_or("", |s| span_str(file, *s))
    }

    /// Names of the runtime functions the code refers to, each once, in symbol-table order.
    pub fn runtime_symbols<'f>(&self, file: &'f [u8]) -> Result<Vec<&'f str>, OutOfMemory> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.symbols {
            if let Symbol::Runtime(span) = s {
                let name = span_str(file, *span);
                if !out.contains(&name) {
                    fallible::push(&mut out, name)?;
                }
            }
        }
        Ok(out)
    }
}

/// The UTF-8 text of `span` in `file` (`""` if the span is not valid UTF-8 inside `file`,
/// which cannot happen for spans the parser checked against the same buffer).
pub fn span_str(file: &[u8], span: Span) -> &str {
    span.get(file)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("")
}

fn sum_u32(a: usize, b: usize) -> u32 {
    u32::try_from(a.saturating_add(b)).unwrap_or(u32::MAX)
}

/// A file buffer and the module parsed from it, owned together.
#[derive(Clone, Debug)]
pub struct AotFile {
    bytes: Box<[u8]>,
    module: AotModule,
}

impl AotFile {
    /// Parses `bytes` for `arch` and keeps both.
    pub fn parse(bytes: Box<[u8]>, arch: Arch) -> Result<Self, crate::LoadError> {
        let module = crate::parse::parse(&bytes, arch)?;
        Ok(AotFile { bytes, module })
    }

    /// The parsed module.
    pub fn module(&self) -> &AotModule {
        &self.module
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes of a span of this file (empty if the span is not inside it, which cannot
    /// happen for spans from [`Self::module`]).
    pub fn span(&self, span: Span) -> &[u8] {
        span.get(&self.bytes).unwrap_or(&[])
    }

    /// The machine code.
    pub fn code(&self) -> &[u8] {
        self.span(self.module.code)
    }
}
