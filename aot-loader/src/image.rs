//! The loaded image: where code, PLT, GOT and object data sections go, and building it.
//!
//! One contiguous image per module, so every PC-relative reference stays inside it:
//!
//! ```text
//! 0            code (TEXT)                      RX
//!              PLT: one entry per runtime helper called by a branch
//! rx_len       (page boundary)
//!              GOT: one 8-byte slot per symbol used by x86-64 GOTPCREL*   R
//!              object data sections (.rodata, .rodata.cst16, .aot_stack_sizes, ...)
//! total_len    (page boundary)
//! ```
//!
//! Branches (`bl`, `b`, x86 `call rel32`) to runtime helpers always go through the PLT, so the
//! helpers may be anywhere in the address space; the PLT itself is within ±128 MiB of every
//! call as long as the image is under 128 MiB (checked per relocation). Data sections sit
//! right after the code, within ADRP (±4 GiB) and x86 `rel32` (±2 GiB) range.
//!
//! aarch64 PLT entry (16 bytes): `ldr x16, #8; br x16; .quad target`. x16/x17 (IP0/IP1) are
//! the AAPCS64 intra-procedure-call registers that a linker veneer may clobber across a `bl`.
//! x86-64 PLT entry (16 bytes): `jmp [rip+0]; .quad target; int3; int3`, clobbering nothing.
//!
//! [`build`] is pure: it fills a caller-provided byte buffer for a caller-chosen run-time
//! address and asks a callback for each runtime symbol's address. Mapping, permissions and
//! I-cache maintenance are the platform's job. [`ImageBuild`] does the same in resumable
//! pieces of bounded work, for an embedder that must give the CPU back between them.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::fallible::{self, OutOfMemory};
use crate::module::{span_str, AotModule, RelocTarget, Symbol};
use crate::reloc::{self, RelocError};
use crate::Arch;

/// Bytes per PLT entry (both processors).
pub const PLT_ENTRY_SIZE: u32 = 16;
/// Alignment of each object data section in the image. ELF rodata sections LLVM emits for
/// these targets need at most 16 (`.rodata.cst16`) or 32 (`.rodata.cst32`).
pub const DATA_SECTION_ALIGN: u32 = 64;
/// Largest image: keeps every branch to the PLT within ±128 MiB.
pub const MAX_IMAGE_SIZE: u32 = 120 << 20;

/// Where everything goes, computed from the module alone by [`plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLayout {
    /// Processor.
    pub arch: Arch,
    /// Page size used for the RX/R split.
    pub page_size: u32,
    /// Offset of the code (always 0).
    pub code_offset: u32,
    /// Length of the code.
    pub code_len: u32,
    /// Offset of the PLT.
    pub plt_offset: u32,
    /// Symbol-table index of the runtime symbol behind each PLT entry.
    pub plt_symbols: Vec<u32>,
    /// End of the executable part, page aligned.
    pub rx_len: u32,
    /// Offset of the GOT (8-byte slots).
    pub got_offset: u32,
    /// Symbol-table index of the symbol behind each GOT slot.
    pub got_symbols: Vec<u32>,
    /// Offset of each object data section, parallel to `module.data_sections`.
    pub data_offsets: Vec<u32>,
    /// Total size, page aligned.
    pub total_len: u32,
}

impl ImageLayout {
    /// Offset of function `index` (not counting imports) in the image.
    pub fn func_offset(&self, module: &AotModule, index: u32) -> Option<u32> {
        let f = module.functions.get(usize::try_from(index).ok()?)?;
        self.code_offset.checked_add(f.text_offset)
    }
}

/// Why an image could not be planned or built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The image would exceed [`MAX_IMAGE_SIZE`].
    TooLarge {
        /// Bytes needed (saturated).
        size: u64,
    },
    /// `page_size` is not a power of two between 4 KiB and 64 KiB.
    BadPageSize(u32),
    /// The buffer given to [`build`] or [`ImageBuild`] is not `total_len` bytes.
    BufferSize {
        /// Required.
        expected: u32,
        /// Given.
        got: usize,
    },
    /// The file buffer is not the one the module was parsed from.
    FileMismatch,
    /// The runtime does not provide a function the code calls.
    UnresolvedSymbol(String),
    /// A branch to a runtime symbol with a positive addend (rejected as by WAMR).
    PltAddend {
        /// Symbol.
        symbol: String,
        /// Addend.
        addend: i64,
    },
    /// A relocation uses a symbol that cannot be resolved here.
    BadSymbol(String),
    /// Memory for the layout or the relocation bookkeeping ran out.
    OutOfMemory,
    /// Applying a relocation failed.
    Reloc {
        /// Relocation group name.
        group: String,
        /// Index of the relocation in the group.
        index: usize,
        /// Symbol name.
        symbol: String,
        /// What went wrong.
        error: RelocError,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::TooLarge { size } => write!(
                f,
                "module code and data need {size} bytes; tzwasm loads at most {MAX_IMAGE_SIZE}"
            ),
            ImageError::BadPageSize(p) => write!(f, "unsupported page size {p}"),
            ImageError::BufferSize { expected, got } => {
                write!(f, "image buffer is {got} bytes, layout needs {expected}")
            }
            ImageError::FileMismatch => {
                write!(f, "file buffer does not match the parsed module")
            }
            ImageError::UnresolvedSymbol(s) => write!(
                f,
                "module calls runtime function \"{s}\", which tzwasm does not provide"
            ),
            ImageError::PltAddend { symbol, addend } => write!(
                f,
                "branch to runtime function \"{symbol}\" with addend {addend} is not supported"
            ),
            ImageError::BadSymbol(s) => write!(f, "relocation symbol \"{s}\" cannot be resolved"),
            ImageError::OutOfMemory => f.write_str("out of memory while relocating the module"),
            ImageError::Reloc {
                group,
                index,
                symbol,
                error,
            } => write!(
                f,
                "{group} relocation {index} against \"{symbol}\": {error}"
            ),
        }
    }
}

