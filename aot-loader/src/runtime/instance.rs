//! Instantiation: the code image, the module-writable data block (exec_env, argv buffer,
//! result slots, the module instance with memory instance, packed globals and tables,
//! `func_ptrs`, `func_type_indexes`), linear memory, the native stack, data and element
//! segments; and the runtime's own records of all of it.
//!
//! Data block layout (offsets from its start; everything module code may write):
//!
//! ```text
//! 0x000  WASMExecEnv (0x68 bytes)
//! 0x080  argv_buf: 64 cells
//! 0x180  result slots: 16 bytes per extra result of the widest export
//!        module instance block (64-aligned): header, memory 0, globals, tables, extra
//!        memories[1], tables[n] pointer arrays; func_ptrs; func_type_indexes;
//!        XIP native-symbol table
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::mem::size_of;

use crate::fallible::{self, OutOfMemory};
use crate::image::{self, ImageBuild, ImageError, ImageLayout};
use crate::layout::{
    ExecEnv, InstanceLayout, MemoryInstance, ModuleInstance, TableInstance, ARGV_BUF_CELLS,
    NULL_REF, TABLE_ELEMS_OFFSET,
};
use crate::module::{
    AotModule, BinOp, ElemMode, ExportKind, FuncType, InitExpr, NativeSymbol, ValType,
};
use crate::runtime::platform::{Entry, Platform, PlatformError};
use crate::runtime::quota::{Quota, QuotaError};
use crate::runtime::signature;
use crate::runtime::{Helper, Stop};
use crate::wasi::{self, GuestMemory, WasiFunc};

/// A WebAssembly value passed to or returned from an export.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// i32
    I32(i32),
    /// i64
    I64(i64),
    /// f32, as bits
    F32(u32),
    /// f64, as bits
    F64(u64),
    /// v128, little endian
    V128(u128),
    /// funcref: a function index or [`NULL_REF`]
    FuncRef(u32),
    /// externref (non-GC: a 32-bit value)
    ExternRef(u32),
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The value's bits, zero-extended.
    pub fn bits(&self) -> u128 {
        match *self {
            Value::I32(v) => u128::from(v as u32),
            Value::I64(v) => u128::from(v as u64),
            Value::F32(v) | Value::FuncRef(v) | Value::ExternRef(v) => u128::from(v),
            Value::F64(v) => u128::from(v),
            Value::V128(v) => v,
        }
    }

    /// A value of type `ty` from bits (truncated to the type's width).
    pub fn from_bits(ty: ValType, bits: u128) -> Value {
        match ty {
            ValType::I32 => Value::I32(bits as u32 as i32),
            ValType::I64 => Value::I64(bits as u64 as i64),
            ValType::F32 => Value::F32(bits as u32),
            ValType::F64 => Value::F64(bits as u64),
            ValType::V128 => Value::V128(bits),
            ValType::FuncRef => Value::FuncRef(bits as u32),
            ValType::ExternRef => Value::ExternRef(bits as u32),
        }
    }
}

/// How an import is provided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportBinding {
    /// A WASI function; `direct` is WAMR's native signature when the code calls it directly
    /// (pointer arguments converted), `None` when it goes through `aot_invoke_native`.
    Wasi {
        /// The function.
        func: WasiFunc,
        /// WAMR signature for direct calls.
        direct: Option<&'static str>,
    },
    /// A host function of the platform ([`Platform::resolve_import`]).
    Host(u32),
    /// Nothing provides it: calling it traps "failed to call unlinked import function".
    Unlinked,
}

/// Instance parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Heap quota in bytes for everything allocated for the instance.
    pub heap_quota: u64,
    /// Native stack for module code, in bytes (a guard below it faults).
    pub stack_size: usize,
    /// Linear-memory window reserved (8 GiB + 64 KiB covers every address hardware-bounds-
    /// check code can form); memory never grows beyond it.
    pub memory_window: u64,
    /// Bytes kept free above `native_stack_boundary` for stack checks
    /// (`--bounds-checks=1` files trap "native stack overflow" below it).
    pub stack_guard_margin: usize,
}

/// The window hardware-bounds-check code needs: base + u32 index + u32 offset + 16 bytes.
pub const HW_BOUNDS_WINDOW: u64 = (8 << 30) + (64 << 10);

impl Default for InstanceConfig {
    fn default() -> Self {
        InstanceConfig {
            heap_quota: 256 << 20,
            stack_size: 1 << 20,
            memory_window: HW_BOUNDS_WINDOW,
            stack_guard_margin: 16 << 10,
        }
    }
}

