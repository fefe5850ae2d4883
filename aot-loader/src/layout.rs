//! The data structures generated code reads and writes, as `#[repr(C)]` mirrors of WAMR 2.4.3's
//! (`WAMR-AOT-ABI.md` 6.10), with compile-time assertions for every offset wamrc bakes into
//! the code, and the layout of a whole module instance block.
//!
//! All pointer-sized fields are `u64`: the layout is WAMR's LP64 one (aarch64 and x86_64 are
//! identical), and the runtime writes plain addresses it chose, so no raw pointers are needed.
//! Generated code can overwrite all of this; the runtime must treat it as a mirror it writes
//! but never believes.

use core::mem::{offset_of, size_of};

use crate::module::AotModule;

/// `WASMExecEnv`, the part generated code uses (slots 0..12). `exec_env` is the first
/// argument of every AOT function.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecEnv {
    /// Next thread's exec env (unused).
    pub next: u64,
    /// Current frame (frame features only).
    pub cur_frame: u64,
    /// The module instance (loaded first by every function).
    pub module_inst: u64,
    /// `u32 *argv_buf`, at least [`ARGV_BUF_CELLS`] cells: native call arguments, the
    /// out-pointer of `aot_check_app_addr_and_convert`, multi-value results.
    pub argv_buf: u64,
    /// Lowest usable native stack address (+ guard); stack checks trap below it.
    pub native_stack_boundary: u64,
    /// Suspend flags (u32 in a pointer-sized union; threads only).
    pub suspend_flags: u64,
    /// Aux (shadow) stack lower bound checked on `global.set __stack_pointer`; 0 if unused.
    pub aux_stack_boundary: u64,
    /// Aux stack upper bound; `u64::MAX` if unused.
    pub aux_stack_bottom: u64,
    /// `void **native_symbol` table (XIP files).
    pub native_symbol: u64,
    /// Lowest stack pointer seen (memory profiling only).
    pub native_stack_top_min: u64,
    /// `wasm_stack.top_boundary` (frame features only).
    pub wasm_stack_top_boundary: u64,
    /// `wasm_stack.top` (frame features only).
    pub wasm_stack_top: u64,
    /// `wasm_stack.bottom` (frame features only).
    pub wasm_stack_bottom: u64,
}

/// Minimum `argv_buf` size in 32-bit cells (`wasm_exec_env.c`).
pub const ARGV_BUF_CELLS: usize = 64;

const _: () = {
    assert!(offset_of!(ExecEnv, module_inst) == 0x10);
    assert!(offset_of!(ExecEnv, argv_buf) == 0x18);
    assert!(offset_of!(ExecEnv, native_stack_boundary) == 0x20);
    assert!(offset_of!(ExecEnv, suspend_flags) == 0x28);
    assert!(offset_of!(ExecEnv, aux_stack_boundary) == 0x30);
    assert!(offset_of!(ExecEnv, aux_stack_bottom) == 0x38);
    assert!(offset_of!(ExecEnv, native_symbol) == 0x40);
    assert!(offset_of!(ExecEnv, native_stack_top_min) == 0x48);
    assert!(offset_of!(ExecEnv, wasm_stack_top_boundary) == 0x50);
    assert!(offset_of!(ExecEnv, wasm_stack_top) == 0x58);
    assert!(size_of::<ExecEnv>() == 0x68);
};

/// Length of `cur_exception`.
pub const EXCEPTION_BUF_LEN: usize = 128;