impl From<OutOfMemory> for ImageError {
    fn from(_: OutOfMemory) -> Self {
        ImageError::OutOfMemory
    }
}

/// `make(name)` with a copy of `name`, or `OutOfMemory` if it cannot be copied.
fn named(make: impl FnOnce(String) -> ImageError, name: &str) -> ImageError {
    match fallible::string(name) {
        Ok(s) => make(s),
        Err(e) => e.into(),
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a).saturating_mul(a)
}

/// True if the code holds 32-bit absolute addresses (x86-64 `R_X86_64_32`/`32S`, emitted by
/// wamrc's default small code model for jump tables): the image must then be placed in the
/// low 2 GiB of the address space (Linux `MAP_32BIT`), as WAMR does, or [`build`] fails with
/// a range error. Files compiled with `--size-level=0` do not need this.
pub fn needs_low_address(module: &AotModule) -> bool {
    module.target.arch == Arch::X86_64
        && module.relocation_groups.iter().any(|g| {
            g.relocations
                .iter()
                .any(|r| r.r_type == reloc::x86_64::R_32 || r.r_type == reloc::x86_64::R_32S)
        })
}

/// Computes the layout of `module`'s image for pages of `page_size` bytes.
pub fn plan(module: &AotModule, page_size: u32) -> Result<ImageLayout, ImageError> {
    if !page_size.is_power_of_two() || !(4096..=65536).contains(&page_size) {
        return Err(ImageError::BadPageSize(page_size));
    }
    let arch = module.target.arch;
    let mut plt_symbols: Vec<u32> = Vec::new();
    let mut got_symbols: Vec<u32> = Vec::new();
    // Per symbol: bit 0 = has a PLT entry, bit 1 = has a GOT slot (constant time per
    // relocation, whatever the number of symbols).
    let mut seen = fallible::vec_filled(module.symbols.len(), 0u8)?;
    for g in &module.relocation_groups {
        for r in &g.relocations {
            let runtime = matches!(
                module.symbols.get(r.symbol as usize),
                Some(Symbol::Runtime(_))
            );
            let Some(flags) = seen.get_mut(r.symbol as usize) else {
                continue; // the parser checked every symbol index
            };
            if runtime && reloc::is_branch(arch, r.r_type) && *flags & 1 == 0 {
                *flags |= 1;
                fallible::push(&mut plt_symbols, r.symbol)?;
            }
            if reloc::uses_got(arch, r.r_type) && *flags & 2 == 0 {
                *flags |= 2;
                fallible::push(&mut got_symbols, r.symbol)?;
            }
        }
    }
    let page = u64::from(page_size);
    let code_len = u64::from(module.code.len);
    let plt_offset = align_up(code_len, u64::from(PLT_ENTRY_SIZE));
    let plt_end = plt_offset
        .saturating_add((plt_symbols.len() as u64).saturating_mul(u64::from(PLT_ENTRY_SIZE)));
    let rx_len = align_up(plt_end, page);
    let got_offset = rx_len;
    let mut end = got_offset.saturating_add((got_symbols.len() as u64).saturating_mul(8));
    // Everything is checked against MAX_IMAGE_SIZE below, so the u32 conversions are exact
    // for any layout that is returned.
    let to32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let mut data_offsets = fallible::vec_with_capacity(module.data_sections.len())?;
    for d in &module.data_sections {
        end = align_up(end, u64::from(DATA_SECTION_ALIGN));
        data_offsets.push(to32(end));
        end = end.saturating_add(u64::from(d.bytes.len));
    }
    let total = align_up(end, page);
    if total > u64::from(MAX_IMAGE_SIZE) {
        return Err(ImageError::TooLarge { size: total });
    }
    Ok(ImageLayout {
        arch,
        page_size,
        code_offset: 0,
        code_len: module.code.len,
        plt_offset: to32(plt_offset),
        plt_symbols,
        rx_len: to32(rx_len),
        got_offset: to32(got_offset),
        got_symbols,
        data_offsets,
        total_len: to32(total),
    })
}