/// Why instantiation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstantiateError {
    /// The heap quota does not allow an allocation.
    Quota(QuotaError),
    /// The platform refused an allocation or mapping.
    Platform(PlatformError),
    /// Building the code image failed (e.g. a helper the platform does not provide).
    Image(ImageError),
    /// An import tzwasm cannot provide at all (globals, tables, memories).
    UnknownImport(String),
    /// A constant expression or segment does not fit (WAMR's messages).
    Link(String),
    /// Memory for the runtime's own records ran out (the pool or the session's account is
    /// full).
    OutOfMemory,
    /// [`Instance::instantiate_step`] was called again after a step failed.
    Abandoned,
}

impl fmt::Display for InstantiateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiateError::Quota(e) => write!(f, "{e}"),
            InstantiateError::Platform(e) => write!(f, "{e}"),
            InstantiateError::Image(e) => write!(f, "{e}"),
            InstantiateError::UnknownImport(s) => write!(f, "{s}"),
            InstantiateError::Link(s) => write!(f, "{s}"),
            InstantiateError::OutOfMemory => {
                f.write_str("out of memory while instantiating the module")
            }
            InstantiateError::Abandoned => {
                f.write_str("instantiation was abandoned after an earlier failure")
            }
        }
    }
}

impl From<QuotaError> for InstantiateError {
    fn from(e: QuotaError) -> Self {
        InstantiateError::Quota(e)
    }
}
impl From<PlatformError> for InstantiateError {
    fn from(e: PlatformError) -> Self {
        InstantiateError::Platform(e)
    }
}
impl From<ImageError> for InstantiateError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::OutOfMemory => InstantiateError::OutOfMemory,
            e => InstantiateError::Image(e),
        }
    }
}
impl From<OutOfMemory> for InstantiateError {
    fn from(_: OutOfMemory) -> Self {
        InstantiateError::OutOfMemory
    }
}

/// `InstantiateError::Link(msg)`, or `OutOfMemory` if the message cannot be copied.
fn link_error(msg: &str) -> InstantiateError {
    match fallible::string(msg) {
        Ok(s) => InstantiateError::Link(s),
        Err(e) => e.into(),
    }
}

/// An unresolved-symbol image error for `name` (or `OutOfMemory`).
fn unresolved(name: &str) -> InstantiateError {
    match fallible::string(name) {
        Ok(s) => InstantiateError::Image(ImageError::UnresolvedSymbol(s)),
        Err(e) => e.into(),
    }
}

/// The runtime's record of linear memory (module code never sees this).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemRecord {
    pub base: u64,
    pub window: u64,
    pub page_size: u64,
    pub pages: u32,
    pub max_pages: u32,
}

impl MemRecord {
    pub fn size(&self) -> u64 {
        // page_size and pages come from a parsed memory type whose size is below 4 GiB, or
        // from a grow checked against the window.
        self.page_size.saturating_mul(u64::from(self.pages))
    }
}

/// The runtime's record of a table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TableRecord {
    /// Offset of the table header in the data block.
    pub off: usize,
    pub cur: u32,
    pub slots: u32,
}

pub(crate) const ARGV_OFF: usize = 0x80;
pub(crate) const RESULTS_OFF: usize = ARGV_OFF + ARGV_BUF_CELLS * 4;
const EXTRA_BLOCK_LEN: usize = 256;

/// A module instance and everything it owns. Created boxed: its address is the context
/// value handed to [`Platform::entry_address`], so the embedder can find it again.
pub struct Instance<'m, P: Platform> {
    pub(crate) module: &'m AotModule,
    pub(crate) file: &'m [u8],
    /// The embedder.
    pub platform: P,
    pub(crate) quota: Quota,
    pub(crate) config: InstanceConfig,
    pub(crate) image: Option<ImageLayout>,
    pub(crate) code_addr: u64,
    /// Bytes allocated at `code_addr` (for `Drop`, also when building the image failed).
    pub(crate) code_len: usize,
    pub(crate) data_addr: u64,
    pub(crate) data_len: usize,
    pub(crate) inst_off: usize,
    /// Offset of memory instance 0 in the data block.
    pub(crate) mem_off: usize,
    pub(crate) func_ptrs_off: usize,
    pub(crate) results_len: usize,
    pub(crate) mem: Option<MemRecord>,
    pub(crate) tables: Vec<TableRecord>,
    pub(crate) stack_low: u64,
    pub(crate) imports: Vec<ImportBinding>,
    pub(crate) data_dropped: Vec<bool>,
    pub(crate) elem_dropped: Vec<bool>,
    pub(crate) globals: Vec<u128>,
    /// How far the last entry got when it stopped with `Stop::Interrupted`.
    pub(crate) progress: Option<Progress>,
    /// Progress the entry being dispatched resumes from (0: a new call), and the call it is.
    pub(crate) resume_from: u64,
    pub(crate) call_key: CallKey,
    /// How far instantiation got: only a [`Instantiation::Ready`] instance runs code.
    pub(crate) instantiation: Instantiation,
}

