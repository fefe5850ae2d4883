//! One module, both runtimes: compile with wamrc, then for each probe run WAMR's iwasm
//! (`-f probe args...`, a fresh process and instance per call, with a time limit) and
//! tzwasm's runtime (x86_64: in this process, a fresh instance per call on the host runner's
//! platform; aarch64: `aot-run` under qemu-aarch64, like iwasm), and compare the outcomes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tzwasm_aot_loader::runtime::{InstanceConfig, Stop, Value};
use tzwasm_aot_loader::{parse, AotModule, Arch};
use tzwasm_aot_run::{call, HostInstance, HostPlatform, HostWasi};

use crate::gen::{Kind, Probe};

/// What a call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Returned these result bits.
    Values(Vec<u64>),
    /// Trapped with this message (WAMR's exception text).
    Trap(String),
    /// The start function trapped with this message.
    StartTrap(String),
    /// Load or instantiation failed.
    Refused(String),
    /// Ran past the time limit.
    Timeout,
    /// Something else (a crash, unparsable output).
    Broken(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Values(v) => {
                let s: Vec<String> = v.iter().map(|x| format!("{x:#x}")).collect();
                write!(f, "[{}]", s.join(", "))
            }
            Outcome::Trap(m) => write!(f, "trap {m:?}"),
            Outcome::StartTrap(m) => write!(f, "start trap {m:?}"),
            Outcome::Refused(m) => write!(f, "refused {m:?}"),
            Outcome::Timeout => write!(f, "timeout"),
            Outcome::Broken(m) => write!(f, "broken {m:?}"),
        }
    }
}

/// Whether a trap message means the native stack ran out (depth differs between runtimes:
/// iwasm runs on the process stack, tzwasm on its own, so the two may stop at different
/// depths; such calls are skipped, not compared).
pub fn is_stack_exhaustion(m: &str) -> bool {
    m.contains("stack overflow") || m.contains("call stack exhausted")
}

/// What an instantiation refusal is about, when the message says: iwasm's "out of bounds
/// memory access" / "out of bounds table access", tzwasm's "data segment ..." / "elem ...".
pub fn refusal_class(m: &str) -> Option<&'static str> {
    if m.contains("memory access") || m.contains("data segment") {
        Some("memory")
    } else if m.contains("table access") || m.contains("elem") {
        Some("table")
    } else {
        None
    }
}

/// The verdict on one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Same outcome.
    Match,
    /// Different outcomes.
    Mismatch,
    /// Not comparable (stack exhaustion on either side).
    Skip(&'static str),
    /// iwasm ran past the time limit.
    Timeout,
}

fn values_equal(kinds: &[Kind], a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).enumerate().all(|(i, (&x, &y))| {
            x == y
                || match kinds.get(i) {
                    Some(Kind::F32) => {
                        f32::from_bits(x as u32).is_nan() && f32::from_bits(y as u32).is_nan()
                    }
                    Some(Kind::F64) => f64::from_bits(x).is_nan() && f64::from_bits(y).is_nan(),
                    _ => false,
                }
        })
}

/// Compares iwasm's outcome (`want`) with tzwasm's (`got`).
pub fn compare(kinds: &[Kind], want: &Outcome, got: &Outcome) -> Verdict {
    match (want, got) {
        (Outcome::Timeout, _) => Verdict::Timeout,
        (Outcome::Trap(a) | Outcome::StartTrap(a), _) if is_stack_exhaustion(a) => {
            Verdict::Skip("stack exhaustion")
        }
        (_, Outcome::Trap(b) | Outcome::StartTrap(b)) if is_stack_exhaustion(b) => {
            Verdict::Skip("stack exhaustion")
        }
        (Outcome::Values(a), Outcome::Values(b)) if values_equal(kinds, a, b) => Verdict::Match,
        (Outcome::Trap(a), Outcome::Trap(b)) | (Outcome::StartTrap(a), Outcome::StartTrap(b))
            if a == b =>
        {
            Verdict::Match
        }
        (Outcome::Refused(a), Outcome::Refused(b))
            if refusal_class(a).is_none()
                || refusal_class(b).is_none()
                || refusal_class(a) == refusal_class(b) =>
        {
            Verdict::Match
        }
        _ => Verdict::Mismatch,
    }
}

