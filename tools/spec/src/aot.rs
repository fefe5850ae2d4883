//! Compiling modules with wamrc, cached: `<cache>/<key>.aot` (or `<key>.err` with wamrc's
//! message when it rejects the module), where the key is the SHA-256 of the wamrc flags, the
//! wamrc binary's size and the wasm bytes. Writes go through a temporary name and a rename, so
//! two processes compiling the same module cannot corrupt the cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// wamrc flags for x86_64, matching the guest corpus (mk/wamr.mk `WAMRC_FLAGS_x86_64`);
/// bounds checks are wamrc's default (hardware checks on 64-bit targets).
pub const FLAGS_X86_64: &[&str] = &["--target=x86_64", "--cpu=x86-64-v2"];

/// wamrc flags for aarch64, matching the guest corpus (mk/wamr.mk `WAMRC_FLAGS_aarch64`).
pub const FLAGS_AARCH64: &[&str] = &["--target=aarch64", "--cpu=cortex-a57"];

/// The wamrc flags for code that runs on `arch`.
pub fn flags_for(arch: tzwasm_aot_loader::Arch) -> &'static [&'static str] {
    match arch {
        tzwasm_aot_loader::Arch::X86_64 => FLAGS_X86_64,
        tzwasm_aot_loader::Arch::Aarch64 => FLAGS_AARCH64,
    }
}

/// What wamrc made of a module.
#[derive(Debug)]
pub enum Compiled {
    /// The AOT file.
    Aot(Vec<u8>),
    /// wamrc rejected the module: its message.
    Rejected(String),
}

/// A wamrc binary, its flags and the cache directory.
#[derive(Debug, Clone)]
pub struct Wamrc {
    /// Path of wamrc.
    pub path: PathBuf,
    /// Flags before `-o`.
    pub flags: Vec<String>,
    /// Cache directory.
    pub cache: PathBuf,
    /// Identity of the binary (its size), part of every key.
    stamp: u64,
}

impl Wamrc {
    /// wamrc at `path` with `flags`, caching under `cache`.
    pub fn new(path: &Path, flags: &[&str], cache: &Path) -> Result<Self, String> {
        let stamp = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e} (run `make wamrc`)", path.display()))?
            .len();
        std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
        Ok(Wamrc {
            path: path.to_path_buf(),
            flags: flags.iter().map(|s| s.to_string()).collect(),
            cache: cache.to_path_buf(),
            stamp,
        })
    }

    fn key(&self, wasm: &[u8]) -> String {
        let mut h = Sha256::new();
        for f in &self.flags {
            h.update(f.as_bytes());
            h.update([0]);
        }
        h.update(self.stamp.to_le_bytes());
        h.update(wasm);
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }

    /// Compiles `wasm` (from the cache when it was compiled before). The bool says whether
    /// wamrc ran.
    pub fn compile(&self, wasm: &[u8]) -> Result<(Compiled, bool), String> {
        let key = self.key(wasm);
        let aot = self.cache.join(format!("{key}.aot"));
        let err = self.cache.join(format!("{key}.err"));
        if let Ok(b) = std::fs::read(&aot) {
            return Ok((Compiled::Aot(b), false));
        }
        if let Ok(m) = std::fs::read_to_string(&err) {
            return Ok((Compiled::Rejected(m), false));
        }
        let tag = format!("{}.{}", std::process::id(), key);
        let wasm_path = self.cache.join(format!("{tag}.wasm.tmp"));
        let out_tmp = self.cache.join(format!("{tag}.aot.tmp"));
        std::fs::write(&wasm_path, wasm).map_err(|e| format!("{}: {e}", wasm_path.display()))?;
        let out = Command::new(&self.path)
            .args(&self.flags)
            .arg("-o")
            .arg(&out_tmp)
            .arg(&wasm_path)
            .output()
            .map_err(|e| format!("running {}: {e}", self.path.display()))?;
        let _ = std::fs::remove_file(&wasm_path);
        if out.status.success() {
            if let Ok(b) = std::fs::read(&out_tmp) {
                std::fs::rename(&out_tmp, &aot).map_err(|e| format!("{}: {e}", aot.display()))?;
                return Ok((Compiled::Aot(b), true));
            }
        }
        let _ = std::fs::remove_file(&out_tmp);
        if out.status.code().is_none() {
            // Killed by a signal: not a verdict on the module, do not cache.
            return Ok((
                Compiled::Rejected(format!("wamrc died: {}", out.status)),
                true,
            ));
        }
        let mut msg = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace(&format!("wamrc: {}: ", wasm_path.display()), "")
            .replace(&wasm_path.display().to_string(), "module.wasm");
        if msg.is_empty() {
            msg = format!("wamrc failed ({})", out.status);
        }
        let tmp = self.cache.join(format!("{tag}.err.tmp"));
        std::fs::write(&tmp, &msg).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &err).map_err(|e| format!("{}: {e}", err.display()))?;
        Ok((Compiled::Rejected(msg), true))
    }
}
