//! Sessions and modules: the limits both worlds agree on and the LOAD report the secure world
//! writes into shared memory.
//!
//! A session (SESSION_OPEN) carries a heap quota: every byte the secure world allocates for
//! the session's module (the copy of the file, code, instance data, stack, linear memory)
//! counts against it. LOAD copies a `.aot` file out of a shared-memory registration, measures
//! it (SHA-256 of exactly those bytes), loads and instantiates it, and writes a
//! [`LoadReport`] at an offset the caller chose in the same registration.

/// Smallest heap quota SESSION_OPEN accepts.
pub const SESSION_MIN_QUOTA: u64 = 64 << 10;
/// Sessions open at once are bounded by memory, not by a table size: SESSION_OPEN reserves
/// each session's quota out of the pool, and answers QUOTA_TOO_LARGE (with the bytes still
/// free) when it does not fit. At least this many sessions of [`SESSION_MIN_QUOTA`] fit in
/// the QEMU build's pool.
pub const GUARANTEED_SESSIONS: usize = 64;
/// Largest `.aot` file LOAD accepts.
pub const MAX_MODULE_SIZE: u64 = 16 << 20;
/// The native stack a module gets when LOAD's `x6` is 0: what the corpus, the benchmarks and
/// the spec suite need, with room. Stack overflow traps `native stack overflow` (a guard
/// below the stack, or the file's own checks); a deeper module asks for more.
pub const DEFAULT_NATIVE_STACK: u64 = 64 << 10;
/// Smallest native stack LOAD accepts (a WASI call's frames need a few KiB).
pub const MIN_NATIVE_STACK: u64 = 16 << 10;
/// Largest native stack LOAD accepts (iwasm's, the usual 8 MiB thread stack).
pub const MAX_NATIVE_STACK: u64 = 8 << 20;
/// Nonce lengths ATTEST accepts (PSA's: RFC 9783 section 4.1.1).
pub const ATTEST_NONCE_LENGTHS: [u64; 3] = [32, 48, 64];
/// Smallest token buffer ATTEST accepts: every token it produces fits.
pub const ATTEST_TOKEN_MIN: u64 = 2048;
/// Receipt nonce lengths a RUN block accepts (those of [`ATTEST_NONCE_LENGTHS`]).
pub const RECEIPT_NONCE_LENGTHS: [u64; 3] = ATTEST_NONCE_LENGTHS;
/// RUN block option bits 0-7: the receipt nonce's length.
pub const RUN_OPTION_NONCE_LEN: u32 = 0xff;
/// RUN block option bit 8: an input ring descriptor (u64 offset, u64 length) follows the
/// header.
pub const RUN_OPTION_STDIN: u32 = 1 << 8;
/// RUN block option bit 9: a file channel descriptor (u64 offset, u64 length) follows the
/// input ring's (or the header); the run's module gets the preopened directories it lists.
pub const RUN_OPTION_FILES: u32 = 1 << 9;
/// Smallest buffer RECEIPT accepts: every receipt it produces fits.
pub const RECEIPT_TOKEN_MIN: u64 = ATTEST_TOKEN_MIN;
/// `LoadReport::magic`: "TZLR".
pub const LOAD_REPORT_MAGIC: u32 = u32::from_le_bytes(*b"TZLR");
/// Bytes of [`LoadReport::message`].
pub const LOAD_MESSAGE_LEN: usize = 200;

/// What LOAD writes at the report offset (little-endian, 8-byte aligned, 256 bytes), on
/// success and on failure alike (then `sha256` is the measurement if the bytes were copied,
/// zero otherwise).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadReport {
    /// [`LOAD_REPORT_MAGIC`].
    pub magic: u32,
    /// The status LOAD returned in `x0`, as a signed 32-bit value.
    pub status: i32,
    /// SHA-256 of exactly the bytes loaded: equal to `sha256sum` of the file.
    pub sha256: [u8; 32],
    /// The smallest heap quota this module needs (0 if unknown, e.g. it did not parse).
    pub min_quota: u64,
    /// Bytes of the session's quota the loaded module uses (0 on failure).
    pub charged: u64,
    /// Why it failed (or "loaded"), UTF-8, NUL-padded.
    pub message: [u8; LOAD_MESSAGE_LEN],
}