/// wamrc flags: the target's as for the guest corpus (mk/wamr.mk `WAMRC_FLAGS_<arch>`), then
/// the module's own (bounds checks, optimisation level, code model; aarch64 has only the
/// small and large code models, so the medium one is dropped there).
pub fn wamrc_flags(arch: Arch, extra: &[String]) -> Vec<String> {
    let mut f: Vec<String> = match arch {
        Arch::X86_64 => vec!["--target=x86_64".into(), "--cpu=x86-64-v2".into()],
        Arch::Aarch64 => vec!["--target=aarch64".into(), "--cpu=cortex-a57".into()],
    };
    f.extend(
        extra
            .iter()
            .filter(|x| !(arch == Arch::Aarch64 && x.as_str() == "--size-level=1"))
            .cloned(),
    );
    f
}

/// Compiles `wasm` (written to `dir/m.wasm`) to `dir/m.aot`; `Err` carries wamrc's message.
pub fn compile(
    wamrc: &Path,
    arch: Arch,
    dir: &Path,
    wasm: &[u8],
    extra: &[String],
) -> Result<PathBuf, String> {
    let w = dir.join("m.wasm");
    let a = dir.join("m.aot");
    std::fs::write(&w, wasm).map_err(|e| format!("{}: {e}", w.display()))?;
    let _ = std::fs::remove_file(&a);
    let out = Command::new(wamrc)
        .args(wamrc_flags(arch, extra))
        .arg("-o")
        .arg(&a)
        .arg(&w)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", wamrc.display()))?;
    if out.status.success() && a.exists() {
        Ok(a)
    } else {
        let msg = String::from_utf8_lossy(&out.stderr);
        // LLVM's own error line when it aborted, else wamrc's last line.
        let lines: Vec<&str> = msg.trim().lines().collect();
        let msg = lines
            .iter()
            .find(|l| l.contains("LLVM ERROR"))
            .or(lines.last())
            .map_or(String::new(), |l| l.chars().take(200).collect());
        Err(format!("wamrc failed ({}): {msg}", out.status))
    }
}

fn arg_strings(p: &Probe) -> Vec<String> {
    p.args
        .iter()
        .map(|&(wide, v)| {
            if wide {
                format!("0x{v:x}")
            } else {
                format!("0x{:x}", v as u32)
            }
        })
        .collect()
}

/// Parses iwasm's `-f` result line (`0x2a:i32,0x7:i64`; empty for no results).
pub fn parse_iwasm_values(s: &str) -> Option<Vec<u64>> {
    let s = s.trim();
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(',')
        .map(|p| {
            let (v, t) = p.split_once(':')?;
            if t != "i32" && t != "i64" {
                return None;
            }
            u64::from_str_radix(v.strip_prefix("0x")?, 16).ok()
        })
        .collect()
}

/// Runs probe `p` of `aot` with a runner that has iwasm's command line and output contract
/// (the project's iwasm driver, or `aot-run`, possibly behind `qemu-aarch64`): `cmd` is the
/// program and its leading arguments. At most `limit`.
pub fn run_tool(cmd: &[PathBuf], dir: &Path, aot: &Path, p: &Probe, limit: Duration) -> Outcome {
    let Some((prog, lead)) = cmd.split_first() else {
        return Outcome::Broken("empty runner command".into());
    };
    let trap = dir.join("trap");
    let _ = std::fs::remove_file(&trap);
    let child = Command::new(prog)
        .args(lead)
        .arg("--quiet-trap")
        .arg(format!("--trap-out={}", trap.display()))
        .arg("-f")
        .arg(&p.name)
        .arg(aot)
        .args(arg_strings(p))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Outcome::Broken(format!("cannot start {}: {e}", prog.display())),
    };
    // Output is small (one line), so reading after the exit cannot dead-lock.
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() < limit => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::Timeout;
            }
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    match status.code() {
        Some(0) => match parse_iwasm_values(&out) {
            Some(v) => Outcome::Values(v),
            None => Outcome::Broken(format!("printed {out:?}")),
        },
        Some(1) => match std::fs::read_to_string(&trap) {
            Ok(m) => Outcome::Trap(m.trim_end().to_string()),
            Err(_) => Outcome::Broken(format!("exit 1 without a trap: {err:?}")),
        },
        Some(2) => {
            let e = err.trim();
            match e.split_once("Exception: ") {
                Some((_, m)) if e.contains("instantiate") => Outcome::StartTrap(m.to_string()),
                _ => Outcome::Refused(e.to_string()),
            }
        }
        _ => Outcome::Broken(format!("{status}: {}", err.trim())),
    }
}