fn write_plt_entry(arch: Arch, entry: &mut [u8], target: u64) {
    let mut e = [0u8; PLT_ENTRY_SIZE as usize];
    match arch {
        Arch::Aarch64 => {
            e[0..4].copy_from_slice(&0x5800_0050u32.to_le_bytes()); // ldr x16, #8
            e[4..8].copy_from_slice(&0xd61f_0200u32.to_le_bytes()); // br x16
            e[8..16].copy_from_slice(&target.to_le_bytes());
        }
        Arch::X86_64 => {
            e[0..6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]); // jmp [rip+0]
            e[6..14].copy_from_slice(&target.to_le_bytes());
            e[14..16].copy_from_slice(&[0xcc, 0xcc]);
        }
    }
    for (d, s) in entry.iter_mut().zip(e.iter()) {
        *d = *s;
    }
}

fn copy_into(image: &mut [u8], offset: u64, src: &[u8]) -> Result<(), ImageError> {
    let start = usize::try_from(offset).map_err(|_| ImageError::FileMismatch)?;
    let dst = start
        .checked_add(src.len())
        .and_then(|end| image.get_mut(start..end))
        .ok_or(ImageError::FileMismatch)?;
    dst.copy_from_slice(src);
    Ok(())
}

/// Bytes zeroed or copied per unit of [`ImageBuild::step`]'s budget.
pub const BYTES_PER_UNIT: usize = 64;

/// Where an [`ImageBuild`] is; the stages run in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Zeroing the whole image: bytes done.
    Zero(usize),
    /// Copying the code: bytes done.
    Code(usize),
    /// Copying object data section `.0`: bytes of it done.
    Data(usize, usize),
    /// Writing PLT entry `.0`.
    Plt(usize),
    /// Writing GOT slot `.0`.
    Got(usize),
    /// Applying relocation `.1` of relocation group `.0`.
    Reloc(usize, usize),
    /// The image is complete.
    Done,
}

/// A resumable [`build`]: [`ImageBuild::new`] does the cheap parts (buffer size check,
/// runtime symbol resolution, PLT/GOT slot tables), then each [`ImageBuild::step`] does a
/// bounded piece of the rest, so an embedder that must not keep the CPU long (the secure
/// world with interrupts masked) can return between pieces.
///
/// The unit of work of a step's budget is: [`BYTES_PER_UNIT`] bytes zeroed or copied (a
/// shorter piece, including an empty data section, counts as one unit), one PLT entry or GOT
/// slot written, one relocation applied (an empty relocation group counts as one). Whatever
/// the budgets, the finished image holds exactly the bytes [`build`] writes.
///
/// The builder holds no borrow: every step is given the same `module`, `file`, `layout`,
/// image buffer and address as the constructor was (the buffer's contents in between are the
/// builder's business). After a step returned an error the image is unusable.
#[derive(Debug)]
pub struct ImageBuild {
    /// Address of each runtime symbol (`None` for other symbols), by symbol index.
    resolved: Vec<Option<u64>>,
    /// PLT entry of each symbol (`u32::MAX`: none), by symbol index.
    plt_slot: Vec<u32>,
    /// GOT slot of each symbol (`u32::MAX`: none), by symbol index.
    got_slot: Vec<u32>,
    stage: Stage,
}

/// The end of the next piece of `[done, total)` worth at most `left` units, and the units it
/// costs (at least one, even for an empty piece).
fn piece(done: usize, total: usize, left: u64) -> (usize, u64) {
    let max = usize::try_from(left.saturating_mul(BYTES_PER_UNIT as u64)).unwrap_or(usize::MAX);
    let end = done.saturating_add(max).min(total).max(done);
    let units = (end.saturating_sub(done) as u64)
        .div_ceil(BYTES_PER_UNIT as u64)
        .max(1);
    (end, units)
}

/// Offset and length in the image of the section relocation group `g` patches.
fn group_section(
    module: &AotModule,
    layout: &ImageLayout,
    g: &crate::module::RelocationGroup,
) -> Result<(u32, u32), ImageError> {
    Ok(match g.target {
        RelocTarget::Text => (layout.code_offset, layout.code_len),
        RelocTarget::DataSection(d) => {
            let off = *layout
                .data_offsets
                .get(d as usize)
                .ok_or(ImageError::FileMismatch)?;
            let len = module
                .data_sections
                .get(d as usize)
                .map_or(0, |s| s.bytes.len);
            (off, len)
        }
    })
}