/// Size of [`LoadReport`] in shared memory.
pub const LOAD_REPORT_SIZE: usize = core::mem::size_of::<LoadReport>();
const _: () = assert!(LOAD_REPORT_SIZE == 256);
const _: () = assert!(core::mem::offset_of!(LoadReport, sha256) == 8);
const _: () = assert!(core::mem::offset_of!(LoadReport, min_quota) == 40);
const _: () = assert!(core::mem::offset_of!(LoadReport, charged) == 48);
const _: () = assert!(core::mem::offset_of!(LoadReport, message) == 56);

impl LoadReport {
    /// An empty report.
    pub const fn new(status: i32) -> Self {
        Self {
            magic: LOAD_REPORT_MAGIC,
            status,
            sha256: [0; 32],
            min_quota: 0,
            charged: 0,
            message: [0; LOAD_MESSAGE_LEN],
        }
    }

    /// Sets the message, cut at a character boundary to fit (with a terminating NUL).
    pub fn set_message(&mut self, text: &str) {
        set_text(&mut self.message, text);
    }

    /// The message up to its first NUL (lossy on bad UTF-8: the bytes come from the other
    /// world).
    pub fn message(&self) -> &str {
        text_of(&self.message)
    }

    /// The report as the bytes in shared memory.
    pub fn to_bytes(&self) -> [u8; LOAD_REPORT_SIZE] {
        let mut out = [0u8; LOAD_REPORT_SIZE];
        put(&mut out, 0, &self.magic.to_le_bytes());
        put(&mut out, 4, &self.status.to_le_bytes());
        put(&mut out, 8, &self.sha256);
        put(&mut out, 40, &self.min_quota.to_le_bytes());
        put(&mut out, 48, &self.charged.to_le_bytes());
        put(&mut out, 56, &self.message);
        out
    }

    /// Reads a report from shared-memory bytes (`None` without the magic).
    pub fn from_bytes(b: &[u8; LOAD_REPORT_SIZE]) -> Option<Self> {
        if u32_at(b, 0) != LOAD_REPORT_MAGIC {
            return None;
        }
        let mut r = Self::new(u32_at(b, 4) as i32);
        r.sha256 = bytes_at(b, 8);
        r.min_quota = u64_at(b, 40);
        r.charged = u64_at(b, 48);
        r.message = bytes_at(b, 56);
        Some(r)
    }
}

/// `RunReport::magic`: "TZRR".
pub const RUN_REPORT_MAGIC: u32 = u32::from_le_bytes(*b"TZRR");
/// Bytes of [`RunReport::message`].
pub const RUN_MESSAGE_LEN: usize = 224;
/// `RunReport::trap_id` when the run did not trap, or trapped without a WAMR exception id.
pub const NO_TRAP_ID: u32 = u32::MAX;
/// WAMR's exception id of `native stack overflow`: the module needed more native stack than
/// LOAD gave it.
pub const TRAP_NATIVE_STACK_OVERFLOW: u32 = 11;