/// Where an instance's instantiation is ([`Instance::begin`], [`Instance::instantiate_step`]).
pub(crate) enum Instantiation {
    /// The code image is being built into the `code_len` bytes at `code_addr` (`build` is
    /// `None` for an empty image); the rest of instantiation follows.
    Image {
        /// Where everything goes in the image.
        layout: ImageLayout,
        /// The resumable build.
        build: Option<ImageBuild>,
    },
    /// A step failed (or is running): the instance can only be dropped.
    Failed,
    /// Instantiated: code may be called.
    Ready,
}

/// Which call an interrupted entry was: its id and first argument registers.
pub(crate) type CallKey = (u64, [u64; 8]);

/// Where an entry stopped with `Stop::Interrupted`: only the same call issued again
/// continues from `done` (units of work: bytes, table elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) call: CallKey,
    pub(crate) done: u64,
}

/// Where things go in an instance's module-writable data block.
struct DataBlock {
    results_len: usize,
    inst_off: usize,
    memories_arr: usize,
    tables_arr: usize,
    ntables: usize,
    func_ptrs_off: usize,
    type_idx_off: usize,
    native_sym_off: usize,
    len: usize,
}

impl DataBlock {
    /// The layout; sizes saturate (a saturated length is refused by the quota).
    fn of(m: &AotModule, il: &InstanceLayout, page: usize) -> Self {
        let max_results = m.types.iter().map(|t| t.results.len()).max().unwrap_or(0);
        let results_len = max_results.saturating_mul(16).max(16);
        let round = |v: usize, a: usize| v.div_ceil(a.max(1)).saturating_mul(a.max(1));
        let inst_off = round(RESULTS_OFF.saturating_add(results_len), 64);
        let inst_len = usize::try_from(il.extra)
            .unwrap_or(usize::MAX)
            .saturating_add(EXTRA_BLOCK_LEN);
        let total_funcs = m.total_funcs() as usize;
        let memories_arr = inst_off.saturating_add(inst_len);
        let tables_arr = memories_arr.saturating_add(8);
        let func_ptrs_off = tables_arr.saturating_add(il.tables.len().saturating_mul(8));
        let type_idx_off = func_ptrs_off.saturating_add(total_funcs.saturating_mul(8));
        let native_sym_off = round(
            type_idx_off.saturating_add(total_funcs.saturating_mul(4)),
            8,
        );
        let len = round(
            native_sym_off.saturating_add(m.native_symbols.len().saturating_mul(8)),
            page,
        );
        DataBlock {
            results_len,
            inst_off,
            memories_arr,
            tables_arr,
            ntables: il.tables.len(),
            func_ptrs_off,
            type_idx_off,
            native_sym_off,
            len,
        }
    }
}

