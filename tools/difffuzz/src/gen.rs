//! Module generation: a wasm-smith module configured for what wamrc 2.4.3 compiles by default
//! and tzwasm runs (no imports, at most one memory, no threads/GC/exceptions/tail calls/
//! memory64/relaxed SIMD), made terminating with wasm-smith's fuel (`ensure_termination`),
//! with canonical NaNs; then a *probe* export added per function (exported or not: every
//! function is called).
//!
//! A probe `(params as i32/i64) -> (results as i32/i64)` calls its function with fixed
//! arguments and returns every result as integer bits (f32/f64 reinterpreted, v128 as two
//! i64 lanes, references as `ref.is_null`), followed by a hash of all of linear memory and
//! the value of every mutable global (the fuel counter among them). iwasm prints integers
//! exactly (floats only with `%.7g`), so comparing probe output compares results, memory
//! and globals bit for bit.

use arbitrary::Unstructured;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    AbstractHeapType, BlockType, CodeSection, ExportKind, ExportSection, Function, FunctionSection,
    HeapType, Instruction, MemArg, MemArgTarget, TypeSection, ValType as EncType,
};
use wasmparser::{CompositeInnerType, Payload, RefType, ValType};

use crate::rng::Rng;

/// The proposals a module may use (each enabled per module with probability 2/3); the MVP
/// is always on.
pub const PROPOSALS: [&str; 6] = [
    "simd",
    "bulk-memory",
    "reference-types",
    "multi-value",
    "sign-extension",
    "sat-float-to-int",
];

/// How a probe result is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Exact bits.
    Exact,
    /// f32 bits: two NaNs are equal (their payload and sign are not specified).
    F32,
    /// f64 bits: likewise.
    F64,
}

/// One call: a probe export and its fixed arguments.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The probe's export name.
    pub name: String,
    /// The function it calls (`export "name"` or `func N`).
    pub target: String,
    /// Arguments: (is i64, bits), in the probe's parameter order.
    pub args: Vec<(bool, u64)>,
    /// How each probe result is compared.
    pub kinds: Vec<Kind>,
}

/// A generated module.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The wasm binary with the probes.
    pub wasm: Vec<u8>,
    /// The proposals enabled for it.
    pub proposals: Vec<&'static str>,
    /// One probe per function (of a type a probe can pass and return).
    pub probes: Vec<Probe>,
    /// wamrc flags after the target's: bounds-check mode, optimisation level, code model.
    pub wamrc_flags: Vec<String>,
}

/// Generates module `index` of the run with `seed`; `fuel` bounds loop iterations and calls.
pub fn generate(seed: u64, index: u64, fuel: u32) -> Result<Generated, String> {
    let mut rng = Rng::for_module(seed, index);
    let mut on = [false; PROPOSALS.len()];
    for o in on.iter_mut() {
        *o = rng.chance(2, 3);
    }
    let mut c = wasm_smith::Config {
        simd_enabled: on[0],
        bulk_memory_enabled: on[1],
        reference_types_enabled: on[2],
        multi_value_enabled: on[3],
        sign_extension_ops_enabled: on[4],
        saturating_float_to_int_enabled: on[5],
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        compact_imports_enabled: false,
        max_imports: 0,
        min_types: 1,
        min_funcs: 2,
        max_funcs: 12,
        max_memories: 1,
        max_memory32_bytes: 16 << 20,
        memory_max_size_required: true,
        max_table_elements: 1000,
        table_max_size_required: true,
        max_data_segments: 8,
        max_element_segments: 8,
        export_everything: true,
        canonicalize_nans: true,
        allow_start_export: true,
        ..wasm_smith::Config::default()
    };
    c.max_tables = if on[2] { 3 } else { 1 };
    // Half of the modules guard every trapping instruction (wasm-smith's `disallow_traps`), so
    // more calls run to the end and return values instead of stopping at the first trap.
    c.disallow_traps = rng.chance(1, 2);
    let len = rng.range(512, 16384) as usize;
    let data = rng.bytes(len);
    // Half with software bounds checks; every LLVM optimisation level; the x86_64 code
    // models wamrc offers besides the default small one (medium, large: other relocations).
    let mut wamrc_flags = Vec::new();
    if rng.chance(1, 2) {
        wamrc_flags.push("--bounds-checks=1".to_string());
    }
    let opt = rng.pick(&[3, 3, 2, 1, 0]);
    if opt != 3 {
        wamrc_flags.push(format!("--opt-level={opt}"));
    }
    let size = rng.pick(&[3, 3, 1, 0]);
    if size != 3 {
        wamrc_flags.push(format!("--size-level={size}"));
    }
    let mut u = Unstructured::new(&data);
    let mut m = wasm_smith::Module::new(c, &mut u).map_err(|e| format!("wasm-smith: {e}"))?;
    m.ensure_termination(fuel)
        .map_err(|e| format!("wasm-smith fuel: {e}"))?;
    let (wasm, probes) = add_probes(&m.to_bytes(), &mut rng)?;
    let proposals = PROPOSALS
        .iter()
        .zip(on)
        .filter(|(_, o)| *o)
        .map(|(p, _)| *p)
        .collect();
    Ok(Generated {
        wasm,
        proposals,
        probes,
        wamrc_flags,
    })
}