/// What the secure world writes at RUN's report offset when a run ends (the answer of RUN,
/// RESUME or CANCEL that is not OUTPUT_PENDING or INTERRUPTED): little-endian, 8-byte aligned,
/// 256 bytes. The normal world zeroes it before RUN; a report without the magic means the run
/// has not ended (or the secure world could not write it).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// [`RUN_REPORT_MAGIC`].
    pub magic: u32,
    /// The status of the answer that ended the run (SUCCESS, TRAPPED or CANCELLED), as a
    /// signed 32-bit value.
    pub status: i32,
    /// The exit code (`proc_exit`, or 0 when `_start` or the export returned).
    pub exit_code: u32,
    /// WAMR's exception id of the trap, or [`NO_TRAP_ID`].
    pub trap_id: u32,
    /// Bytes the module wrote to stdout, stderr (as the ring's producer indices count them,
    /// without wrapping).
    pub written: [u64; 2],
    /// What happened, UTF-8, NUL-padded: the trap's message as WAMR's iwasm prints it after
    /// "Exception: " (e.g. `out of bounds memory access`), `exited`, or `cancelled`.
    pub message: [u8; RUN_MESSAGE_LEN],
}

/// Size of [`RunReport`] in shared memory.
pub const RUN_REPORT_SIZE: usize = core::mem::size_of::<RunReport>();
const _: () = assert!(RUN_REPORT_SIZE == 256);
const _: () = assert!(core::mem::offset_of!(RunReport, exit_code) == 8);
const _: () = assert!(core::mem::offset_of!(RunReport, trap_id) == 12);
const _: () = assert!(core::mem::offset_of!(RunReport, written) == 16);
const _: () = assert!(core::mem::offset_of!(RunReport, message) == 32);

impl RunReport {
    /// A report with this status and no message.
    pub const fn new(status: i32) -> Self {
        Self {
            magic: RUN_REPORT_MAGIC,
            status,
            exit_code: 0,
            trap_id: NO_TRAP_ID,
            written: [0; 2],
            message: [0; RUN_MESSAGE_LEN],
        }
    }

    /// Sets the message, cut at a character boundary to fit (with a terminating NUL).
    pub fn set_message(&mut self, text: &str) {
        set_text(&mut self.message, text);
    }

    /// The message up to its first NUL (valid UTF-8 prefix only: the bytes come from the
    /// other world).
    pub fn message(&self) -> &str {
        text_of(&self.message)
    }

    /// The report as the bytes in shared memory.
    pub fn to_bytes(&self) -> [u8; RUN_REPORT_SIZE] {
        let mut out = [0u8; RUN_REPORT_SIZE];
        put(&mut out, 0, &self.magic.to_le_bytes());
        put(&mut out, 4, &self.status.to_le_bytes());
        put(&mut out, 8, &self.exit_code.to_le_bytes());
        put(&mut out, 12, &self.trap_id.to_le_bytes());
        put(&mut out, 16, &self.written[0].to_le_bytes());
        put(&mut out, 24, &self.written[1].to_le_bytes());
        put(&mut out, 32, &self.message);
        out
    }

    /// Reads a report from shared-memory bytes (`None` without the magic).
    pub fn from_bytes(b: &[u8; RUN_REPORT_SIZE]) -> Option<Self> {
        if u32_at(b, 0) != RUN_REPORT_MAGIC {
            return None;
        }
        let mut r = Self::new(u32_at(b, 4) as i32);
        r.exit_code = u32_at(b, 8);
        r.trap_id = u32_at(b, 12);
        r.written = [u64_at(b, 16), u64_at(b, 24)];
        r.message = bytes_at(b, 32);
        Some(r)
    }
}

/// `N` bytes of `b` from `at` (zeros where `b` ends first: the callers read fixed layouts out
/// of arrays of the layout's size, so it does not happen).
fn bytes_at<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    let src = at.checked_add(N).and_then(|end| b.get(at..end));
    if let Some(src) = src {
        out.copy_from_slice(src);
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes_at(b, at))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes_at(b, at))
}

/// Copies `src` to `out` at `at` (nothing if it does not fit: as for [`bytes_at`], the
/// callers write fixed layouts into arrays of the layout's size).
fn put(out: &mut [u8], at: usize, src: &[u8]) {
    let dst = at
        .checked_add(src.len())
        .and_then(|end| out.get_mut(at..end));
    if let Some(dst) = dst {
        dst.copy_from_slice(src);
    }
}