impl ImageBuild {
    /// Prepares building `module`'s image (parsed from `file`, laid out by `layout`) into a
    /// buffer of `image_len` bytes, which must be `layout.total_len`. `resolve` returns the
    /// address of a runtime symbol, or `None` if the runtime does not provide it; it is
    /// called here, once per runtime symbol, and never by [`Self::step`].
    pub fn new(
        module: &AotModule,
        file: &[u8],
        layout: &ImageLayout,
        image_len: usize,
        resolve: &mut dyn FnMut(&str) -> Option<u64>,
    ) -> Result<Self, ImageError> {
        if image_len != layout.total_len as usize {
            return Err(ImageError::BufferSize {
                expected: layout.total_len,
                got: image_len,
            });
        }
        // Runtime symbols, resolved once each.
        let mut resolved: Vec<Option<u64>> = fallible::vec_filled(module.symbols.len(), None)?;
        for (slot, s) in resolved.iter_mut().zip(module.symbols.iter()) {
            if let Symbol::Runtime(span) = s {
                let name = span_str(file, *span);
                let addr =
                    resolve(name).ok_or_else(|| named(ImageError::UnresolvedSymbol, name))?;
                *slot = Some(addr);
            }
        }
        // PLT entry and GOT slot of each symbol (u32::MAX = none), so each relocation finds
        // its entry in constant time.
        let mut plt_slot = fallible::vec_filled(module.symbols.len(), u32::MAX)?;
        let mut got_slot = fallible::vec_filled(module.symbols.len(), u32::MAX)?;
        for (map, list) in [
            (&mut plt_slot, &layout.plt_symbols),
            (&mut got_slot, &layout.got_symbols),
        ] {
            for (k, &sym) in list.iter().enumerate() {
                let slot = map.get_mut(sym as usize).ok_or(ImageError::FileMismatch)?;
                *slot = u32::try_from(k).map_err(|_| ImageError::FileMismatch)?;
            }
        }
        Ok(ImageBuild {
            resolved,
            plt_slot,
            got_slot,
            stage: Stage::Zero(0),
        })
    }

    /// True once the image is complete.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The address symbol `i` stands for, ignoring PLT and GOT.
    fn symbol_addr(
        &self,
        module: &AotModule,
        file: &[u8],
        layout: &ImageLayout,
        image_addr: u64,
        i: u32,
    ) -> Result<u64, ImageError> {
        let addr_of = |offset: u32| image_addr.wrapping_add(u64::from(offset));
        let name_of = |i: u32| -> &str { module.symbol_name(file, i) };
        match module.symbols.get(i as usize) {
            Some(Symbol::AotFunc(n)) => layout
                .func_offset(module, *n)
                .map(addr_of)
                .ok_or_else(|| named(ImageError::BadSymbol, name_of(i))),
            Some(Symbol::Text) => Ok(addr_of(layout.code_offset)),
            Some(Symbol::DataSection(d)) => layout
                .data_offsets
                .get(*d as usize)
                .map(|&o| addr_of(o))
                .ok_or_else(|| named(ImageError::BadSymbol, name_of(i))),
            Some(Symbol::Runtime(_)) => self
                .resolved
                .get(i as usize)
                .copied()
                .flatten()
                .ok_or_else(|| named(ImageError::UnresolvedSymbol, name_of(i))),
            _ => Err(named(ImageError::BadSymbol, name_of(i))),
        }
    }