/// What instantiating `m` with `config` charges to the heap quota (pages of `page` bytes):
/// code image, instance data, native stack and initial linear memory. The smallest quota an
/// instance of the module can start with is their sum ([`footprint_total`]).
pub fn footprint(
    m: &AotModule,
    config: &InstanceConfig,
    page: usize,
) -> Result<[(&'static str, u64); 4], InstantiateError> {
    let code = image::plan(m, u32::try_from(page).unwrap_or(0))?.total_len;
    let data = DataBlock::of(m, &InstanceLayout::of(m)?, page).len;
    let stack = config
        .stack_size
        .div_ceil(page.max(1))
        .saturating_mul(page.max(1));
    let memory = m.memories.first().map_or(0, |mt| mt.init_bytes());
    Ok([
        ("code image", u64::from(code)),
        ("instance data", data as u64),
        ("native stack", stack as u64),
        ("linear memory", memory),
    ])
}

/// The sum of [`footprint`]: the minimum heap quota for `m`.
pub fn footprint_total(
    m: &AotModule,
    config: &InstanceConfig,
    page: usize,
) -> Result<u64, InstantiateError> {
    Ok(footprint(m, config, page)?
        .iter()
        .fold(0u64, |a, (_, b)| a.saturating_add(*b)))
}

impl<'m, P: Platform> Instance<'m, P> {
    /// Instantiates `module` (parsed from `file`) on `platform`: builds and seals the code,
    /// allocates the data block, stack and linear memory within the quota, initialises
    /// globals, tables, segments and `func_ptrs`. The start function is not run: call
    /// [`Self::start_function`] through the embedder's entry path.
    ///
    /// The same as [`Self::begin`] and [`Self::instantiate_step`] with an unbounded budget.
    pub fn new(
        module: &'m AotModule,
        file: &'m [u8],
        platform: P,
        config: InstanceConfig,
    ) -> Result<Box<Self>, InstantiateError> {
        let mut inst = Self::begin(module, file, platform, config)?;
        while !inst.instantiate_step(u64::MAX)? {}
        Ok(inst)
    }

    /// Starts instantiating `module` (parsed from `file`) on `platform`: binds the imports,
    /// plans the code image, charges it to the quota, allocates it and resolves the runtime
    /// symbols it uses. The image is built, and the rest of instantiation done, by
    /// [`Self::instantiate_step`]; until that returned `Ok(true)` the instance refuses calls
    /// ([`Self::prepare_call`], [`Self::dispatch`]), and it may be dropped at any point (which
    /// frees what was allocated).
    pub fn begin(
        module: &'m AotModule,
        file: &'m [u8],
        platform: P,
        config: InstanceConfig,
    ) -> Result<Box<Self>, InstantiateError> {
        let mut inst = fallible::boxed(Instance {
            module,
            file,
            platform,
            quota: Quota::new(config.heap_quota),
            config,
            image: None,
            code_addr: 0,
            code_len: 0,
            data_addr: 0,
            data_len: 0,
            inst_off: 0,
            mem_off: 0,
            func_ptrs_off: 0,
            results_len: 0,
            mem: None,
            tables: Vec::new(),
            stack_low: 0,
            imports: Vec::new(),
            data_dropped: Vec::new(),
            elem_dropped: Vec::new(),
            globals: Vec::new(),
            progress: None,
            resume_from: 0,
            call_key: (0, [0; 8]),
            instantiation: Instantiation::Failed,
        })?;
        inst.init_image()?;
        Ok(inst)
    }

    /// Continues the instantiation [`Self::begin`] started with at most about `budget` units
    /// of work on the code image ([`ImageBuild`] defines the unit; 0 counts as 1); `Ok(true)`
    /// when the instance is ready for calls. The step that completes the image also seals
    /// it and does the rest of instantiation (data block, stack, linear memory, globals,
    /// tables, segments), whose cost does not depend on the code size. After an error the
    /// instance can only be dropped (further steps return [`InstantiateError::Abandoned`]);
    /// once ready, further steps return `Ok(true)` and do nothing.
    pub fn instantiate_step(&mut self, budget: u64) -> Result<bool, InstantiateError> {
        let (layout, build) =
            match core::mem::replace(&mut self.instantiation, Instantiation::Failed) {
                Instantiation::Ready => {
                    self.instantiation = Instantiation::Ready;
                    return Ok(true);
                }
                Instantiation::Failed => return Err(InstantiateError::Abandoned),
                Instantiation::Image { layout, build } => (layout, build),
            };
        if let Some(mut b) = build {
            let done = {
                // SAFETY: `begin` had the platform allocate `code_len` writable bytes at
                // `code_addr`, owned by this instance and not yet executable or shared with
                // anything; nothing else refers to them while this slice lives.
                let buf = unsafe {
                    core::slice::from_raw_parts_mut(self.code_addr as *mut u8, self.code_len)
                };
                b.step(self.module, self.file, &layout, buf, self.code_addr, budget)?
            };
            if !done {
                self.instantiation = Instantiation::Image {
                    layout,
                    build: Some(b),
                };
                return Ok(false);
            }
            self.platform
                .seal_code(self.code_addr, layout.rx_len as usize, self.code_len)?;
        }
        self.image = Some(layout);
        self.init()?;
        self.instantiation = Instantiation::Ready;
        Ok(true)
    }

    /// True once instantiation finished ([`Self::instantiate_step`] returned `Ok(true)`).
    pub fn is_ready(&self) -> bool {
        matches!(self.instantiation, Instantiation::Ready)
    }

    /// `Err` (a trap "module is not instantiated") unless [`Self::is_ready`].
    pub(crate) fn check_ready(&self) -> Result<(), Stop> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(crate::runtime::Trap::msg("module is not instantiated").into())
        }
    }

    /// The context value entry points were created with (the instance's address).
    pub fn ctx(&self) -> u64 {
        self as *const Self as u64
    }

    fn entry(&mut self, e: Entry) -> Option<u64> {
        let ctx = self.ctx();
        self.platform.entry_address(ctx, e)
    }

    /// The first part of instantiation ([`Self::begin`]): imports, and the code image up to
    /// a builder with its runtime symbols resolved.
    fn init_image(&mut self) -> Result<(), InstantiateError> {
        let m = self.module;
        if let Some(g) = m.import_globals.first() {
            return Err(InstantiateError::UnknownImport(fallible::format(
                format_args!(
                    "failed to link import global ({}, {}): tzwasm provides no globals",
                    g.module, g.name
                ),
            )?));
        }
        if !m.import_tables.is_empty() {
            return Err(InstantiateError::UnknownImport(fallible::string(
                "module imports a table, which tzwasm does not provide",
            )?));
        }
        self.imports = fallible::vec_with_capacity(m.import_funcs.len())?;
        // Imports.
        for imp in &m.import_funcs {
            let ty = m
                .types
                .get(imp.type_index as usize)
                .ok_or_else(|| link_error("bad import type"))?;
            let b = if signature::is_wasi_module(&imp.module) {
                match wasi::lookup(&imp.module, &imp.name) {
                    Some((func, _)) => ImportBinding::Wasi {
                        func,
                        direct: signature::direct_signature(&imp.module, &imp.name, ty),
                    },
                    None => ImportBinding::Unlinked,
                }
            } else {
                match self.platform.resolve_import(&imp.module, &imp.name, ty) {
                    Some(id) => ImportBinding::Host(id),
                    None => ImportBinding::Unlinked,
                }
            };
            fallible::push(&mut self.imports, b)?;
        }

        // Code image.
        let page = self.platform.page_size();
        let layout = image::plan(m, u32::try_from(page).unwrap_or(0))?;
        let total = layout.total_len as usize;
        self.quota.charge("code image", total as u64)?;
        // A module without functions has an empty image: nothing to allocate, map or call.
        let mut build = None;
        if total > 0 {
            let code = self
                .platform
                .alloc_code(total, image::needs_low_address(m))?;
            self.code_addr = code;
            self.code_len = total;
            let file = self.file;
            let mut resolve = |name: &str| -> Option<u64> {
                let h = Helper::from_name(name)?;
                self.entry(Entry::Helper(h))
            };
            build = Some(ImageBuild::new(m, file, &layout, total, &mut resolve)?);
        }
        self.instantiation = Instantiation::Image { layout, build };
        Ok(())
    }

    /// The rest of instantiation, once the code image is built and sealed.
    fn init(&mut self) -> Result<(), InstantiateError> {
        let m = self.module;
        let page = self.platform.page_size();

        // Data block.
        let il = InstanceLayout::of(m)?;
        let DataBlock {
            results_len,
            inst_off,
            memories_arr,
            tables_arr,
            ntables,
            func_ptrs_off,
            type_idx_off,
            native_sym_off,
            len: data_len,
        } = DataBlock::of(m, &il, page);
        let total_funcs = m.total_funcs() as usize;
        self.results_len = results_len;
        self.quota.charge("instance data", data_len as u64)?;
        let data = self.platform.alloc_data(data_len)?;
        self.data_addr = data;
        self.data_len = data_len;
        self.inst_off = inst_off;
        self.func_ptrs_off = func_ptrs_off;
        // Every offset below lies inside the data block just allocated (DataBlock::of and
        // InstanceLayout::of place them below `data_len`), so the sums cannot overflow; the
        // writes check the block bounds again.
        let at = |off: usize| data.wrapping_add(off as u64);

        // Stack.
        let stack = self
            .config
            .stack_size
            .div_ceil(page.max(1))
            .saturating_mul(page.max(1));
        self.quota.charge("native stack", stack as u64)?;
        self.stack_low = self.platform.alloc_stack(stack)?;
        self.config.stack_size = stack;

        // Linear memory.
        let mt = m
            .memories
            .first()
            .copied()
            .unwrap_or(crate::module::MemoryType {
                flags: 0,
                num_bytes_per_page: 65536,
                init_page_count: 0,
                max_page_count: 0,
            });
        let page_size = u64::from(mt.num_bytes_per_page);
        let init = mt.init_bytes();
        let window = self.config.memory_window.max(
            init.div_ceil((page as u64).max(1))
                .saturating_mul(page as u64),
        );
        let max_by_window = window
            .checked_div(page_size)
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX));
        self.quota.charge("linear memory", init)?;
        let base = self.platform.reserve_memory(window, init)?;
        self.mem = Some(MemRecord {
            base,
            window,
            page_size,
            pages: mt.init_page_count,
            max_pages: mt.max_page_count.min(max_by_window),
        });

        // Exec env.
        let env = ExecEnv {
            module_inst: at(inst_off),
            argv_buf: at(ARGV_OFF),
            native_stack_boundary: self
                .stack_low
                .saturating_add(self.config.stack_guard_margin as u64),
            // As WAMR (wasm_exec_env.c): the aux stack wamrc detected, or 0/0 when it found
            // none, in which case the code contains no aux stack checks.
            aux_stack_boundary: m.aux.stack_bottom.wrapping_sub(u64::from(m.aux.stack_size)),
            aux_stack_bottom: m.aux.stack_bottom,
            native_symbol: if m.native_symbols.is_empty() {
                0
            } else {
                at(native_sym_off)
            },
            ..Default::default()
        };
        self.write_struct(0, &env);

        // Module instance header and memory instance.
        let hdr = ModuleInstance {
            module_type: 1,
            memory_count: 1,
            memories: at(memories_arr),
            global_data_size: u32::try_from(il.global_data_size).unwrap_or(u32::MAX),
            table_count: u32::try_from(ntables).unwrap_or(u32::MAX),
            global_data: at(inst_off).wrapping_add(il.global_data),
            tables: at(tables_arr),
            func_ptrs: at(func_ptrs_off),
            func_type_indexes: at(type_idx_off),
            e: at(inst_off).wrapping_add(il.extra),
            ..Default::default()
        };
        self.write_struct(inst_off, &hdr);
        let mem_off =
            inst_off.saturating_add(il.memories.first().copied().unwrap_or(0x158) as usize);
        self.mem_off = mem_off;
        self.write_u64(memories_arr, at(mem_off));
        self.sync_memory_mirror_at(mem_off, mt.max_page_count);

        // Tables.
        self.tables = fallible::vec_with_capacity(il.tables.len())?;
        for (i, (&(off, slots), t)) in il.tables.iter().zip(m.tables.iter()).enumerate() {
            let off = inst_off.saturating_add(off as usize);
            let hdr = TableInstance {
                elem_type: t.elem_type,
                cur_size: t.init_size,
                max_size: slots,
                ..Default::default()
            };
            self.write_struct(off, &hdr);
            for s in 0..slots as usize {
                self.write_u64(
                    off.saturating_add(TABLE_ELEMS_OFFSET)
                        .saturating_add(s.saturating_mul(8)),
                    NULL_REF,
                );
            }
            self.write_u64(tables_arr.saturating_add(i.saturating_mul(8)), at(off));
            self.tables.push(TableRecord {
                off,
                cur: t.init_size.min(slots),
                slots,
            });
        }

        // Globals.
        self.globals = fallible::vec_with_capacity(m.globals.len())?;
        for g in &m.globals {
            let v = self.eval(&g.init)?;
            self.globals.push(v);
        }
        for (i, (g, v)) in m.globals.iter().zip(self.globals.iter()).enumerate() {
            let off = inst_off.saturating_add(il.globals.get(i).copied().unwrap_or(0) as usize);
            let size = g.val_type.size() as usize;
            let bytes = v.to_le_bytes();
            if let Some(b) = bytes.get(..size) {
                write_block(self.data_addr, self.data_len, off, b);
            }
        }

        // func_ptrs and func_type_indexes.
        let imports = m.import_funcs.len();
        for i in 0..total_funcs {
            let (ptr, ty) = match i.checked_sub(imports) {
                None => (
                    // A null func_ptr would be a jump to address 0 when the import is called.
                    self.entry(Entry::Import(i as u32)).ok_or_else(|| {
                        InstantiateError::Platform(PlatformError(
                            fallible::string("no entry point for an imported function")
                                .unwrap_or_default(),
                        ))
                    })?,
                    m.import_funcs.get(i).map_or(0, |f| f.type_index),
                ),
                Some(d) => (
                    self.code_addr.wrapping_add(u64::from(
                        self.image
                            .as_ref()
                            .and_then(|l| l.func_offset(m, d as u32))
                            .unwrap_or(0),
                    )),
                    m.functions.get(d).map_or(0, |f| f.type_index),
                ),
            };
            self.write_u64(func_ptrs_off.saturating_add(i.saturating_mul(8)), ptr);
            self.write_bytes(
                type_idx_off.saturating_add(i.saturating_mul(4)),
                &ty.to_le_bytes(),
            );
        }
        // XIP native symbols.
        for (k, s) in m.native_symbols.iter().enumerate() {
            let v = match s {
                NativeSymbol::Empty => 0,
                NativeSymbol::Const(c) => *c,
                NativeSymbol::Runtime(name) => {
                    let h = Helper::from_name(name).ok_or_else(|| unresolved(name))?;
                    self.entry(Entry::Helper(h))
                        .ok_or_else(|| unresolved(name))?
                }
            };
            self.write_u64(native_sym_off.saturating_add(k.saturating_mul(8)), v);
        }

        // Element segments.
        self.elem_dropped = fallible::vec_with_capacity(m.elem_segments.len())?;
        self.elem_dropped
            .extend(m.elem_segments.iter().map(|e| e.mode != ElemMode::Passive));
        for e in &m.elem_segments {
            if e.mode != ElemMode::Active {
                continue;
            }
            let off = self.eval(&e.offset)? as u32;
            let t = *self
                .tables
                .get(e.table_index as usize)
                .ok_or_else(|| link_error("unknown table"))?;
            let n = u32::try_from(e.values.len()).unwrap_or(u32::MAX);
            if u64::from(off) + u64::from(n) > u64::from(t.cur) {
                return Err(link_error("out of bounds table access"));
            }
            for (k, v) in e.values.iter().enumerate() {
                let val = self.elem_value(v)?;
                let slot = (off as usize).saturating_add(k);
                self.write_u64(
                    t.off
                        .saturating_add(TABLE_ELEMS_OFFSET)
                        .saturating_add(slot.saturating_mul(8)),
                    val,
                );
            }
        }

        // Data segments.
        self.data_dropped = fallible::vec_with_capacity(m.data_segments.len())?;
        self.data_dropped
            .extend(m.data_segments.iter().map(|d| !d.is_passive));
        let mem = self.mem.unwrap_or_default();
        for d in &m.data_segments {
            if d.is_passive {
                continue;
            }
            let off = u64::from(self.eval(&d.offset)? as u32);
            let bytes = d
                .bytes
                .get(self.file)
                .ok_or_else(|| link_error("data segment outside the file"))?;
            if off.saturating_add(bytes.len() as u64) > mem.size() {
                return Err(link_error("data segment does not fit"));
            }
            // SAFETY: [base + off, + len) lies inside the committed part of linear memory
            // (checked against the runtime's own size record just above).
            unsafe {
                core::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    mem.base.wrapping_add(off) as *mut u8,
                    bytes.len(),
                )
            };
        }
        Ok(())
    }

    fn elem_value(&self, v: &InitExpr) -> Result<u64, InstantiateError> {
        Ok(match v {
            // WAMR 2.4.3 (non-GC) stores the ref.null payload itself, not NULL_REF
            // (aot_runtime.c tables_instantiate, aot_table_init); iwasm's results depend on it.
            InitExpr::RefNull(x) => u64::from(*x),
            InitExpr::RefFunc(f) => u64::from(*f),
            other => (self.eval(other)? as u32).into(),
        })
    }

    /// Evaluates a constant expression against the globals initialised so far.
    fn eval(&self, e: &InitExpr) -> Result<u128, InstantiateError> {
        Ok(match e {
            InitExpr::None => 0,
            InitExpr::I32(v) => u128::from(*v as u32),
            InitExpr::I64(v) => u128::from(*v as u64),
            InitExpr::F32(v) => u128::from(*v),
            InitExpr::F64(v) => u128::from(*v),
            InitExpr::V128(b) => u128::from_le_bytes(*b),
            InitExpr::GlobalGet(g) => *self
                .globals
                .get(*g as usize)
                .ok_or_else(|| link_error("global.get of an uninitialised global"))?,
            InitExpr::RefNull(_) => u128::from(NULL_REF as u32),
            InitExpr::RefFunc(f) => u128::from(*f),
            InitExpr::Binary(op, l, r) => {
                let (l, r) = (self.eval(l)?, self.eval(r)?);
                match op {
                    BinOp::I32Add => u128::from((l as u32).wrapping_add(r as u32)),
                    BinOp::I32Sub => u128::from((l as u32).wrapping_sub(r as u32)),
                    BinOp::I32Mul => u128::from((l as u32).wrapping_mul(r as u32)),
                    BinOp::I64Add => u128::from((l as u64).wrapping_add(r as u64)),
                    BinOp::I64Sub => u128::from((l as u64).wrapping_sub(r as u64)),
                    BinOp::I64Mul => u128::from((l as u64).wrapping_mul(r as u64)),
                }
            }
        })
    }

    // ---- data block access (the runtime writes; it never reads back what it relies on) ----

    pub(crate) fn write_bytes(&mut self, off: usize, bytes: &[u8]) {
        write_block(self.data_addr, self.data_len, off, bytes);
    }

    pub(crate) fn write_u64(&mut self, off: usize, v: u64) {
        self.write_bytes(off, &v.to_le_bytes());
    }

    fn write_struct<T: Copy>(&mut self, off: usize, v: &T) {
        // SAFETY: T is one of the repr(C) layout structs with integer fields only; viewing it
        // as its bytes is sound.
        let bytes =
            unsafe { core::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) };
        self.write_bytes(off, bytes);
    }

    /// Reads `len` bytes of the data block (module-writable, so the result is untrusted).
    pub(crate) fn read_data(&self, off: usize, out: &mut [u8]) -> bool {
        if off
            .checked_add(out.len())
            .is_some_and(|e| e <= self.data_len)
        {
            // SAFETY: inside the data block, checked above.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    (self.data_addr + off as u64) as *const u8,
                    out.as_mut_ptr(),
                    out.len(),
                )
            };
            true
        } else {
            false
        }
    }

    /// Rewrites memory instance 0 in the data block from the runtime's record.
    pub(crate) fn sync_memory_mirror(&mut self) {
        let max = self.module.memories.first().map_or(0, |m| m.max_page_count);
        self.sync_memory_mirror_at(self.mem_off, max);
    }

    fn sync_memory_mirror_at(&mut self, off: usize, max_pages: u32) {
        let rec = self.mem.unwrap_or_default();
        let mut mi = MemoryInstance {
            module_type: 1,
            num_bytes_per_page: u32::try_from(rec.page_size).unwrap_or(0),
            max_page_count: max_pages,
            ..Default::default()
        };
        mi.set_size(rec.base, rec.pages);
        self.write_struct(off, &mi);
    }

    // ---- queries ----

    /// The parsed module.
    pub fn module(&self) -> &'m AotModule {
        self.module
    }

    /// Address of the exec_env (the first argument of every AOT function).
    pub fn exec_env(&self) -> u64 {
        self.data_addr
    }

    /// Address of the module instance.
    pub fn instance_addr(&self) -> u64 {
        self.data_addr + self.inst_off as u64
    }

    /// The native stack `[low, high)`.
    pub fn stack(&self) -> (u64, u64) {
        (
            self.stack_low,
            self.stack_low + self.config.stack_size as u64,
        )
    }

    /// Linear memory: base address, current size in bytes, reserved window.
    pub fn memory(&self) -> (u64, u64, u64) {
        let m = self.mem.unwrap_or_default();
        (m.base, m.size(), m.window)
    }

    /// Code image address and length.
    pub fn code(&self) -> (u64, u64) {
        (
            self.code_addr,
            self.image.as_ref().map_or(0, |l| u64::from(l.total_len)),
        )
    }

    /// The heap quota after instantiation.
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// How each import is provided.
    pub fn imports(&self) -> &[ImportBinding] {
        &self.imports
    }

    /// The start function (index counting imports), if the module has one.
    pub fn start_function(&self) -> Option<u32> {
        self.module.start_function
    }

    /// The function index of export `name`, if it is a function.
    pub fn export_func(&self, name: &str) -> Option<u32> {
        self.module
            .exports
            .iter()
            .find(|e| e.kind == ExportKind::Func && e.name == name)
            .map(|e| e.index)
    }

    /// Type of function `index` (imports first).
    pub fn func_type(&self, index: u32) -> Option<&'m FuncType> {
        self.module.func_type(index)
    }

    /// Code address of defined function `index` (imports first), `None` for imports.
    pub fn func_addr(&self, index: u32) -> Option<u64> {
        let d = index.checked_sub(self.module.import_funcs.len() as u32)?;
        let off = self.image.as_ref()?.func_offset(self.module, d)?;
        Some(self.code_addr + u64::from(off))
    }

    /// A view of linear memory from the runtime's own record.
    pub fn guest_memory(&mut self) -> GuestMemory<'_> {
        let m = self.mem.unwrap_or_default();
        // SAFETY: [base, base + size) is the committed part of this instance's linear memory,
        // per the runtime's own record; it stays mapped while `self` is borrowed.
        unsafe { GuestMemory::new(m.base as *mut u8, m.size() as usize) }
    }

    /// Classifies a fault at `addr` while module code ran: inside the linear-memory window
    /// (but not the committed part) is "out of bounds memory access", inside the stack guard
    /// ([`Platform::stack_guard`] bytes below the stack) "native stack overflow". `None`: not
    /// the module's fault.
    pub fn fault(&self, addr: u64) -> Option<Stop> {
        use crate::layout::ExceptionId;
        let m = self.mem.unwrap_or_default();
        if addr >= m.base && addr - m.base < m.window {
            return Some(ExceptionId::OutOfBoundsMemoryAccess.into());
        }
        if addr < self.stack_low && self.stack_low - addr <= self.platform.stack_guard() as u64 {
            return Some(ExceptionId::NativeStackOverflow.into());
        }
        None
    }
}

/// Copies `bytes` to `off` in the data block `[addr, addr + len)` if it fits (else nothing).
fn write_block(addr: u64, len: usize, off: usize, bytes: &[u8]) {
    if off.checked_add(bytes.len()).is_some_and(|e| e <= len) {
        // SAFETY: [addr + off, + bytes.len()) lies inside the data block (checked above),
        // which the platform gave this instance as writable memory.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (addr + off as u64) as *mut u8,
                bytes.len(),
            )
        };
    }
}

impl<P: Platform> Drop for Instance<'_, P> {
    fn drop(&mut self) {
        if let Some(m) = self.mem.take() {
            self.platform.release_memory(m.base, m.window);
        }
        if self.stack_low != 0 {
            self.platform
                .free_stack(self.stack_low, self.config.stack_size);
        }
        if self.data_addr != 0 {
            self.platform.free_data(self.data_addr, self.data_len);
        }
        if self.code_addr != 0 {
            self.platform.free_code(self.code_addr, self.code_len);
        }
    }
}