/// Copies `text` into `buf`, cut at a character boundary so a NUL always follows.
fn set_text(buf: &mut [u8], text: &str) {
    buf.fill(0);
    let mut end = text.len().min(buf.len().saturating_sub(1));
    // Offset 0 is a boundary, so this stops there at the latest.
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    if let Some(prefix) = text.as_bytes().get(..end) {
        put(buf, 0, prefix);
    }
}

/// The valid UTF-8 prefix of `buf` up to its first NUL.
fn text_of(buf: &[u8]) -> &str {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let text = buf.get(..end).unwrap_or(&[]);
    match core::str::from_utf8(text) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(text.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_and_cuts_messages() {
        let mut r = LoadReport::new(-265);
        r.sha256 = [7; 32];
        r.min_quota = 123_456;
        r.charged = 42;
        r.set_message("section RELOCATION truncated at offset 99");
        let back = LoadReport::from_bytes(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.message(), "section RELOCATION truncated at offset 99");
        let long = "é".repeat(300);
        r.set_message(&long);
        assert!(r.message().len() < LOAD_MESSAGE_LEN);
        assert!(r.message().chars().all(|c| c == 'é'));
        let mut bytes = r.to_bytes();
        bytes[0] = 0;
        assert_eq!(LoadReport::from_bytes(&bytes), None);
        bytes = r.to_bytes();
        bytes[56] = 0xff; // invalid UTF-8 from the other world
        assert_eq!(LoadReport::from_bytes(&bytes).unwrap().message(), "");
    }

    #[test]
    fn run_report_round_trips() {
        let mut r = RunReport::new(-266);
        r.exit_code = 3;
        r.trap_id = 2;
        r.written = [1 << 40, 7];
        r.set_message("out of bounds memory access");
        let back = RunReport::from_bytes(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.message(), "out of bounds memory access");
        r.set_message(&"x".repeat(1000));
        assert_eq!(r.message().len(), RUN_MESSAGE_LEN - 1);
        let mut bytes = r.to_bytes();
        bytes[3] ^= 1;
        assert_eq!(RunReport::from_bytes(&bytes), None);
    }

    #[test]
    fn encoded_len_matches_encode_and_limits() {
        let mut buf = [0u8; 256];
        let args: [&[u8]; 3] = [b"prog", b"1", b"two"];
        let n = RunBlock::encode(b"f", &args, &[b"A=B"], &mut buf).unwrap();
        let spec = |entry, args, env, receipt_nonce| RunSpec {
            entry,
            args,
            env,
            receipt_nonce,
            stdin_ring: None,
            file_channel: None,
        };
        let env: [&[u8]; 1] = [b"A=B"];
        assert_eq!(
            RunBlock::encoded_len(&spec(b"f", &args, &env, None)),
            Some(n)
        );
        let nonce = [7u8; 48];
        assert_eq!(
            RunBlock::encoded_len(&spec(b"f", &args, &env, Some(&nonce))),
            Some(n + 48)
        );
        assert_eq!(
            RunBlock::encoded_len(&spec(b"f", &args, &env, Some(&nonce[..40]))),
            None
        );
        assert_eq!(RunBlock::encoded_len(&spec(b"", &[], &[], None)), None);
        let big = [b'x'; MAX_RUN_BLOCK];
        assert_eq!(RunBlock::encoded_len(&spec(b"", &[&big], &[], None)), None);
    }
}

/// Largest RUN block (arguments and environment).
pub const MAX_RUN_BLOCK: usize = 64 << 10;
/// Most strings (arguments + environment entries) in a RUN block.
pub const MAX_RUN_STRINGS: u32 = 1024;

/// What a RUN block asks for, as the normal world builds it ([`RunBlock::encode_with`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct RunSpec<'a> {
    /// The export to call (empty: `_start`).
    pub entry: &'a [u8],
    /// argv, the program name first.
    pub args: &'a [&'a [u8]],
    /// `KEY=VALUE` entries.
    pub env: &'a [&'a [u8]],
    /// Ask for a signed receipt of the run, bound to this nonce (32, 48 or 64 bytes).
    pub receipt_nonce: Option<&'a [u8]>,
    /// The run's stdin: an input ring block (offset and length in the RUN's registration)
    /// the normal world produces into; `None`: stdin is at end of file.
    pub stdin_ring: Option<(u64, u64)>,
    /// The run's files: a file channel block (offset and length in the RUN's registration,
    /// `crate::files`) listing its preopened directories; `None`: no files.
    pub file_channel: Option<(u64, u64)>,
}