/// What the first pass learns about the module.
#[derive(Default)]
struct Shape {
    types: Vec<Option<wasmparser::FuncType>>,
    /// Type index of each function (no imports, so defined functions are all of them).
    funcs: Vec<u32>,
    exports: Vec<(String, ExportKind, u32)>,
    /// Type of every mutable global, by index.
    mutable_globals: Vec<(u32, ValType)>,
    has_memory: bool,
}

fn shape(wasm: &[u8]) -> Result<Shape, String> {
    let e = |e: wasmparser::BinaryReaderError| e.to_string();
    let mut s = Shape::default();
    for p in wasmparser::Parser::new(0).parse_all(wasm) {
        match p.map_err(e)? {
            Payload::TypeSection(r) => {
                for rg in r {
                    for st in rg.map_err(e)?.into_types() {
                        s.types.push(match st.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(r) if r.count() > 0 => {
                return Err("module has imports".into());
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    s.funcs.push(t.map_err(e)?);
                }
            }
            Payload::MemorySection(r) => s.has_memory = r.count() > 0,
            Payload::GlobalSection(r) => {
                for (i, g) in r.into_iter().enumerate() {
                    let g = g.map_err(e)?;
                    if g.ty.mutable {
                        s.mutable_globals.push((i as u32, g.ty.content_type));
                    }
                }
            }
            Payload::ExportSection(r) => {
                for x in r {
                    let x = x.map_err(e)?;
                    let k = match x.kind {
                        wasmparser::ExternalKind::Func => ExportKind::Func,
                        wasmparser::ExternalKind::Global => ExportKind::Global,
                        wasmparser::ExternalKind::Memory => ExportKind::Memory,
                        wasmparser::ExternalKind::Table => ExportKind::Table,
                        _ => ExportKind::Tag,
                    };
                    s.exports.push((x.name.to_string(), k, x.index));
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

fn enc(t: ValType) -> EncType {
    match t {
        ValType::I32 => EncType::I32,
        ValType::I64 => EncType::I64,
        ValType::F32 => EncType::F32,
        ValType::F64 => EncType::F64,
        ValType::V128 => EncType::V128,
        ValType::Ref(r) if r == RefType::EXTERNREF => EncType::EXTERNREF,
        ValType::Ref(_) => EncType::FUNCREF,
    }
}

fn null_of(r: RefType) -> Instruction<'static> {
    let ty = if r == RefType::EXTERNREF {
        AbstractHeapType::Extern
    } else {
        AbstractHeapType::Func
    };
    Instruction::RefNull(HeapType::Abstract { shared: false, ty })
}

/// Whether a probe can pass and return this type (nullable funcref/externref only).
fn supported(t: ValType) -> bool {
    match t {
        ValType::Ref(r) => r == RefType::FUNCREF || r == RefType::EXTERNREF,
        _ => true,
    }
}

const I32_VALUES: &[u64] = &[
    0,
    1,
    2,
    7,
    42,
    255,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fff0,
    0xffff_ffff,
];
const I64_VALUES: &[u64] = &[
    0,
    1,
    42,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_ffff_ffff,
];
const F32_VALUES: &[u64] = &[
    0,
    0x8000_0000,
    0x3f80_0000,
    0xbf80_0000,
    0x3fc0_0000,
    0x4f00_0000,
    0xcf00_0000,
    0x5f00_0000,
    0x7f7f_ffff,
    0x0000_0001,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0x7fa0_0000,
];
const F64_VALUES: &[u64] = &[
    0,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000,
    0xbff0_0000_0000_0000,
    0x3ff8_0000_0000_0000,
    0x41e0_0000_0000_0000,
    0xc1e0_0000_0000_0000,
    0x43e0_0000_0000_0000,
    0x7fef_ffff_ffff_ffff,
    0x0000_0000_0000_0001,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0x7ff4_0000_0000_0000,
];

/// An argument of type `t` (one in four random, the rest from the interesting values).
fn arg(rng: &mut Rng, table: &[u64], mask: u64) -> u64 {
    if rng.chance(1, 4) {
        rng.next_u64() & mask
    } else {
        rng.pick(table)
    }
}

/// Adds the memory-hash function and one probe per function (exported or not).
fn add_probes(wasm: &[u8], rng: &mut Rng) -> Result<(Vec<u8>, Vec<Probe>), String> {
    let s = shape(wasm)?;
    // Original exports are renamed `e<N>` (see `parse_export`), so `dfz<N>` is free.
    let nfuncs = s.funcs.len() as u32;
    let ntypes = s.types.len() as u32;
    let hash_func = nfuncs;
    let mut add = Additions::default();
    if s.has_memory {
        add.types.push((vec![], vec![EncType::I64]));
        add.funcs.push((ntypes, hash_body()));
    }
    let mut probes = Vec::new();
    for (index, &ty) in s.funcs.iter().enumerate() {
        let index = index as u32;
        let Some(Some(ft)) = s.types.get(ty as usize) else {
            continue;
        };
        let name = s
            .exports
            .iter()
            .find(|(_, k, i)| *k == ExportKind::Func && *i == index)
            .map_or_else(
                || format!("func {index}"),
                |(n, _, _)| format!("export {n:?}"),
            );
        if !ft
            .params()
            .iter()
            .chain(ft.results())
            .all(|&t| supported(t))
        {
            continue;
        }
        let mut params = Vec::new();
        let mut args = Vec::new();
        let mut body = Vec::new();
        for &t in ft.params() {
            let p = params.len() as u32;
            match t {
                ValType::I32 => {
                    params.push(EncType::I32);
                    args.push((false, arg(rng, I32_VALUES, 0xffff_ffff)));
                    body.push(Instruction::LocalGet(p));
                }
                ValType::I64 => {
                    params.push(EncType::I64);
                    args.push((true, arg(rng, I64_VALUES, u64::MAX)));
                    body.push(Instruction::LocalGet(p));
                }
                ValType::F32 => {
                    params.push(EncType::I32);
                    args.push((false, arg(rng, F32_VALUES, 0xffff_ffff)));
                    body.extend([Instruction::LocalGet(p), Instruction::F32ReinterpretI32]);
                }
                ValType::F64 => {
                    params.push(EncType::I64);
                    args.push((true, arg(rng, F64_VALUES, u64::MAX)));
                    body.extend([Instruction::LocalGet(p), Instruction::F64ReinterpretI64]);
                }
                ValType::V128 => {
                    params.extend([EncType::I64, EncType::I64]);
                    for _ in 0..2 {
                        let t = rng.pick(&[I64_VALUES, F64_VALUES]);
                        args.push((true, arg(rng, t, u64::MAX)));
                    }
                    body.extend([
                        Instruction::LocalGet(p),
                        Instruction::I64x2Splat,
                        Instruction::LocalGet(p + 1),
                        Instruction::I64x2ReplaceLane(1),
                    ]);
                }
                ValType::Ref(r) => body.push(null_of(r)),
            }
        }
        body.push(Instruction::Call(index));
        let base = params.len() as u32;
        let res = ft.results();
        for i in (0..res.len() as u32).rev() {
            body.push(Instruction::LocalSet(base + i));
        }
        let mut results = Vec::new();
        let mut kinds = Vec::new();
        for (i, &t) in res.iter().enumerate() {
            let l = base + i as u32;
            convert(
                t,
                Instruction::LocalGet(l),
                &mut body,
                &mut results,
                &mut kinds,
            );
        }
        if s.has_memory {
            body.push(Instruction::Call(hash_func));
            results.push(EncType::I64);
            kinds.push(Kind::Exact);
        }
        for &(g, t) in &s.mutable_globals {
            convert(
                t,
                Instruction::GlobalGet(g),
                &mut body,
                &mut results,
                &mut kinds,
            );
        }
        body.push(Instruction::End);
        let locals: Vec<(u32, EncType)> = res.iter().map(|&t| (1, enc(t))).collect();
        let mut f = Function::new(locals);
        for i in &body {
            f.instruction(i);
        }
        add.types.push((params, results));
        add.funcs
            .push((ntypes + add.types.len() as u32 - 1, f.into_raw_body()));
        let pname = format!("dfz{}", probes.len());
        add.exports
            .push((pname.clone(), nfuncs + add.funcs.len() as u32 - 1));
        probes.push(Probe {
            name: pname,
            target: name,
            args,
            kinds,
        });
    }
    let mut out = wasm_encoder::Module::new();
    add.parse_core_module(&mut out, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("re-encoding: {e:?}"))?;
    let out = out.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out)
        .map_err(|e| format!("probe module does not validate: {e}"))?;
    Ok((out, probes))
}

/// Pushes the instructions that turn the value `get` produces into probe results.
fn convert(
    t: ValType,
    get: Instruction<'static>,
    body: &mut Vec<Instruction<'static>>,
    results: &mut Vec<EncType>,
    kinds: &mut Vec<Kind>,
) {
    match t {
        ValType::I32 => {
            body.push(get);
            results.push(EncType::I32);
            kinds.push(Kind::Exact);
        }
        ValType::I64 => {
            body.push(get);
            results.push(EncType::I64);
            kinds.push(Kind::Exact);
        }
        ValType::F32 => {
            body.extend([get, Instruction::I32ReinterpretF32]);
            results.push(EncType::I32);
            kinds.push(Kind::F32);
        }
        ValType::F64 => {
            body.extend([get, Instruction::I64ReinterpretF64]);
            results.push(EncType::I64);
            kinds.push(Kind::F64);
        }
        ValType::V128 => {
            body.extend([
                get.clone(),
                Instruction::I64x2ExtractLane(0),
                get,
                Instruction::I64x2ExtractLane(1),
            ]);
            results.extend([EncType::I64, EncType::I64]);
            kinds.extend([Kind::Exact, Kind::Exact]);
        }
        ValType::Ref(_) => {
            body.extend([get, Instruction::RefIsNull]);
            results.push(EncType::I32);
            kinds.push(Kind::Exact);
        }
    }
}

/// `() -> i64`: a multiplicative hash of every 8-byte word of memory 0.
fn hash_body() -> Vec<u8> {
    let (i, n, h) = (0, 1, 2);
    let mut f = Function::new([(2, EncType::I32), (1, EncType::I64)]);
    let load = MemArg {
        offset: 0,
        align: 3,
        target: MemArgTarget::Memory(0),
        ordering: None,
    };
    for ins in [
        Instruction::MemorySize(0),
        Instruction::I32Const(16),
        Instruction::I32Shl,
        Instruction::LocalSet(n),
        Instruction::Block(BlockType::Empty),
        Instruction::Loop(BlockType::Empty),
        Instruction::LocalGet(i),
        Instruction::LocalGet(n),
        Instruction::I32GeU,
        Instruction::BrIf(1),
        Instruction::LocalGet(h),
        Instruction::I64Const(0x100_0000_01b3),
        Instruction::I64Mul,
        Instruction::LocalGet(i),
        Instruction::I64Load(load),
        Instruction::I64Xor,
        Instruction::LocalSet(h),
        Instruction::LocalGet(i),
        Instruction::I32Const(8),
        Instruction::I32Add,
        Instruction::LocalSet(i),
        Instruction::Br(0),
        Instruction::End,
        Instruction::End,
        Instruction::LocalGet(h),
        Instruction::End,
    ] {
        f.instruction(&ins);
    }
    f.into_raw_body()
}

/// Types, functions (type index, raw body) and exports appended to the module's sections.
#[derive(Default)]
struct Additions {
    types: Vec<(Vec<EncType>, Vec<EncType>)>,
    funcs: Vec<(u32, Vec<u8>)>,
    exports: Vec<(String, u32)>,
    /// Original exports renamed so far.
    renamed: u32,
}

impl Reencode for Additions {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        for (p, r) in &self.types {
            types.ty().function(p.iter().copied(), r.iter().copied());
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for (t, _) in &self.funcs {
            functions.function(*t);
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        for (n, f) in &self.exports {
            exports.export(n, ExportKind::Func, *f);
        }
        Ok(())
    }

    fn parse_export(
        &mut self,
        exports: &mut ExportSection,
        export: wasmparser::Export<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // wasm-smith's export names are arbitrary UTF-8, and wamrc refuses some valid ones
        // ("invalid UTF-8 encoding", as in the spec suite's names.wast): plain names instead.
        let name = format!("e{}", self.renamed);
        self.renamed += 1;
        let kind = match export.kind {
            wasmparser::ExternalKind::Func => ExportKind::Func,
            wasmparser::ExternalKind::Global => ExportKind::Global,
            wasmparser::ExternalKind::Memory => ExportKind::Memory,
            wasmparser::ExternalKind::Table => ExportKind::Table,
            _ => ExportKind::Tag,
        };
        exports.export(&name, kind, export.index);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        for (_, body) in &self.funcs {
            code.raw(body);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_module() {
        let a = generate(1, 5, 1000).unwrap();
        let b = generate(1, 5, 1000).unwrap();
        assert_eq!(a.wasm, b.wasm);
        assert_eq!(a.probes.len(), b.probes.len());
    }

    #[test]
    fn probes_validate_and_cover_exports() {
        let mut with_probes = 0;
        for i in 0..40 {
            let g = generate(3, i, 1000).unwrap();
            if !g.probes.is_empty() {
                with_probes += 1;
            }
            for p in &g.probes {
                assert!(p.name.starts_with("dfz"));
                assert!(!p.kinds.is_empty() || p.args.len() < 100);
            }
        }
        assert!(with_probes > 20, "{with_probes} of 40 modules have probes");
    }
}