/// `WASMModuleInstance` header (AOTModuleInstance), 0x158 bytes. Memory instances, global
/// data and tables follow it in the same block; see [`InstanceLayout`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleInstance {
    /// 1 = AoT.
    pub module_type: u32,
    /// Number of memory instances.
    pub memory_count: u32,
    /// `WASMMemoryInstance **memories` (shared memory only).
    pub memories: u64,
    /// Size of the global data.
    pub global_data_size: u32,
    /// Number of tables.
    pub table_count: u32,
    /// Address of the global data.
    pub global_data: u64,
    /// Address of the tables.
    pub tables: u64,
    /// `void **func_ptrs`: imports first, then defined functions.
    pub func_ptrs: u64,
    /// `u32 *func_type_indexes`, same length: `call_indirect` compares these.
    pub func_type_indexes: u64,
    /// Export counts (unused by code).
    pub export_func_count: u32,
    /// Export counts (unused by code).
    pub export_global_count: u32,
    /// Export counts (unused by code).
    pub export_memory_count: u32,
    /// Export counts (unused by code).
    pub export_table_count: u32,
    /// Export pointers (unused by code).
    pub export_functions: u64,
    /// Export pointers (unused by code).
    pub export_globals: u64,
    /// Export pointers (unused by code).
    pub export_memories: u64,
    /// Export pointers (unused by code).
    pub export_tables: u64,
    /// Exception message; code tests byte 0 after native calls (after every call in
    /// `--bounds-checks=1` files).
    pub cur_exception: [u8; EXCEPTION_BUF_LEN],
    /// `AOTModule *module`.
    pub module: u64,
    /// Exec env singleton.
    pub exec_env_singleton: u64,
    /// Not used by AOT.
    pub import_func_ptrs: u64,
    /// Not used by AOT.
    pub fast_jit_func_ptrs: u64,
    /// Embedder data.
    pub custom_data: u64,
    /// Frames (call stack dumps).
    pub frames: u64,
    /// Perf profiling.
    pub func_perf_profilings: u64,
    /// `--invoke-c-api-import` only.
    pub c_api_func_imports: u64,
    /// Current exec env.
    pub cur_exec_env: u64,
    /// `AOTModuleInstanceExtra *e` (XIP stack sizes, shared heap).
    pub e: u64,
    /// Default wasm operand stack size.
    pub default_wasm_stack_size: u32,
    /// Reserved.
    pub reserved: [u32; 7],
}

impl Default for ModuleInstance {
    fn default() -> Self {
        ModuleInstance {
            module_type: 1,
            memory_count: 0,
            memories: 0,
            global_data_size: 0,
            table_count: 0,
            global_data: 0,
            tables: 0,
            func_ptrs: 0,
            func_type_indexes: 0,
            export_func_count: 0,
            export_global_count: 0,
            export_memory_count: 0,
            export_table_count: 0,
            export_functions: 0,
            export_globals: 0,
            export_memories: 0,
            export_tables: 0,
            cur_exception: [0; EXCEPTION_BUF_LEN],
            module: 0,
            exec_env_singleton: 0,
            import_func_ptrs: 0,
            fast_jit_func_ptrs: 0,
            custom_data: 0,
            frames: 0,
            func_perf_profilings: 0,
            c_api_func_imports: 0,
            cur_exec_env: 0,
            e: 0,
            default_wasm_stack_size: 0,
            reserved: [0; 7],
        }
    }
}

/// Offset of the first memory instance (`global_table_data`).
pub const MEMORY_INSTANCES_OFFSET: usize = 0x158;

const _: () = {
    assert!(offset_of!(ModuleInstance, memories) == 0x08);
    assert!(offset_of!(ModuleInstance, global_data_size) == 0x10);
    assert!(offset_of!(ModuleInstance, global_data) == 0x18);
    assert!(offset_of!(ModuleInstance, tables) == 0x20);
    assert!(offset_of!(ModuleInstance, func_ptrs) == 0x28);
    assert!(offset_of!(ModuleInstance, func_type_indexes) == 0x30);
    assert!(offset_of!(ModuleInstance, export_functions) == 0x48);
    assert!(offset_of!(ModuleInstance, cur_exception) == 0x68);
    assert!(offset_of!(ModuleInstance, module) == 0xe8);
    assert!(offset_of!(ModuleInstance, c_api_func_imports) == 0x120);
    assert!(offset_of!(ModuleInstance, e) == 0x130);
    assert!(offset_of!(ModuleInstance, default_wasm_stack_size) == 0x138);
    assert!(size_of::<ModuleInstance>() == MEMORY_INSTANCES_OFFSET);
};