/// The RUN block: `u32 argc`, `u32 envc`, `u32 entry_len`, `u32 options`, all little-endian.
/// `options` bits 0-7 are the receipt nonce's length, bit 8 ([`RUN_OPTION_STDIN`]) says an
/// input ring follows, bit 9 ([`RUN_OPTION_FILES`]) a file channel, every other bit is 0.
/// Then, with [`RUN_OPTION_STDIN`], `u64 offset` and `u64 length` of the input ring block in
/// the RUN's registration; then, with [`RUN_OPTION_FILES`], those of the file channel
/// block; then the receipt nonce
/// (0: no receipt; else 32, 48 or 64 bytes, [`RECEIPT_NONCE_LENGTHS`]: the secure world signs
/// a receipt of the run, bound to it, which RECEIPT copies out once the run ended); then
/// `entry_len` bytes naming the export to
/// call (empty: the WASI command's `_start`), then `argc` argument strings (program name
/// first; for an export call the rest are its parameters as text, parsed as WAMR's iwasm `-f`
/// does) and `envc` `KEY=VALUE` entries, each NUL-terminated, back to back, nothing after the
/// last NUL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunBlock<'a> {
    argc: u32,
    envc: u32,
    nonce: &'a [u8],
    stdin_ring: Option<(u64, u64)>,
    file_channel: Option<(u64, u64)>,
    entry: &'a [u8],
    strings: &'a [u8],
}

/// Why a RUN block was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunBlockError {
    /// Shorter than its 16-byte header, or longer than [`MAX_RUN_BLOCK`].
    Size,
    /// More than [`MAX_RUN_STRINGS`] strings, or `argc` = 0.
    Counts,
    /// A receipt nonce that is not 0, 32, 48 or 64 bytes, or longer than the block; an
    /// unknown option bit; an input ring or file channel descriptor longer than the block.
    Nonce,
    /// The strings do not match the counts (missing NUL, or bytes after the last one).
    Strings,
    /// An environment entry without `=`.
    Environment,
    /// The entry name is longer than the block, or not UTF-8, or contains a NUL.
    Entry,
}

const HEADER: usize = 16;