    /// Does at most about `budget` units of work (see [`ImageBuild`]; a budget of 0 counts as
    /// 1, so every step makes progress) on `image` (to run at `image_addr`) and returns
    /// `Ok(true)` when the image is complete. Once complete, further steps do nothing.
    pub fn step(
        &mut self,
        module: &AotModule,
        file: &[u8],
        layout: &ImageLayout,
        image: &mut [u8],
        image_addr: u64,
        budget: u64,
    ) -> Result<bool, ImageError> {
        if image.len() != layout.total_len as usize {
            return Err(ImageError::BufferSize {
                expected: layout.total_len,
                got: image.len(),
            });
        }
        let arch = layout.arch;
        let mut left = budget.max(1);
        loop {
            match self.stage {
                Stage::Done => return Ok(true),
                _ if left == 0 => return Ok(false),
                Stage::Zero(done) => {
                    let total = image.len();
                    let (end, units) = piece(done, total, left);
                    image
                        .get_mut(done..end)
                        .ok_or(ImageError::FileMismatch)?
                        .fill(0);
                    left = left.saturating_sub(units);
                    self.stage = if end >= total {
                        Stage::Code(0)
                    } else {
                        Stage::Zero(end)
                    };
                }
                Stage::Code(done) => {
                    let code = module.code.get(file).ok_or(ImageError::FileMismatch)?;
                    let (end, units) = piece(done, code.len(), left);
                    let src = code.get(done..end).ok_or(ImageError::FileMismatch)?;
                    let at = u64::from(layout.code_offset).saturating_add(done as u64);
                    copy_into(image, at, src)?;
                    left = left.saturating_sub(units);
                    self.stage = if end >= code.len() {
                        Stage::Data(0, 0)
                    } else {
                        Stage::Code(end)
                    };
                }
                Stage::Data(d, done) => {
                    let (Some(section), Some(&off)) =
                        (module.data_sections.get(d), layout.data_offsets.get(d))
                    else {
                        self.stage = Stage::Plt(0);
                        continue;
                    };
                    let bytes = section.bytes.get(file).ok_or(ImageError::FileMismatch)?;
                    let (end, units) = piece(done, bytes.len(), left);
                    let src = bytes.get(done..end).ok_or(ImageError::FileMismatch)?;
                    copy_into(image, u64::from(off).saturating_add(done as u64), src)?;
                    left = left.saturating_sub(units);
                    self.stage = if end >= bytes.len() {
                        Stage::Data(d.saturating_add(1), 0)
                    } else {
                        Stage::Data(d, end)
                    };
                }
                Stage::Plt(k) => {
                    let Some(&sym) = layout.plt_symbols.get(k) else {
                        self.stage = Stage::Got(0);
                        continue;
                    };
                    let target = self.symbol_addr(module, file, layout, image_addr, sym)?;
                    let off = (k as u64)
                        .checked_mul(u64::from(PLT_ENTRY_SIZE))
                        .and_then(|o| o.checked_add(u64::from(layout.plt_offset)))
                        .and_then(|o| usize::try_from(o).ok())
                        .ok_or(ImageError::FileMismatch)?;
                    let entry = off
                        .checked_add(PLT_ENTRY_SIZE as usize)
                        .and_then(|end| image.get_mut(off..end))
                        .ok_or(ImageError::FileMismatch)?;
                    write_plt_entry(arch, entry, target);
                    left = left.saturating_sub(1);
                    self.stage = Stage::Plt(k.saturating_add(1));
                }
                Stage::Got(k) => {
                    let Some(&sym) = layout.got_symbols.get(k) else {
                        self.stage = Stage::Reloc(0, 0);
                        continue;
                    };
                    let target = self.symbol_addr(module, file, layout, image_addr, sym)?;
                    let off = (k as u64)
                        .checked_mul(8)
                        .and_then(|o| o.checked_add(u64::from(layout.got_offset)))
                        .ok_or(ImageError::FileMismatch)?;
                    copy_into(image, off, &target.to_le_bytes())?;
                    left = left.saturating_sub(1);
                    self.stage = Stage::Got(k.saturating_add(1));
                }
                Stage::Reloc(gi, index) => {
                    let Some(g) = module.relocation_groups.get(gi) else {
                        self.stage = Stage::Done;
                        continue;
                    };
                    let (base, len) = group_section(module, layout, g)?;
                    let section = image
                        .get_mut(base as usize..(base as usize).saturating_add(len as usize))
                        .ok_or(ImageError::FileMismatch)?;
                    let Some(r) = g.relocations.get(index) else {
                        if index == 0 {
                            left = left.saturating_sub(1); // an empty group
                        }
                        self.stage = Stage::Reloc(gi.saturating_add(1), 0);
                        continue;
                    };
                    self.apply(module, file, layout, section, image_addr, base, g, index, r)?;
                    left = left.saturating_sub(1);
                    self.stage = Stage::Reloc(gi, index.saturating_add(1));
                }
            }
        }
    }

    /// Applies relocation `r` (number `index` of group `g`, whose section is `section`, at
    /// offset `base` of the image).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        module: &AotModule,
        file: &[u8],
        layout: &ImageLayout,
        section: &mut [u8],
        image_addr: u64,
        base: u32,
        g: &crate::module::RelocationGroup,
        index: usize,
        r: &crate::module::Relocation,
    ) -> Result<(), ImageError> {
        let arch = layout.arch;
        let addr_of = |offset: u32| image_addr.wrapping_add(u64::from(offset));
        let name_of = |i: u32| -> &str { module.symbol_name(file, i) };
        let is_runtime = matches!(
            module.symbols.get(r.symbol as usize),
            Some(Symbol::Runtime(_))
        );
        let s = if reloc::uses_got(arch, r.r_type) {
            let slot = self
                .got_slot
                .get(r.symbol as usize)
                .copied()
                .filter(|&s| s != u32::MAX)
                .ok_or(ImageError::FileMismatch)?;
            addr_of(layout.got_offset).wrapping_add(u64::from(slot).wrapping_mul(8))
        } else if is_runtime && reloc::is_branch(arch, r.r_type) {
            if arch == Arch::Aarch64 && r.addend > 0 {
                return Err(match fallible::string(name_of(r.symbol)) {
                    Ok(symbol) => ImageError::PltAddend {
                        symbol,
                        addend: r.addend,
                    },
                    Err(e) => e.into(),
                });
            }
            let slot = self
                .plt_slot
                .get(r.symbol as usize)
                .copied()
                .filter(|&s| s != u32::MAX)
                .ok_or(ImageError::FileMismatch)?;
            addr_of(layout.plt_offset)
                .wrapping_add(u64::from(slot).wrapping_mul(u64::from(PLT_ENTRY_SIZE)))
        } else {
            self.symbol_addr(module, file, layout, image_addr, r.symbol)?
        };
        let place = addr_of(base).wrapping_add(u64::from(r.offset));
        reloc::apply(
            arch,
            r.r_type,
            section,
            u64::from(r.offset),
            place,
            s,
            r.addend,
        )
        .map_err(|error| {
            match (
                fallible::string(span_str(file, g.name)),
                fallible::string(name_of(r.symbol)),
            ) {
                (Ok(group), Ok(symbol)) => ImageError::Reloc {
                    group,
                    index,
                    symbol,
                    error,
                },
                _ => ImageError::OutOfMemory,
            }
        })
    }
}