/// `WASMMemoryInstance`, 120 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryInstance {
    /// 1 = AoT.
    pub module_type: u32,
    /// Shared memory (never, here).
    pub is_shared_memory: u8,
    /// memory64 (never, here).
    pub is_memory64: u8,
    /// Reference count (shared memory only).
    pub ref_count: u16,
    /// Padding.
    pub paddings: [u8; 4],
    /// Page size in bytes, as the file says.
    pub num_bytes_per_page: u32,
    /// Current pages (code reads it for `memory.size` and `memory.grow`).
    pub cur_page_count: u32,
    /// Maximum pages.
    pub max_page_count: u32,
    /// Current size in bytes.
    pub memory_data_size: u64,
    /// Base address of linear memory.
    pub memory_data: u64,
    /// `memory_data + memory_data_size`.
    pub memory_data_end: u64,
    /// App heap (never inserted by tzwasm).
    pub heap_data: u64,
    /// App heap end.
    pub heap_data_end: u64,
    /// App heap handle.
    pub heap_handle: u64,
    /// Lock (shared memory only).
    pub memory_lock: u64,
    /// `memory_data_size - 1` (software bounds checks of 1-byte accesses).
    pub mem_bound_check_1byte: u64,
    /// `memory_data_size - 2`.
    pub mem_bound_check_2bytes: u64,
    /// `memory_data_size - 4`.
    pub mem_bound_check_4bytes: u64,
    /// `memory_data_size - 8`.
    pub mem_bound_check_8bytes: u64,
    /// `memory_data_size - 16`.
    pub mem_bound_check_16bytes: u64,
}

impl MemoryInstance {
    /// Sets the size fields for `pages` pages of `num_bytes_per_page` at `base`, as
    /// `wasm_memory.c` does after instantiation and every grow.
    pub fn set_size(&mut self, base: u64, pages: u32) {
        let size = u64::from(self.num_bytes_per_page) * u64::from(pages);
        self.cur_page_count = pages;
        self.memory_data = base;
        self.memory_data_size = size;
        self.memory_data_end = base.wrapping_add(size);
        // WAMR computes `size - N` with wrapping, so a memory smaller than N bytes would pass
        // every check. Saturating keeps them failing, except address 0 (`ea > 0` is false),
        // which for such tiny memories the guard region behind linear memory must catch.
        self.mem_bound_check_1byte = size.saturating_sub(1);
        self.mem_bound_check_2bytes = size.saturating_sub(2);
        self.mem_bound_check_4bytes = size.saturating_sub(4);
        self.mem_bound_check_8bytes = size.saturating_sub(8);
        self.mem_bound_check_16bytes = size.saturating_sub(16);
    }
}

/// Size of one memory instance.
pub const MEMORY_INSTANCE_SIZE: usize = 120;

const _: () = {
    assert!(offset_of!(MemoryInstance, num_bytes_per_page) == 0x0c);
    assert!(offset_of!(MemoryInstance, cur_page_count) == 0x10);
    assert!(offset_of!(MemoryInstance, max_page_count) == 0x14);
    assert!(offset_of!(MemoryInstance, memory_data_size) == 0x18);
    assert!(offset_of!(MemoryInstance, memory_data) == 0x20);
    assert!(offset_of!(MemoryInstance, memory_data_end) == 0x28);
    assert!(offset_of!(MemoryInstance, heap_data) == 0x30);
    assert!(offset_of!(MemoryInstance, memory_lock) == 0x48);
    assert!(offset_of!(MemoryInstance, mem_bound_check_1byte) == 0x50);
    assert!(offset_of!(MemoryInstance, mem_bound_check_2bytes) == 0x58);
    assert!(offset_of!(MemoryInstance, mem_bound_check_4bytes) == 0x60);
    assert!(offset_of!(MemoryInstance, mem_bound_check_8bytes) == 0x68);
    assert!(offset_of!(MemoryInstance, mem_bound_check_16bytes) == 0x70);
    assert!(size_of::<MemoryInstance>() == MEMORY_INSTANCE_SIZE);
};

/// `AOTTableInstance` header; `elems[]` (u64 function indexes, [`NULL_REF`] if empty) follow.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableInstance {
    /// 0x70 funcref or 0x6f externref.
    pub elem_type: u8,
    /// table64 (never, here).
    pub is_table64: u8,
    /// Padding.
    pub padding: [u8; 6],
    /// Reference type slot (GC only).
    pub elem_ref_type: u64,
    /// Current size; `call_indirect` traps "undefined element" at or above it.
    pub cur_size: u32,
    /// Maximum size.
    pub max_size: u32,
}

/// Size of the table header; `elems[0]` starts here.
pub const TABLE_ELEMS_OFFSET: usize = 0x18;
/// An empty table slot (`NULL_REF`); `call_indirect` traps "uninitialized element".
pub const NULL_REF: u64 = 0xffff_ffff;