impl<'a> RunBlock<'a> {
    /// Validates a block (a copy in the reader's own memory: the caller must not parse
    /// shared memory in place).
    pub fn parse(b: &'a [u8]) -> Result<Self, RunBlockError> {
        if b.len() < HEADER || b.len() > MAX_RUN_BLOCK {
            return Err(RunBlockError::Size);
        }
        let word = |i: usize| u32_at(b, i);
        let (argc, envc, entry_len, options) = (word(0), word(4), word(8), word(12));
        let count = argc.checked_add(envc).filter(|&n| n <= MAX_RUN_STRINGS);
        let (Some(count), true) = (count, argc != 0) else {
            return Err(RunBlockError::Counts);
        };
        let nonce_len = options & RUN_OPTION_NONCE_LEN;
        if options & !(RUN_OPTION_NONCE_LEN | RUN_OPTION_STDIN | RUN_OPTION_FILES) != 0
            || (nonce_len != 0 && !RECEIPT_NONCE_LENGTHS.contains(&u64::from(nonce_len)))
        {
            return Err(RunBlockError::Nonce);
        }
        let mut rest = b.get(HEADER..).unwrap_or(&[]);
        let mut stdin_ring = None;
        if options & RUN_OPTION_STDIN != 0 {
            let (d, after) = rest.split_at_checked(16).ok_or(RunBlockError::Nonce)?;
            stdin_ring = Some((u64_at(d, 0), u64_at(d, 8)));
            rest = after;
        }
        let mut file_channel = None;
        if options & RUN_OPTION_FILES != 0 {
            let (d, after) = rest.split_at_checked(16).ok_or(RunBlockError::Nonce)?;
            file_channel = Some((u64_at(d, 0), u64_at(d, 8)));
            rest = after;
        }
        let (nonce, rest) = rest
            .split_at_checked(nonce_len as usize)
            .ok_or(RunBlockError::Nonce)?;
        let (entry, strings) = rest
            .split_at_checked(entry_len as usize)
            .ok_or(RunBlockError::Entry)?;
        if entry.contains(&0) || core::str::from_utf8(entry).is_err() {
            return Err(RunBlockError::Entry);
        }
        let nuls = strings.iter().filter(|&&c| c == 0).count();
        if nuls != count as usize || strings.last() != Some(&0) {
            return Err(RunBlockError::Strings);
        }
        let block = RunBlock {
            argc,
            envc,
            nonce,
            stdin_ring,
            file_channel,
            entry,
            strings,
        };
        if block.env().any(|e| !e.contains(&b'=')) {
            return Err(RunBlockError::Environment);
        }
        Ok(block)
    }

