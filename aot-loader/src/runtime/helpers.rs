//! The runtime helpers generated code calls (WAMR 2.4.3's C signatures, `WAMR-AOT-ABI.md`
//! 6.9) and direct WASI import calls, as plain logic over the instance's own records:
//! [`Instance::dispatch`] takes the entry number and the call's integer arguments (the
//! registers, then stack words) and returns the value for `x0`/`rax` or a [`Stop`]. The
//! embedder's entry stub (host: a jump into Rust; firmware: an `svc`) calls it, and on a stop
//! leaves the run without returning to module code. That non-local exit is used for every
//! trap, so files compiled with and without software bounds checks behave the same.
//!
//! Every pointer argument is untrusted: it is checked against the runtime's records of
//! linear memory, the data block and the stack; table and segment indexes against its own
//! counts and sizes.
//!
//! Bounded latency: helpers whose work grows with an argument (memmove/memcpy/memset,
//! `memory.init`, the table operations, the string scan of `aot_check_app_addr_and_convert`)
//! and WASI `random_get` work in chunks ([`COPY_CHUNK`], [`SCAN_CHUNK`], [`TABLE_CHUNK`],
//! [`wasi::RANDOM_CHUNK`]). Between chunks they ask [`Platform::interrupt_pending`]; if the
//! embedder wants the CPU back they record how far they got in the instance and stop with
//! [`Stop::Interrupted`], having changed nothing the module can see except the finished
//! chunks. The embedder resumes the run by issuing the same entry with the same arguments
//! again (the firmware rewinds the module's `svc`): every check is made again, and the work
//! continues exactly where it stopped, so the module observes the same memory and result as
//! from an uninterrupted call. Progress is only taken up by the same entry with the same
//! argument registers; any other entry starts from scratch and forgets it.

use alloc::vec::Vec;

use crate::fallible;
use crate::layout::{ExceptionId, NULL_REF, TABLE_ELEMS_OFFSET};
use crate::module::{ElemMode, ElemSegment, FuncType, InitExpr};
use crate::runtime::instance::{ImportBinding, Instance, Progress, ARGV_OFF};
use crate::runtime::platform::{Entry, Platform};
use crate::runtime::signature;
use crate::runtime::{Stop, Trap};
use crate::wasi::{self, WasiOutcome};