const _: () = {
    assert!(offset_of!(TableInstance, elem_ref_type) == 0x08);
    assert!(offset_of!(TableInstance, cur_size) == 0x10);
    assert!(offset_of!(TableInstance, max_size) == 0x14);
    assert!(size_of::<TableInstance>() == TABLE_ELEMS_OFFSET);
};

/// Where everything lives in a module instance block (offsets from its start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceLayout {
    /// Offset of each memory instance.
    pub memories: alloc::vec::Vec<u64>,
    /// Offset of the global data.
    pub global_data: u64,
    /// Offset of each global (imports first).
    pub globals: alloc::vec::Vec<u64>,
    /// Size of the global data.
    pub global_data_size: u64,
    /// Offset of each table header (imports first) and its slot count.
    pub tables: alloc::vec::Vec<(u64, u32)>,
    /// Offset of `AOTModuleInstanceExtra` (8-aligned after the tables).
    pub extra: u64,
    /// Total size without the extra block.
    pub size: u64,
}

impl InstanceLayout {
    /// Computes the block layout WAMR uses (`aot_runtime.c`): header, memories, packed
    /// globals, tables (header + 8-byte slots, `max_size` slots if the table may grow, else
    /// `init_size`), then the extra block at the next 8-byte boundary. All arithmetic is in
    /// u64, saturating (a saturated size is refused by the quota).
    pub fn of(module: &AotModule) -> Result<Self, crate::fallible::OutOfMemory> {
        use crate::fallible;
        let mut off = MEMORY_INSTANCES_OFFSET as u64;
        let mut memories = fallible::vec_with_capacity(module.memories.len())?;
        for _ in &module.memories {
            memories.push(off);
            off = off.saturating_add(MEMORY_INSTANCE_SIZE as u64);
        }
        let global_data = off;
        let (goffs, gsize) = module.global_layout()?;
        let mut globals = fallible::vec_with_capacity(goffs.len())?;
        globals.extend(
            goffs
                .iter()
                .map(|&g| global_data.saturating_add(u64::from(g))),
        );
        off = off.saturating_add(u64::from(gsize));
        let mut tables = fallible::vec_with_capacity(
            module
                .import_tables
                .len()
                .saturating_add(module.tables.len()),
        )?;
        for t in module.import_tables.iter().chain(module.tables.iter()) {
            let slots = t.slot_count();
            tables.push((off, slots));
            off = off
                .saturating_add(TABLE_ELEMS_OFFSET as u64)
                .saturating_add(8u64.saturating_mul(u64::from(slots)));
        }
        let size = off;
        Ok(InstanceLayout {
            memories,
            global_data,
            globals,
            global_data_size: u64::from(gsize),
            tables,
            extra: size.div_ceil(8).saturating_mul(8),
            size,
        })
    }
}

/// WAMR exception ids (`WASMExceptionID`) that AOT code passes to `aot_set_exception_with_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExceptionId {
    /// unreachable
    Unreachable = 0,
    /// allocate memory failed
    OutOfMemory = 1,
    /// out of bounds memory access
    OutOfBoundsMemoryAccess = 2,
    /// integer overflow
    IntegerOverflow = 3,
    /// integer divide by zero
    IntegerDivideByZero = 4,
    /// invalid conversion to integer
    InvalidConversionToInteger = 5,
    /// indirect call type mismatch
    InvalidFunctionTypeIndex = 6,
    /// invalid function index
    InvalidFunctionIndex = 7,
    /// undefined element
    UndefinedElement = 8,
    /// uninitialized element
    UninitializedElement = 9,
    /// failed to call unlinked import function
    CallUnlinkedImportFunc = 10,
    /// native stack overflow
    NativeStackOverflow = 11,
    /// unaligned atomic
    UnalignedAtomic = 12,
    /// wasm auxiliary stack overflow
    AuxStackOverflow = 13,
    /// wasm auxiliary stack underflow
    AuxStackUnderflow = 14,
    /// out of bounds table access
    OutOfBoundsTableAccess = 15,
    /// wasm operand stack overflow
    OperandStackOverflow = 16,
    /// "keep the message already set"
    AlreadyThrown = 33,
}