    /// The receipt nonce (32, 48 or 64 bytes), or `None` when the run wants no receipt.
    pub fn receipt_nonce(&self) -> Option<&'a [u8]> {
        (!self.nonce.is_empty()).then_some(self.nonce)
    }

    /// The input ring block (offset and length, unchecked: the secure world checks them
    /// against the registration), or `None`: stdin is at end of file.
    pub fn stdin_ring(&self) -> Option<(u64, u64)> {
        self.stdin_ring
    }

    /// The file channel block (offset and length, unchecked), or `None`: no files.
    pub fn file_channel(&self) -> Option<(u64, u64)> {
        self.file_channel
    }

    /// The entry name as given (empty: `_start`), for the receipt's args digest.
    pub fn entry_bytes(&self) -> &'a [u8] {
        self.entry
    }

    /// The export to call, or `None` for the WASI command's `_start`.
    pub fn entry(&self) -> Option<&'a str> {
        if self.entry.is_empty() {
            None
        } else {
            core::str::from_utf8(self.entry).ok()
        }
    }

    fn all(&self) -> impl Iterator<Item = &'a [u8]> + Clone {
        // Without the last NUL (there is one: parse checked it).
        let s = self.strings;
        s.get(..s.len().saturating_sub(1))
            .unwrap_or(s)
            .split(|&c| c == 0)
    }

    /// The arguments, program name first, without their NULs.
    pub fn args(&self) -> impl Iterator<Item = &'a [u8]> + Clone {
        self.all().take(self.argc as usize)
    }

    /// The environment entries, without their NULs.
    pub fn env(&self) -> impl Iterator<Item = &'a [u8]> + Clone {
        self.all().skip(self.argc as usize).take(self.envc as usize)
    }

    /// Writes a block calling `entry` (empty: `_start`) with `args` and `env`, asking for no
    /// receipt, into `out`; its length, or `None` if it does not fit or a string contains a NUL.
    pub fn encode(entry: &[u8], args: &[&[u8]], env: &[&[u8]], out: &mut [u8]) -> Option<usize> {
        let spec = RunSpec {
            entry,
            args,
            env,
            receipt_nonce: None,
            stdin_ring: None,
            file_channel: None,
        };
        Self::encode_with(&spec, |at, bytes| {
            let end = at.checked_add(bytes.len())?;
            out.get_mut(at..end)?.copy_from_slice(bytes);
            Some(())
        })
    }

    /// The length of the block [`RunBlock::encode`] would write (`None` if a string contains
    /// a NUL, there are too many strings, or the block is larger than [`MAX_RUN_BLOCK`]).
    pub fn encoded_len(spec: &RunSpec<'_>) -> Option<usize> {
        let n = Self::encode_with(spec, |_, _| Some(()))?;
        let strings = spec.args.len().checked_add(spec.env.len())?;
        (n <= MAX_RUN_BLOCK && !spec.args.is_empty() && strings <= MAX_RUN_STRINGS as usize)
            .then_some(n)
    }

    /// [`RunBlock::encode`] through `put(offset, bytes)`, which stores `bytes` at `offset` of
    /// the block (e.g. straight into shared memory) and fails with `None`.
    pub fn encode_with(
        spec: &RunSpec<'_>,
        mut put: impl FnMut(usize, &[u8]) -> Option<()>,
    ) -> Option<usize> {
        let RunSpec {
            entry,
            args,
            env,
            receipt_nonce,
            stdin_ring,
            file_channel,
        } = *spec;
        let nonce = receipt_nonce.unwrap_or_default();
        if entry.contains(&0)
            || receipt_nonce.is_some_and(|n| !RECEIPT_NONCE_LENGTHS.contains(&(n.len() as u64)))
        {
            return None;
        }
        let mut options = u32::try_from(nonce.len()).ok()?;
        let mut nonce_at = HEADER;
        if let Some((offset, len)) = stdin_ring {
            options |= RUN_OPTION_STDIN;
            put(HEADER, &offset.to_le_bytes())?;
            put(HEADER + 8, &len.to_le_bytes())?;
            nonce_at += 16;
        }
        if let Some((offset, len)) = file_channel {
            options |= RUN_OPTION_FILES;
            put(nonce_at, &offset.to_le_bytes())?;
            put(nonce_at + 8, &len.to_le_bytes())?;
            nonce_at += 16;
        }
        put(nonce_at, nonce)?;
        let entry_at = nonce_at.checked_add(nonce.len())?;
        put(entry_at, entry)?;
        let mut at: usize = entry_at.checked_add(entry.len())?;
        for s in args.iter().chain(env) {
            if s.contains(&0) {
                return None;
            }
            put(at, s)?;
            let end = at.checked_add(s.len())?;
            put(end, &[0])?;
            at = end.checked_add(1)?;
        }
        let words = [
            u32::try_from(args.len()).ok()?,
            u32::try_from(env.len()).ok()?,
            u32::try_from(entry.len()).ok()?,
            options,
        ];
        for (i, w) in words.iter().enumerate() {
            put(4 * i, &w.to_le_bytes())?;
        }
        Some(at)
    }
}