/// Fills `image` (exactly `layout.total_len` bytes, to run at address `image_addr`) from
/// `file`, the buffer `module` was parsed from: copies code and data, writes PLT and GOT, and
/// applies every relocation. `resolve` returns the address of a runtime symbol, or `None` if
/// the runtime does not provide it. The same as [`ImageBuild::new`] and one unbounded
/// [`ImageBuild::step`].
pub fn build(
    module: &AotModule,
    file: &[u8],
    layout: &ImageLayout,
    image: &mut [u8],
    image_addr: u64,
    resolve: &mut dyn FnMut(&str) -> Option<u64>,
) -> Result<(), ImageError> {
    let mut b = ImageBuild::new(module, file, layout, image.len(), resolve)?;
    while !b.step(module, file, layout, image, image_addr, u64::MAX)? {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::ModuleBuilder;
    use alloc::vec;

    const BASE: u64 = 0x4000_0000;
    const HELPER: u64 = 0x7f12_3456_7000;

    fn word(img: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(img[off..off + 4].try_into().unwrap())
    }

    fn build_sink(arch: Arch) -> (AotModule, ImageLayout, Vec<u8>) {
        let file = ModuleBuilder::kitchen_sink(arch).build();
        let m = crate::parse(&file, arch).unwrap();
        let layout = plan(&m, 4096).unwrap();
        let mut img = vec![0xee; layout.total_len as usize];
        let mut resolve = |n: &str| match n {
            "aot_set_exception_with_id" => Some(HELPER),
            "memmove" => Some(HELPER + 0x40),
            _ => None,
        };
        build(&m, &file, &layout, &mut img, BASE, &mut resolve).unwrap();
        (m, layout, img)
    }

    #[test]
    fn aarch64_layout_and_patches() {
        let (m, l, img) = build_sink(Arch::Aarch64);
        assert_eq!(l.code_len, 32);
        assert_eq!(l.plt_offset, 32);
        assert_eq!(l.plt_symbols.len(), 2);
        assert_eq!(l.rx_len, 4096);
        assert!(l.got_symbols.is_empty());
        assert_eq!(l.data_offsets, vec![4096, 4096 + 64]);
        assert_eq!(l.total_len, 8192);
        assert!(!needs_low_address(&m));
        // Code copied; function 0 untouched.
        assert_eq!(word(&img, 0), 0x5280_0540);
        // adrp x0 at code+8 -> page of data section 1 (4096+64): one page up from page 0.
        assert_eq!(word(&img, 8), 0xb000_0000);
        // ldr q0, [x0, #lo12(4096+64+16)] -> (0x50 >> 4) = 5
        assert_eq!(word(&img, 12), 0x3dc0_0000 | (5 << 10));
        // bl aot_func#0 at code+16 -> -16 bytes
        assert_eq!(word(&img, 16), 0x9400_0000 | (0x03ff_fffc));
        // bl helper at code+20 -> PLT entry 0 at 32: +12 bytes
        assert_eq!(word(&img, 20), 0x9400_0003);
        // b memmove at code+24 -> PLT entry 1 at 48: +24 bytes
        assert_eq!(word(&img, 24), 0x1400_0006);
        // PLT entries: ldr x16, #8; br x16; .quad target
        assert_eq!(word(&img, 32), 0x5800_0050);
        assert_eq!(word(&img, 36), 0xd61f_0200);
        assert_eq!(&img[40..48], &HELPER.to_le_bytes());
        assert_eq!(&img[56..64], &(HELPER + 0x40).to_le_bytes());
        // Data copied, padding zeroed.
        assert_eq!(img[4096 + 64], 0xab);
        assert_eq!(img[4096 + 16], 0);
        assert_eq!(l.func_offset(&m, 1), Some(8));
    }

    #[test]
    fn x86_64_layout_and_patches() {
        let (m, l, img) = build_sink(Arch::X86_64);
        assert_eq!(l.code_len, 8 + 25 + 3); // padded to 4 by the writer
        assert_eq!(l.plt_offset, 48);
        assert_eq!(l.plt_symbols.len(), 1);
        assert_eq!(l.got_symbols.len(), 1);
        assert_eq!(l.got_offset, 4096);
        assert_eq!(l.data_offsets, vec![4096 + 64, 4096 + 128]);
        let rel32 = |off: usize| i32::from_le_bytes(img[off..off + 4].try_into().unwrap());
        // movaps xmm0, [rip + .rodata.cst16 + 12 - 4 ...]: S + A - P
        let p = BASE + 8 + 3;
        assert_eq!(
            i64::from(rel32(11)),
            (BASE + 4096 + 128 + 12) as i64 - p as i64
        );
        // call aot_func#0: target 0
        assert_eq!(rel32(16), -(16 + 4));
        // call helper through PLT at 48
        assert_eq!(rel32(21), 48 - (21 + 4));
        // PLT: jmp [rip+0]; .quad helper
        assert_eq!(&img[48..54], &[0xff, 0x25, 0, 0, 0, 0]);
        assert_eq!(&img[54..62], &HELPER.to_le_bytes());
        // GOT slot holds memmove, and the mov reads it
        assert_eq!(&img[4096..4104], &(HELPER + 0x40).to_le_bytes());
        assert_eq!(rel32(28), 4096 - (28 + 4));
        // .rodata + 8 holds the absolute address of .text
        assert_eq!(&img[4096 + 64 + 8..4096 + 64 + 16], &BASE.to_le_bytes());
        assert!(!needs_low_address(&m));
    }

    #[test]
    fn errors() {
        let arch = Arch::Aarch64;
        let file = ModuleBuilder::kitchen_sink(arch).build();
        let m = crate::parse(&file, arch).unwrap();
        assert_eq!(plan(&m, 1000), Err(ImageError::BadPageSize(1000)));
        let l = plan(&m, 4096).unwrap();
        let mut small = vec![0u8; 100];
        assert!(matches!(
            build(&m, &file, &l, &mut small, BASE, &mut |_| Some(0)),
            Err(ImageError::BufferSize { .. })
        ));
        let mut img = vec![0u8; l.total_len as usize];
        let e = build(&m, &file, &l, &mut img, BASE, &mut |n| {
            (n != "memmove").then_some(HELPER)
        })
        .unwrap_err();
        assert_eq!(e, ImageError::UnresolvedSymbol(String::from("memmove")));
        assert_eq!(
            e.to_string(),
            "module calls runtime function \"memmove\", which tzwasm does not provide"
        );
        // A truncated file buffer is noticed, not sliced out of bounds.
        assert_eq!(
            build(&m, &file[..40], &l, &mut img, BASE, &mut |_| Some(HELPER)),
            Err(ImageError::FileMismatch)
        );
        // A positive addend on a branch to a helper is refused (as WAMR does).
        let mut b = ModuleBuilder::kitchen_sink(arch);
        b.relocation_groups[0].1[3].1 = 4;
        let file = b.build();
        let m = crate::parse(&file, arch).unwrap();
        let l = plan(&m, 4096).unwrap();
        let mut img = vec![0u8; l.total_len as usize];
        assert!(matches!(
            build(&m, &file, &l, &mut img, BASE, &mut |_| Some(HELPER)),
            Err(ImageError::PltAddend { .. })
        ));
        // Too large: a huge data section.
        let mut b = ModuleBuilder::minimal(arch);
        b.data_sections
            .push((String::from(".rodata"), vec![0; MAX_IMAGE_SIZE as usize]));
        let file = b.build();
        let m = crate::parse(&file, arch).unwrap();
        assert!(matches!(plan(&m, 4096), Err(ImageError::TooLarge { .. })));
    }

    /// Builds `file` with [`ImageBuild`] in steps of `budget` units; the image and the
    /// number of steps taken.
    fn build_in_steps(
        m: &AotModule,
        file: &[u8],
        l: &ImageLayout,
        addr: u64,
        budget: u64,
    ) -> (Vec<u8>, usize) {
        let mut img = vec![0x5a; l.total_len as usize];
        let mut resolve = |n: &str| match n {
            "aot_set_exception_with_id" => Some(HELPER),
            "memmove" => Some(HELPER + 0x40),
            _ => None,
        };
        let mut b = ImageBuild::new(m, file, l, img.len(), &mut resolve).unwrap();
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 1_000_000, "no progress");
            if b.step(m, file, l, &mut img, addr, budget).unwrap() {
                break;
            }
            assert!(!b.is_done());
        }
        assert!(b.is_done());
        // Finished: further steps change nothing.
        assert!(b.step(m, file, l, &mut img, addr, 1).unwrap());
        (img, steps)
    }

    /// The test modules: the kitchen sinks, one with several relocation groups and a data
    /// section over many units long, one with an empty relocation group.
    fn step_modules(arch: Arch) -> Vec<Vec<u8>> {
        let mut big = ModuleBuilder::kitchen_sink(arch);
        big.data_sections.push((
            String::from(".rodata.big"),
            (0..5000u32).map(|i| i as u8).collect(),
        ));
        big.code.extend((0..1000u32).map(|i| (i * 7) as u8));
        let mut empty = ModuleBuilder::kitchen_sink(arch);
        empty
            .relocation_groups
            .push((String::from(".rela.rodata"), Vec::new()));
        vec![
            ModuleBuilder::kitchen_sink(arch).build(),
            big.build(),
            empty.build(),
        ]
    }

    #[test]
    fn stepped_build_gives_the_same_bytes_whatever_the_budget() {
        for arch in [Arch::Aarch64, Arch::X86_64] {
            for file in step_modules(arch) {
                let m = crate::parse(&file, arch).unwrap();
                let l = plan(&m, 4096).unwrap();
                let mut whole = vec![0xee; l.total_len as usize];
                let mut resolve = |n: &str| match n {
                    "aot_set_exception_with_id" => Some(HELPER),
                    "memmove" => Some(HELPER + 0x40),
                    _ => None,
                };
                build(&m, &file, &l, &mut whole, BASE, &mut resolve).unwrap();
                let relocs: usize = m
                    .relocation_groups
                    .iter()
                    .map(|g| g.relocations.len())
                    .sum();
                let mut last_steps = usize::MAX;
                for budget in [1, 7, u64::MAX] {
                    let (img, steps) = build_in_steps(&m, &file, &l, BASE, budget);
                    assert_eq!(img, whole, "{arch:?} budget {budget}");
                    assert!(steps <= last_steps);
                    last_steps = steps;
                    if budget == 1 {
                        // At least one step per 64 bytes zeroed and per relocation.
                        let min = l.total_len as usize / BYTES_PER_UNIT + relocs;
                        assert!(steps >= min, "{steps} < {min}");
                    }
                    if budget == u64::MAX {
                        assert_eq!(steps, 1);
                    }
                }
            }
        }
    }

    #[test]
    fn stepped_build_errors() {
        let arch = Arch::Aarch64;
        let file = ModuleBuilder::kitchen_sink(arch).build();
        let m = crate::parse(&file, arch).unwrap();
        let l = plan(&m, 4096).unwrap();
        // Symbols are resolved by the constructor.
        let e = ImageBuild::new(&m, &file, &l, l.total_len as usize, &mut |n| {
            (n != "memmove").then_some(HELPER)
        })
        .unwrap_err();
        assert_eq!(e, ImageError::UnresolvedSymbol(String::from("memmove")));
        assert!(matches!(
            ImageBuild::new(&m, &file, &l, 100, &mut |_| Some(HELPER)),
            Err(ImageError::BufferSize { .. })
        ));
        // A buffer of another size in a step is refused too.
        let mut b =
            ImageBuild::new(&m, &file, &l, l.total_len as usize, &mut |_| Some(HELPER)).unwrap();
        let mut small = vec![0u8; 100];
        assert!(matches!(
            b.step(&m, &file, &l, &mut small, BASE, 1),
            Err(ImageError::BufferSize { .. })
        ));
        // A positive addend on a helper branch fails in the relocation stage, at any budget.
        let mut bad = ModuleBuilder::kitchen_sink(arch);
        bad.relocation_groups[0].1[3].1 = 4;
        let file = bad.build();
        let m = crate::parse(&file, arch).unwrap();
        let l = plan(&m, 4096).unwrap();
        let mut img = vec![0u8; l.total_len as usize];
        let mut b = ImageBuild::new(&m, &file, &l, img.len(), &mut |_| Some(HELPER)).unwrap();
        let e = loop {
            match b.step(&m, &file, &l, &mut img, BASE, 3) {
                Ok(false) => {}
                Ok(true) => panic!("built"),
                Err(e) => break e,
            }
        };
        assert!(matches!(e, ImageError::PltAddend { .. }));
    }

    #[test]
    fn x86_64_absolute_32_needs_a_low_image() {
        let arch = Arch::X86_64;
        let mut b = ModuleBuilder::minimal(arch);
        b.data_sections.push((String::from(".rodata"), vec![0; 16]));
        b.code = vec![0xff, 0x24, 0xc5, 0, 0, 0, 0, 0xc3]; // jmp [rax*8 + disp32]
        b.relocation_groups.push((
            String::from(".rela.text"),
            vec![(3, 0, crate::reloc::x86_64::R_32S, String::from(".rodata"))],
        ));
        let file = b.build();
        let m = crate::parse(&file, arch).unwrap();
        assert!(needs_low_address(&m));
        let l = plan(&m, 4096).unwrap();
        let mut img = vec![0u8; l.total_len as usize];
        assert!(build(&m, &file, &l, &mut img, 0x1000_0000, &mut |_| None).is_ok());
        assert_eq!(&img[3..7], &(0x1000_0000u32 + 4096).to_le_bytes());
        let e = build(&m, &file, &l, &mut img, 0x7f00_0000_0000, &mut |_| None).unwrap_err();
        assert!(matches!(
            e,
            ImageError::Reloc {
                error: RelocError::OutOfRange { .. },
                ..
            }
        ));
    }
}