/// tzwasm's side: the parsed module, instantiated afresh for every call.
pub struct Ours {
    bytes: &'static [u8],
    module: Result<&'static AotModule, String>,
}

impl Ours {
    /// Loads `aot` (the buffers are leaked: the child process handles one module).
    pub fn load(aot: &Path) -> Result<Self, String> {
        let b = std::fs::read(aot).map_err(|e| format!("{}: {e}", aot.display()))?;
        let bytes: &'static [u8] = Box::leak(b.into_boxed_slice());
        let arch = Arch::host().ok_or("x86_64 or aarch64 host")?;
        let module = parse(bytes, arch)
            .map(|m| &*Box::leak(Box::new(m)))
            .map_err(|e| format!("aot-loader: {e}"));
        Ok(Ours { bytes, module })
    }

    /// Runs probe `p` on a fresh instance.
    pub fn run(&self, p: &Probe) -> Outcome {
        let m = match &self.module {
            Ok(m) => *m,
            Err(e) => return Outcome::Refused(e.clone()),
        };
        // As aot-run: 1 GiB quota, 8 MiB native stack (iwasm runs on the 8 MiB main stack).
        let config = InstanceConfig {
            heap_quota: 1 << 30,
            stack_size: 8 << 20,
            ..InstanceConfig::default()
        };
        let platform = HostPlatform::new(HostWasi::new(&[], &[]));
        let mut inst: Box<HostInstance<'_>> =
            match HostInstance::new(m, self.bytes, platform, config) {
                Ok(i) => i,
                Err(e) => return Outcome::Refused(format!("instantiate: {e}")),
            };
        if let Some(start) = inst.start_function() {
            match call(&mut inst, start, &[]) {
                Ok(_) => {}
                Err(Stop::Trap(t)) => return Outcome::StartTrap(t.to_string()),
                Err(s) => return Outcome::Broken(format!("start: {s}")),
            }
        }
        let Some(idx) = inst.export_func(&p.name) else {
            return Outcome::Broken(format!("no export {}", p.name));
        };
        let args: Vec<Value> = p
            .args
            .iter()
            .map(|&(wide, v)| {
                if wide {
                    Value::I64(v as i64)
                } else {
                    Value::I32(v as u32 as i32)
                }
            })
            .collect();
        match call(&mut inst, idx, &args) {
            Ok(vals) => {
                let mut bits = Vec::new();
                for v in vals {
                    match v {
                        Value::I32(x) => bits.push(u64::from(x as u32)),
                        Value::I64(x) => bits.push(x as u64),
                        other => return Outcome::Broken(format!("unexpected result {other:?}")),
                    }
                }
                Outcome::Values(bits)
            }
            Err(Stop::Trap(t)) => Outcome::Trap(t.to_string()),
            Err(s) => Outcome::Broken(format!("{s}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iwasm_values() {
        assert_eq!(
            parse_iwasm_values("0x2a:i32,0xffffffffffffffff:i64\n"),
            Some(vec![42, u64::MAX])
        );
        assert_eq!(parse_iwasm_values("\n"), Some(vec![]));
        assert_eq!(parse_iwasm_values("1.5:f32"), None);
    }

    #[test]
    fn nan_rule_and_traps() {
        let k = [Kind::F32, Kind::Exact];
        let v = |a: u64, b: u64| Outcome::Values(vec![a, b]);
        assert_eq!(
            compare(&k, &v(0x7fc0_0000, 1), &v(0xffc0_0001, 1)),
            Verdict::Match
        );
        assert_eq!(
            compare(&k, &v(0x7fc0_0000, 1), &v(0x7f80_0000, 1)),
            Verdict::Mismatch
        );
        assert_eq!(
            compare(&k, &v(1, 0x7fc0_0000), &v(1, 0xffc0_0000)),
            Verdict::Mismatch
        );
        let t = |m: &str| Outcome::Trap(m.into());
        assert_eq!(
            compare(&k, &t("unreachable"), &t("unreachable")),
            Verdict::Match
        );
        assert_eq!(
            compare(&k, &t("unreachable"), &t("integer overflow")),
            Verdict::Mismatch
        );
        assert_eq!(
            compare(&k, &t("native stack overflow"), &v(1, 2)),
            Verdict::Skip("stack exhaustion")
        );
        assert_eq!(compare(&k, &Outcome::Timeout, &v(1, 2)), Verdict::Timeout);
    }
}