macro_rules! helpers {
    ($($(#[$doc:meta])* $v:ident = $name:literal,)*) => {
        /// A runtime function generated code may call.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Helper { $($(#[$doc])* $v,)* }

        /// Every helper, in [`Helper`] order.
        pub const HELPERS: &[Helper] = &[$(Helper::$v,)*];

        impl Helper {
            /// The C symbol name wamrc uses.
            pub fn name(self) -> &'static str {
                match self { $(Helper::$v => $name,)* }
            }

            /// The helper called `name`, if tzwasm provides it.
            pub fn from_name(name: &str) -> Option<Helper> {
                match name { $($name => Some(Helper::$v),)* _ => None }
            }
        }
    };
}

helpers! {
    /// `void aot_set_exception_with_id(inst, u32 id)`
    SetExceptionWithId = "aot_set_exception_with_id",
    /// `void aot_set_exception(inst, const char *msg)`
    SetException = "aot_set_exception",
    /// `bool aot_check_app_addr_and_convert(inst, bool is_str, u64 off, u64 size, void **out)`
    CheckAppAddrAndConvert = "aot_check_app_addr_and_convert",
    /// `bool aot_enlarge_memory(inst, u32 inc_pages)`
    EnlargeMemory = "aot_enlarge_memory",
    /// `bool aot_invoke_native(exec_env, u32 func_idx, u32 argc, u32 *argv)`
    InvokeNative = "aot_invoke_native",
    /// `bool aot_call_indirect(exec_env, u32 tbl, u32 elem, u32 argc, u32 *argv)`
    CallIndirect = "aot_call_indirect",
    /// `bool aot_memory_init(inst, u32 seg, u32 off, u32 len, size_t dst)`
    MemoryInit = "aot_memory_init",
    /// `bool aot_data_drop(inst, u32 seg)`
    DataDrop = "aot_data_drop",
    /// `u32 aot_table_grow(inst, u32 tbl, u32 inc, uintptr init)`
    TableGrow = "aot_table_grow",
    /// `void aot_table_init(inst, u32 tbl, u32 seg, u32 len, u32 src, u32 dst)`
    TableInit = "aot_table_init",
    /// `void aot_table_copy(inst, u32 src_tbl, u32 dst_tbl, u32 len, u32 src, u32 dst)`
    TableCopy = "aot_table_copy",
    /// `void aot_table_fill(inst, u32 tbl, u32 len, uintptr val, u32 dst)`
    TableFill = "aot_table_fill",
    /// `void aot_drop_table_seg(inst, u32 seg)`
    DropTableSeg = "aot_drop_table_seg",
    /// `void *memmove(void *d, const void *s, size_t n)`
    Memmove = "memmove",
    /// `void *memcpy(void *d, const void *s, size_t n)` (as memmove)
    Memcpy = "memcpy",
    /// `void *memset(void *s, int c, size_t n)`
    Memset = "memset",
}

impl Helper {
    /// The helper with number `i` (its [`Helper`] discriminant).
    pub fn from_index(i: u32) -> Option<Helper> {
        HELPERS.get(i as usize).copied()
    }
}

/// Arguments a direct WASI call keeps on the stack (WASI signatures have at most 9); import
/// calls through argument cells keep twice as many values, arguments and results together
/// (WAMR's `wasm_runtime_invoke_native` keeps 32 cells on the stack too).
const SMALL_ARGS: usize = 16;

/// Bytes memmove/memcpy/memset, `memory.init` and `table.copy` move between two
/// [`Platform::interrupt_pending`] checks (well under a millisecond under QEMU TCG).
/// (Unit tests use small chunks, so that small instances cross many chunk boundaries.)
pub const COPY_CHUNK: u64 = if cfg!(test) { 4096 } else { 1 << 20 };
/// Bytes the string scan of `aot_check_app_addr_and_convert` reads between two checks.
pub const SCAN_CHUNK: u64 = if cfg!(test) { 4096 } else { 1 << 20 };
/// Table elements `table.fill`, `table.grow` and `table.init` write between two checks.
pub const TABLE_CHUNK: u64 = if cfg!(test) { 1 } else { 1 << 16 };

fn oob() -> Stop {
    ExceptionId::OutOfBoundsMemoryAccess.into()
}

fn arg(args: &[u64], i: usize) -> u64 {
    args.get(i).copied().unwrap_or(0)
}

fn arg32(args: &[u64], i: usize) -> u32 {
    arg(args, i) as u32
}

impl<P: Platform> Instance<'_, P> {
    /// Runs entry `id` ([`Entry::to_id`]) with the call's integer arguments (registers in
    /// order, then stack words): the value for the return register, or why the run stops.
    ///
    /// After a [`Stop::Interrupted`], issuing the same `id` with the same arguments continues
    /// the interrupted work; anything else starts afresh. An instance whose instantiation is
    /// unfinished ([`Self::is_ready`]) refuses.
    pub fn dispatch(&mut self, id: u64, args: &[u64]) -> Result<u64, Stop> {
        self.check_ready()?;
        let mut regs = [0u64; 8];
        for (r, a) in regs.iter_mut().zip(args) {
            *r = *a;
        }
        let call = (id, regs);
        self.resume_from = match self.progress.take() {
            Some(p) if p.call == call => p.done,
            _ => 0,
        };
        self.call_key = call;
        match Entry::from_id(id) {
            Some(Entry::Helper(h)) => self.helper(h, args),
            Some(Entry::Import(i)) => self.direct_import(i, args),
            None => Err(Trap::format(
                format_args!("unknown runtime entry {id:#x}"),
                ExceptionId::InvalidFunctionIndex,
            )
            .into()),
        }
    }

    /// Runs `work(from, to)` over `[0, total)` in pieces of `unit`, starting where an
    /// interrupted issue of this same call stopped. `work` returns true to end early (a scan
    /// that found what it looked for). Between pieces, if the platform wants the CPU back,
    /// the progress is recorded and the call stops with [`Stop::Interrupted`].
    fn chunked(
        &mut self,
        total: u64,
        unit: u64,
        mut work: impl FnMut(&mut Self, u64, u64) -> Result<bool, Stop>,
    ) -> Result<(), Stop> {
        let mut done = core::mem::take(&mut self.resume_from).min(total);
        let unit = unit.max(1);
        while done < total {
            let end = done.saturating_add(unit).min(total);
            if work(self, done, end)? {
                return Ok(());
            }
            done = end;
            if done < total && self.platform.interrupt_pending() {
                self.progress = Some(Progress {
                    call: self.call_key,
                    done,
                });
                return Err(Stop::Interrupted);
            }
        }
        Ok(())
    }

    /// `memmove(dst, src, n)` in chunks, overlap-safe: forwards when `dst` is below `src`,
    /// backwards otherwise, so no chunk reads a byte an earlier chunk overwrote.
    ///
    /// # Safety
    /// `[src, src + n)` and `[dst, dst + n)` must be memory the payload may read and write.
    unsafe fn move_chunked(&mut self, dst: u64, src: u64, n: u64) -> Result<(), Stop> {
        let backwards = dst > src;
        self.chunked(n, COPY_CHUNK, |_, from, to| {
            let at = if backwards { n - to } else { from };
            // SAFETY: [at, at + (to - from)) lies inside [0, n), so both pieces lie inside
            // the caller's ranges; `copy` allows them to overlap.
            unsafe {
                core::ptr::copy(
                    (src + at) as *const u8,
                    (dst + at) as *mut u8,
                    (to - from) as usize,
                )
            };
            Ok(false)
        })
    }

    fn helper(&mut self, h: Helper, a: &[u64]) -> Result<u64, Stop> {
        match h {
            Helper::SetExceptionWithId => {
                let id = ExceptionId::from_u32(arg32(a, 1)).unwrap_or(ExceptionId::AlreadyThrown);
                Err(id.into())
            }
            Helper::SetException => Err(Trap::msg("exception set by module code").into()),
            Helper::CheckAppAddrAndConvert => {
                let (is_str, off, size, out) =
                    (arg(a, 1) & 0xff != 0, arg(a, 2), arg(a, 3), arg(a, 4));
                let native = self.check_app_addr(is_str, off, size)?;
                self.write_module_u64(out, native)?;
                Ok(1)
            }
            Helper::EnlargeMemory => Ok(u64::from(self.grow_memory(arg32(a, 1)))),
            Helper::InvokeNative => {
                let (idx, argc, argv) = (arg32(a, 1), arg32(a, 2), arg(a, 3));
                self.call_import_cells(idx, argc, argv)?;
                Ok(1)
            }
            Helper::CallIndirect => {
                let (tbl, elem, argc, argv) = (arg32(a, 1), arg32(a, 2), arg32(a, 3), arg(a, 4));
                let t = *self
                    .tables
                    .get(tbl as usize)
                    .ok_or(Stop::from(ExceptionId::UndefinedElement))?;
                if elem >= t.cur {
                    return Err(ExceptionId::UndefinedElement.into());
                }
                let f = self.table_get(t.off, elem);
                if f == NULL_REF {
                    return Err(ExceptionId::UninitializedElement.into());
                }
                let f =
                    u32::try_from(f).map_err(|_| Stop::from(ExceptionId::InvalidFunctionIndex))?;
                if f as usize >= self.module.import_funcs.len() {
                    // Generated code calls defined functions itself; only imports come here.
                    return Err(ExceptionId::InvalidFunctionIndex.into());
                }
                self.call_import_cells(f, argc, argv)?;
                Ok(1)
            }
            Helper::MemoryInit => {
                let (seg, off, len, dst) = (arg32(a, 1), arg32(a, 2), arg32(a, 3), arg(a, 4));
                self.memory_init(seg, off, len, dst)?;
                Ok(1)
            }
            Helper::DataDrop => {
                if let Some(d) = self.data_dropped.get_mut(arg32(a, 1) as usize) {
                    *d = true;
                }
                Ok(1)
            }
            Helper::TableGrow => Ok(u64::from(self.table_grow(
                arg32(a, 1),
                arg32(a, 2),
                arg(a, 3),
            )?)),
            Helper::TableInit => {
                self.table_init(
                    arg32(a, 1),
                    arg32(a, 2),
                    arg32(a, 3),
                    arg32(a, 4),
                    arg32(a, 5),
                )?;
                Ok(0)
            }
            Helper::TableCopy => {
                self.table_copy(
                    arg32(a, 1),
                    arg32(a, 2),
                    arg32(a, 3),
                    arg32(a, 4),
                    arg32(a, 5),
                )?;
                Ok(0)
            }
            Helper::TableFill => {
                self.table_fill(arg32(a, 1), arg32(a, 2), arg(a, 3), arg32(a, 4))?;
                Ok(0)
            }
            Helper::DropTableSeg => {
                if let Some(d) = self.elem_dropped.get_mut(arg32(a, 1) as usize) {
                    *d = true;
                }
                Ok(0)
            }
            Helper::Memmove | Helper::Memcpy => {
                let (d, s, n) = (arg(a, 0), arg(a, 1), arg(a, 2));
                if n > 0 {
                    if !self.module_writable(d, n) || !self.module_writable(s, n) {
                        return Err(oob());
                    }
                    // SAFETY: both ranges lie inside memory module code may read and write
                    // (linear memory, data block or stack), checked against own records.
                    unsafe { self.move_chunked(d, s, n)? };
                }
                Ok(d)
            }
            Helper::Memset => {
                let (d, c, n) = (arg(a, 0), arg(a, 1) as u8, arg(a, 2));
                if n > 0 {
                    if !self.module_writable(d, n) {
                        return Err(oob());
                    }
                    self.chunked(n, COPY_CHUNK, |_, from, to| {
                        // SAFETY: [d + from, d + to) lies inside [d, d + n), which module code
                        // may write (checked above against own records).
                        unsafe {
                            core::ptr::write_bytes((d + from) as *mut u8, c, (to - from) as usize)
                        };
                        Ok(false)
                    })?;
                }
                Ok(d)
            }
        }
    }

    /// True if `[addr, addr + len)` lies in memory module code may write anyway: committed
    /// linear memory, the data block, or the native stack.
    pub(crate) fn module_writable(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let m = self.mem.unwrap_or_default();
        let (sl, sh) = self.stack();
        let inside = |lo: u64, hi: u64| addr >= lo && end <= hi;
        inside(m.base, m.base + m.size())
            || inside(self.data_addr, self.data_addr + self.data_len as u64)
            || inside(sl, sh)
    }

    fn write_module_u64(&mut self, addr: u64, v: u64) -> Result<(), Stop> {
        if !self.module_writable(addr, 8) {
            return Err(oob());
        }
        // SAFETY: module-writable memory (checked); unaligned write.
        unsafe { core::ptr::write_unaligned(addr as *mut u64, v) };
        Ok(())
    }

    /// WAMR's `wasm_check_app_addr_and_convert` with the checks always on.
    fn check_app_addr(&mut self, is_str: bool, off: u64, size: u64) -> Result<u64, Stop> {
        let m = self.mem.unwrap_or_default();
        let total = m.size();
        if off >= total {
            return Err(oob());
        }
        if is_str {
            let mut found = false;
            self.chunked(total - off, SCAN_CHUNK, |_, from, to| {
                // SAFETY: [base + off + from, base + off + to) lies inside
                // [base + off, base + total), committed linear memory.
                let s = unsafe {
                    core::slice::from_raw_parts(
                        (m.base + off + from) as *const u8,
                        (to - from) as usize,
                    )
                };
                found = s.contains(&0);
                Ok(found)
            })?;
            if !found {
                return Err(oob());
            }
        } else if size > total - off {
            return Err(oob());
        }
        Ok(m.base + off)
    }

    /// Native pointer from a direct import call back to an app offset (0 stays 0).
    fn app_offset(&self, native: u64) -> Result<u64, Stop> {
        if native == 0 {
            return Ok(0);
        }
        let m = self.mem.unwrap_or_default();
        match native.checked_sub(m.base) {
            Some(off) if off <= m.size() => Ok(off),
            _ => Err(oob()),
        }
    }

    /// `memory.grow`: true and the mirror updated, or false (no exception) as WAMR does.
    pub(crate) fn grow_memory(&mut self, delta: u32) -> bool {
        let Some(mut m) = self.mem else { return false };
        let Some(new_pages) = m.pages.checked_add(delta) else {
            return false;
        };
        if new_pages > m.max_pages {
            return false;
        }
        let old = m.size();
        let new = m.page_size * u64::from(new_pages);
        if new > m.window || self.quota.charge("linear memory", new - old).is_err() {
            return false;
        }
        if new > old && self.platform.commit_memory(m.base, old, new).is_err() {
            self.quota.release(new - old);
            return false;
        }
        m.pages = new_pages;
        self.mem = Some(m);
        self.sync_memory_mirror();
        true
    }

    fn memory_init(&mut self, seg: u32, off: u32, len: u32, dst: u64) -> Result<(), Stop> {
        let d = self
            .module
            .data_segments
            .get(seg as usize)
            .ok_or_else(oob)?;
        let bytes: &[u8] = if self.data_dropped.get(seg as usize).copied().unwrap_or(true) {
            &[]
        } else {
            d.bytes.get(self.file).unwrap_or(&[])
        };
        let src = bytes
            .get(off as usize..(off as usize).saturating_add(len as usize))
            .ok_or_else(oob)?;
        let m = self.mem.unwrap_or_default();
        if dst.checked_add(u64::from(len)).is_none_or(|e| e > m.size()) {
            return Err(oob());
        }
        let (from_file, to) = (src.as_ptr(), m.base + dst);
        self.chunked(src.len() as u64, COPY_CHUNK, |_, a, b| {
            // SAFETY: [to + a, to + b) lies inside [base + dst, + len), committed linear
            // memory (checked); [from_file + a, + (b - a)) inside `src`, part of the file.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    from_file.add(a as usize),
                    (to + a) as *mut u8,
                    (b - a) as usize,
                )
            };
            Ok(false)
        })
    }

    fn table_get(&self, off: usize, i: u32) -> u64 {
        let mut b = [0u8; 8];
        self.read_data(off + TABLE_ELEMS_OFFSET + 8 * i as usize, &mut b);
        u64::from_le_bytes(b)
    }

    fn table_set(&mut self, off: usize, i: u32, v: u64) {
        self.write_u64(off + TABLE_ELEMS_OFFSET + 8 * i as usize, v);
    }

    fn table_oob() -> Stop {
        ExceptionId::OutOfBoundsTableAccess.into()
    }

    fn table_grow(&mut self, tbl: u32, inc: u32, init: u64) -> Result<u32, Stop> {
        let Some(t) = self.tables.get(tbl as usize).copied() else {
            return Ok(u32::MAX);
        };
        let Some(n) = t.cur.checked_add(inc) else {
            return Ok(u32::MAX);
        };
        if n > t.slots {
            return Ok(u32::MAX);
        }
        // The new size is published only once every new element is set.
        self.chunked(u64::from(inc), TABLE_CHUNK, |i, a, b| {
            for k in a..b {
                i.table_set(t.off, t.cur + k as u32, init);
            }
            Ok(false)
        })?;
        if let Some(r) = self.tables.get_mut(tbl as usize) {
            r.cur = n;
        }
        // Mirror cur_size (+0x10 in the table header).
        self.write_bytes(t.off + 0x10, &n.to_le_bytes());
        Ok(t.cur)
    }

    fn table_init(&mut self, tbl: u32, seg: u32, len: u32, src: u32, dst: u32) -> Result<(), Stop> {
        let t = *self.tables.get(tbl as usize).ok_or_else(Self::table_oob)?;
        let module = self.module;
        let e = module
            .elem_segments
            .get(seg as usize)
            .ok_or_else(Self::table_oob)?;
        let dropped = self.elem_dropped.get(seg as usize).copied().unwrap_or(true);
        let seg_len = if dropped || e.mode != ElemMode::Passive {
            0
        } else {
            e.values.len() as u64
        };
        if u64::from(src) + u64::from(len) > seg_len
            || u64::from(dst) + u64::from(len) > u64::from(t.cur)
        {
            return Err(Self::table_oob());
        }
        self.chunked(u64::from(len), TABLE_CHUNK, |i, a, b| {
            for k in a as u32..b as u32 {
                i.table_init_one(t.off, e, src + k, dst + k);
            }
            Ok(false)
        })
    }

    fn table_init_one(&mut self, table: usize, e: &ElemSegment, from: u32, to: u32) {
        let v = match e.values.get(from as usize) {
            Some(InitExpr::RefFunc(f)) => u64::from(*f),
            // As WAMR 2.4.3: the ref.null payload, see `Instance::elem_value`.
            Some(InitExpr::RefNull(x)) => u64::from(*x),
            Some(InitExpr::GlobalGet(g)) => self
                .globals
                .get(*g as usize)
                .map_or(NULL_REF, |v| u64::from(*v as u32)),
            _ => NULL_REF,
        };
        self.table_set(table, to, v);
    }

    fn table_copy(&mut self, st: u32, dt: u32, len: u32, src: u32, dst: u32) -> Result<(), Stop> {
        let s = *self.tables.get(st as usize).ok_or_else(Self::table_oob)?;
        let d = *self.tables.get(dt as usize).ok_or_else(Self::table_oob)?;
        if u64::from(src) + u64::from(len) > u64::from(s.cur)
            || u64::from(dst) + u64::from(len) > u64::from(d.cur)
        {
            return Err(Self::table_oob());
        }
        // In place, overlap-safe (memmove), with no working memory: both ranges lie inside
        // their tables (checked above), and the tables inside the data block.
        let elem = |t: usize, i: u32| -> Option<usize> {
            t.checked_add(TABLE_ELEMS_OFFSET)?
                .checked_add((i as usize).checked_mul(8)?)
        };
        let bytes = (len as usize).checked_mul(8).ok_or_else(Self::table_oob)?;
        let (Some(from), Some(to)) = (elem(s.off, src), elem(d.off, dst)) else {
            return Err(Self::table_oob());
        };
        let inside = |o: usize| o.checked_add(bytes).is_some_and(|e| e <= self.data_len);
        if bytes == 0 {
            return Ok(());
        }
        if !inside(from) || !inside(to) {
            return Err(Self::table_oob());
        }
        // SAFETY: [data + from, + bytes) and [data + to, + bytes) lie inside the data block
        // (checked above), which the payload may read and write.
        unsafe {
            self.move_chunked(
                self.data_addr + to as u64,
                self.data_addr + from as u64,
                bytes as u64,
            )
        }
    }

    fn table_fill(&mut self, tbl: u32, len: u32, val: u64, dst: u32) -> Result<(), Stop> {
        let t = *self.tables.get(tbl as usize).ok_or_else(Self::table_oob)?;
        if u64::from(dst) + u64::from(len) > u64::from(t.cur) {
            return Err(Self::table_oob());
        }
        self.chunked(u64::from(len), TABLE_CHUNK, |i, a, b| {
            for k in a as u32..b as u32 {
                i.table_set(t.off, dst + k, val);
            }
            Ok(false)
        })
    }

    fn unlinked(&self, idx: u32) -> Stop {
        match self.module.import_funcs.get(idx as usize) {
            Some(i) => Trap::format(
                format_args!(
                    "failed to call unlinked import function ({}, {})",
                    i.module, i.name
                ),
                ExceptionId::CallUnlinkedImportFunc,
            ),
            // Only module code that forged an entry id gets here.
            None => Trap::format(
                format_args!(
                    "unknown runtime entry: import {idx} of {}",
                    self.module.import_funcs.len()
                ),
                ExceptionId::InvalidFunctionIndex,
            ),
        }
        .into()
    }

    /// An import called by `aot_invoke_native` / `aot_call_indirect`: arguments as 32-bit
    /// cells at `argv` (in the module-writable data block), the result written back there.
    fn call_import_cells(&mut self, idx: u32, argc: u32, argv: u64) -> Result<(), Stop> {
        let binding = *self
            .imports
            .get(idx as usize)
            .ok_or_else(|| self.unlinked(idx))?;
        let ty: &FuncType = self
            .module
            .func_type(idx)
            .ok_or(Stop::from(ExceptionId::InvalidFunctionIndex))?;
        if argc != ty.param_cells() {
            return Err(ExceptionId::InvalidFunctionTypeIndex.into());
        }
        let cells = u64::from(ty.param_cells().max(ty.result_cells()));
        if !self.module_writable(argv, cells.saturating_mul(4)) {
            return Err(oob());
        }
        // SAFETY: `cells` u32 cells at argv lie in module-writable memory (checked), and
        // every `k` below is less than `cells`.
        let read_cell = |k: u64| unsafe { core::ptr::read_unaligned((argv + 4 * k) as *const u32) };
        // Arguments and results: on the stack for up to 32 values (every WASI function and
        // nearly every host import), else fallibly on the heap, as WAMR's
        // `wasm_runtime_invoke_native` does (it traps "allocate memory failed").
        let mut small = [0u64; 2 * SMALL_ARGS];
        let mut big: Vec<u64>;
        let (np, nr) = (ty.params.len(), ty.results.len());
        let values: &mut [u64] = match np.checked_add(nr) {
            Some(n) if n <= small.len() => small.get_mut(..n).unwrap_or_default(),
            Some(n) => {
                big = fallible::vec_filled(n, 0u64)?;
                &mut big
            }
            None => return Err(ExceptionId::OutOfMemory.into()),
        };
        let (args, results) = values.split_at_mut(np.min(values.len()));
        let mut k = 0u64;
        for (p, a) in ty.params.iter().zip(args.iter_mut()) {
            *a = match p.cells() {
                1 => u64::from(read_cell(k)),
                _ => u64::from(read_cell(k)) | (u64::from(read_cell(k + 1)) << 32),
            };
            k += u64::from(p.cells());
        }
        match binding {
            ImportBinding::Unlinked => return Err(self.unlinked(idx)),
            ImportBinding::Wasi { func, .. } => {
                let r = self.call_wasi(func, args)?;
                if let Some(slot) = results.first_mut() {
                    *slot = r;
                }
            }
            ImportBinding::Host(id) => {
                let m = self.mem.unwrap_or_default();
                // SAFETY: the committed part of linear memory, per the runtime's record.
                let mut mem =
                    unsafe { wasi::GuestMemory::new(m.base as *mut u8, m.size() as usize) };
                self.platform
                    .call_import(id, &mut mem, args, results)
                    .map_err(|msg| Stop::Trap(Trap::Message(msg)))?;
            }
        }
        let mut k = 0u64;
        for (r, t) in results.iter().zip(ty.results.iter()) {
            // SAFETY: inside the checked argv range (results take at most `cells` cells).
            unsafe {
                core::ptr::write_unaligned((argv + 4 * k) as *mut u32, *r as u32);
                if t.cells() >= 2 {
                    core::ptr::write_unaligned((argv + 4 * k + 4) as *mut u32, (*r >> 32) as u32);
                }
            }
            k += u64::from(t.cells());
        }
        Ok(())
    }

    /// A direct call of import `idx` through `func_ptrs` with WAMR's native signature:
    /// `a[0]` is exec_env, then the arguments, pointers already converted to native.
    fn direct_import(&mut self, idx: u32, a: &[u64]) -> Result<u64, Stop> {
        let binding = *self
            .imports
            .get(idx as usize)
            .ok_or_else(|| self.unlinked(idx))?;
        let ImportBinding::Wasi {
            func,
            direct: Some(sig),
        } = binding
        else {
            return Err(self.unlinked(idx));
        };
        // WASI signatures have at most 9 parameters.
        let mut args = [0u64; SMALL_ARGS];
        let mut n = 0;
        for (slot, (k, c)) in args
            .iter_mut()
            .zip(signature::params(sig).chars().enumerate())
        {
            let v = arg(a, k + 1);
            *slot = match c {
                '*' | '$' => self.app_offset(v)?,
                'i' | '~' => v & 0xffff_ffff,
                _ => v,
            };
            n = k + 1;
        }
        self.call_wasi(func, args.get(..n).unwrap_or_default())
    }

    fn call_wasi(&mut self, func: wasi::WasiFunc, args: &[u64]) -> Result<u64, Stop> {
        let m = self.mem.unwrap_or_default();
        // SAFETY: the committed part of linear memory, per the runtime's own record.
        let mut mem = unsafe { wasi::GuestMemory::new(m.base as *mut u8, m.size() as usize) };
        let mut resume = core::mem::take(&mut self.resume_from);
        match wasi::call_resumable(func, &mut mem, self.platform.wasi_host(), args, &mut resume) {
            WasiOutcome::Return(errno) => Ok(u64::from(errno)),
            WasiOutcome::Exit(code) => Err(Stop::Exit(code)),
            WasiOutcome::Pending => Err(Stop::Pending),
            WasiOutcome::Interrupted => {
                self.progress = Some(Progress {
                    call: self.call_key,
                    done: resume,
                });
                Err(Stop::Interrupted)
            }
        }
    }

    /// The argv buffer address (for tests and embedders).
    pub fn argv_buf(&self) -> u64 {
        self.data_addr + ARGV_OFF as u64
    }
}