#[cfg(test)]
mod run_block_tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let mut buf = [0u8; 128];
        let n =
            RunBlock::encode(b"", &[b"prog", b"a b", b""], &[b"HOME=/", b"X="], &mut buf).unwrap();
        let b = RunBlock::parse(&buf[..n]).unwrap();
        assert_eq!(b.entry(), None);
        assert_eq!(
            b.args().collect::<Vec<_>>(),
            vec![&b"prog"[..], b"a b", b""]
        );
        assert_eq!(b.env().collect::<Vec<_>>(), vec![&b"HOME=/"[..], b"X="]);
        assert_eq!(RunBlock::parse(&buf[..n - 1]), Err(RunBlockError::Strings));
        let mut extra = buf;
        extra[n] = b'z';
        assert_eq!(
            RunBlock::parse(&extra[..n + 1]),
            Err(RunBlockError::Strings)
        );
        assert_eq!(RunBlock::parse(&buf[..15]), Err(RunBlockError::Size));
        let n = RunBlock::encode(b"add_i32", &[b"p", b"1", b"2"], &[], &mut buf).unwrap();
        let b = RunBlock::parse(&buf[..n]).unwrap();
        assert_eq!(b.entry(), Some("add_i32"));
        assert_eq!(b.args().collect::<Vec<_>>(), vec![&b"p"[..], b"1", b"2"]);
        let mut bad = buf;
        bad[8] = 200; // entry longer than the block
        assert_eq!(RunBlock::parse(&bad[..n]), Err(RunBlockError::Entry));
        assert_eq!(b.receipt_nonce(), None);
        let mut bad = buf;
        bad[12] = 1; // a 1-byte nonce
        assert_eq!(RunBlock::parse(&bad[..n]), Err(RunBlockError::Nonce));
        bad[12] = 64; // a nonce longer than the block
        assert_eq!(RunBlock::parse(&bad[..20]), Err(RunBlockError::Nonce));
        let n = RunBlock::encode(b"", &[b"p"], &[b"NOEQUALS"], &mut buf).unwrap();
        assert_eq!(RunBlock::parse(&buf[..n]), Err(RunBlockError::Environment));
        let n = RunBlock::encode(b"", &[], &[], &mut buf).unwrap();
        assert_eq!(RunBlock::parse(&buf[..n]), Err(RunBlockError::Counts));
        let mut huge = [0u8; 24];
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(RunBlock::parse(&huge), Err(RunBlockError::Counts));
        assert_eq!(RunBlock::encode(b"", &[b"a\0b"], &[], &mut buf), None);
        assert_eq!(RunBlock::encode(b"a\0", &[b"p"], &[], &mut buf), None);
        assert_eq!(RunBlock::encode(b"", &[&[b'x'; 200]], &[], &mut buf), None);
    }

    #[test]
    fn receipt_nonce_round_trip() {
        let mut buf = [0u8; 256];
        let nonce = [0xa5u8; 32];
        let args: [&[u8]; 2] = [b"prog", b"x"];
        let spec = RunSpec {
            entry: b"f",
            args: &args,
            env: &[b"K=V"],
            receipt_nonce: Some(&nonce),
            stdin_ring: Some((0x1_0000_0040, 0x1_00c0)),
            file_channel: Some((0x2_0000, 0x1_0100)),
        };
        let n = RunBlock::encode_with(&spec, |at, bytes| {
            buf.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
            Some(())
        })
        .unwrap();
        let b = RunBlock::parse(&buf[..n]).unwrap();
        assert_eq!(b.receipt_nonce(), Some(&nonce[..]));
        assert_eq!(b.stdin_ring(), Some((0x1_0000_0040, 0x1_00c0)));
        assert_eq!(b.file_channel(), Some((0x2_0000, 0x1_0100)));
        assert_eq!(b.entry(), Some("f"));
        assert_eq!(b.entry_bytes(), b"f");
        assert_eq!(b.args().collect::<Vec<_>>(), vec![&b"prog"[..], b"x"]);
        assert_eq!(b.env().collect::<Vec<_>>(), vec![&b"K=V"[..]]);
        // The descriptor cut short; an unknown option bit.
        let mut short = buf;
        short[12..16].copy_from_slice(&RUN_OPTION_STDIN.to_le_bytes());
        assert_eq!(RunBlock::parse(&short[..24]), Err(RunBlockError::Nonce));
        let mut odd = buf;
        odd[13] |= 4;
        assert_eq!(RunBlock::parse(&odd[..n]), Err(RunBlockError::Nonce));
        // Every length PSA allows, nothing else.
        for len in [0u32, 32, 48, 64] {
            let mut h = [0u8; 200];
            h[0] = 1;
            h[12..16].copy_from_slice(&len.to_le_bytes());
            let end = 16 + len as usize + 2;
            h[end - 2] = b'p';
            assert!(RunBlock::parse(&h[..end]).is_ok(), "{len}");
        }
    }
}