impl ExceptionId {
    /// Decodes an id from generated code (`None` for GC/JIT ids tzwasm never sees).
    pub fn from_u32(id: u32) -> Option<Self> {
        use ExceptionId::*;
        Some(match id {
            0 => Unreachable,
            1 => OutOfMemory,
            2 => OutOfBoundsMemoryAccess,
            3 => IntegerOverflow,
            4 => IntegerDivideByZero,
            5 => InvalidConversionToInteger,
            6 => InvalidFunctionTypeIndex,
            7 => InvalidFunctionIndex,
            8 => UndefinedElement,
            9 => UninitializedElement,
            10 => CallUnlinkedImportFunc,
            11 => NativeStackOverflow,
            12 => UnalignedAtomic,
            13 => AuxStackOverflow,
            14 => AuxStackUnderflow,
            15 => OutOfBoundsTableAccess,
            16 => OperandStackOverflow,
            33 => AlreadyThrown,
            _ => return None,
        })
    }

    /// WAMR's message (printed after "Exception: ").
    pub fn message(self) -> &'static str {
        use ExceptionId::*;
        match self {
            Unreachable => "unreachable",
            OutOfMemory => "allocate memory failed",
            OutOfBoundsMemoryAccess => "out of bounds memory access",
            IntegerOverflow => "integer overflow",
            IntegerDivideByZero => "integer divide by zero",
            InvalidConversionToInteger => "invalid conversion to integer",
            InvalidFunctionTypeIndex => "indirect call type mismatch",
            InvalidFunctionIndex => "invalid function index",
            UndefinedElement => "undefined element",
            UninitializedElement => "uninitialized element",
            CallUnlinkedImportFunc => "failed to call unlinked import function",
            NativeStackOverflow => "native stack overflow",
            UnalignedAtomic => "unaligned atomic",
            AuxStackOverflow => "wasm auxiliary stack overflow",
            AuxStackUnderflow => "wasm auxiliary stack underflow",
            OutOfBoundsTableAccess => "out of bounds table access",
            OperandStackOverflow => "wasm operand stack overflow",
            AlreadyThrown => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::ModuleBuilder;
    use crate::Arch;

    #[test]
    fn instance_layout_matches_measured_offsets() {
        let file = ModuleBuilder::kitchen_sink(Arch::Aarch64).build();
        let m = crate::parse(&file, Arch::Aarch64).unwrap();
        let l = InstanceLayout::of(&m).unwrap();
        assert_eq!(l.memories, alloc::vec![0x158]);
        // Globals start at 0x158 + 120 = 0x1d0 with one memory (`ldr w8, [x19, #0x1d0]`).
        assert_eq!(l.global_data, 0x1d0);
        assert_eq!(l.globals[0], 0x1d0);
        assert_eq!(l.globals[2], 0x1d0 + 8); // after i32 import + i32
        assert_eq!(l.global_data_size, 52);
        // The table follows the packed globals without alignment.
        assert_eq!(l.tables, alloc::vec![(0x1d0 + 52, 4)]);
        assert_eq!(l.size, 0x1d0 + 52 + 0x18 + 32);
        assert_eq!(l.extra % 8, 0);
        assert!(l.extra >= l.size && l.extra < l.size + 8);
    }

    #[test]
    fn memory_sizes() {
        let mut mem = MemoryInstance {
            num_bytes_per_page: 65536,
            ..Default::default()
        };
        mem.set_size(0x1000_0000, 2);
        assert_eq!(mem.memory_data_size, 0x20000);
        assert_eq!(mem.memory_data_end, 0x1002_0000);
        assert_eq!(mem.mem_bound_check_1byte, 0x1ffff);
        assert_eq!(mem.mem_bound_check_16bytes, 0x1fff0);
        mem.set_size(0x1000_0000, 0);
        assert_eq!(mem.mem_bound_check_8bytes, 0);
    }

    #[test]
    fn exception_ids() {
        assert_eq!(
            ExceptionId::from_u32(4),
            Some(ExceptionId::IntegerDivideByZero)
        );
        assert_eq!(
            ExceptionId::from_u32(4).unwrap().message(),
            "integer divide by zero"
        );
        assert_eq!(
            ExceptionId::from_u32(11).unwrap().message(),
            "native stack overflow"
        );
        assert_eq!(ExceptionId::from_u32(33), Some(ExceptionId::AlreadyThrown));
        assert_eq!(ExceptionId::from_u32(20), None);
        for id in 0..=16 {
            assert_eq!(ExceptionId::from_u32(id).map(|e| e as u32), Some(id));
        }
    }
}
