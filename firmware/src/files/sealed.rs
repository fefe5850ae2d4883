//! The sealed directory of a run (`tzwasm run --sealed-dir HOST`, docs/files.md): the module
//! sees a preopen `/sealed`; the secure world serves every call on it itself, from plaintext
//! it keeps in secure memory, and stores each file in HOST through the same file channel, as
//! ciphertext under an encrypted name (`tzwasm_attest::sealed_dir`: the module's key on this
//! device). The tool only ever sees hex names and sealed blobs.
//!
//! - A file is read whole when it is opened (at most [`MAX_FILE`] bytes) and written whole,
//!   to a temporary name then renamed over the old one, at every change (write-through), so
//!   what is in HOST is always a complete sealed file. A blob that does not open (changed,
//!   cut, swapped with another file, another module's or device's) is `EIO`.
//! - Each open descriptor holds its own plaintext: two descriptors of one file do not see
//!   each other's writes, and each change stores its own whole copy. A descriptor whose file
//!   is renamed stores under the new name; one whose name is unlinked or renamed over keeps
//!   its contents in secure memory only, as an unlinked file, and never brings the name back.
//! - The directory is flat: files only (`mkdir`, links and symlinks are `ENOTSUP`), names of
//!   at most 100 bytes; times are not kept (0).
//! - One module call may need many host requests (open, reads, close; a temporary file,
//!   writes, close, rename). They run as a job that is *replayed*: each time the re-issued
//!   call comes back, the operation runs again from the start over the answers recorded so
//!   far, and the first request past them is posted (the run pauses with FILE_REQUEST). So
//!   the operation is written as straight-line code; it changes the secure state only after
//!   its last request, and random nonces are recorded like answers so a replay seals the
//!   same bytes.

use alloc::vec::Vec;
use tzwasm_aot_loader::wasi::files::{FileAnswer, FileOp, FileRequest};
use tzwasm_aot_loader::wasi::Errno;
use tzwasm_attest::sealed_dir::{DirKey, MAX_HOST_NAME, MAX_NAME, NONCE_LEN, OVERHEAD};
use tzwasm_smc::files::{Channel, Request};

/// Handles at and above this are the secure world's own (the tool's never are).
pub const SEALED_BIT: u32 = 0x8000_0000;
/// The handle of the sealed directory itself.
pub const SEALED_DIR: u32 = SEALED_BIT;
/// The largest sealed file.
pub const MAX_FILE: usize = 1 << 20;
/// Sealed files open at once.
const MAX_OPEN: usize = 64;

const O_CREAT: u64 = 1;
const O_DIRECTORY: u64 = 2;
const O_EXCL: u64 = 4;
const O_TRUNC: u64 = 8;
const FDFLAG_APPEND: u64 = 1;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR: u8 = 4;

/// An open sealed file: its name and plaintext.
struct SealedFile {
    name: Vec<u8>,
    data: Vec<u8>,
    pos: u64,
    append: bool,
    /// Its name was unlinked or renamed over: changes stay in secure memory, as for an
    /// unlinked inode, and never bring the name back in HOST.
    detached: bool,
}

/// One answer of the tool, or a nonce drawn, as a job recorded it.
enum Entry {
    Reply {
        errno: u16,
        values: [u64; 4],
        data: Vec<u8>,
    },
    Nonce([u8; NONCE_LEN]),
}

/// The module call being served and what the tool answered so far.
struct Job {
    op: FileOp,
    args: [u64; 6],
    log: Vec<Entry>,
    in_flight: Option<u64>,
}

/// Why an operation stopped early.
enum Halt {
    /// A request went out: the run pauses.
    Pending,
    /// The module's call fails with this errno.
    Fail(Errno),
}

impl From<Errno> for Halt {
    fn from(e: Errno) -> Self {
        Halt::Fail(e)
    }
}

fn nomem<T>(_: T) -> Halt {
    Halt::Fail(Errno::NOMEM)
}

/// The job's view of the channel during one replay.
struct Io<'j> {
    channel: &'j Channel<'static>,
    job: &'j mut Job,
    cursor: usize,
    next_seq: &'j mut u64,
    posted: &'j mut bool,
    /// Where nonces come from (the platform's random source).
    random: fn(&mut [u8]),
}

impl Io<'_> {
    /// The next recorded answer, or the answer to the request in flight, or posts `req`.
    /// `max` bounds the answer's data.
    fn call(&mut self, req: &Request<'_>, max: usize) -> Result<usize, Halt> {
        let at = self.cursor;
        if at < self.job.log.len() {
            self.cursor += 1;
            return Ok(at);
        }
        if let Some(seq) = self.job.in_flight.take() {
            let mut buf = Vec::new();
            buf.try_reserve_exact(max).map_err(nomem)?;
            buf.resize(max, 0);
            let (errno, values, len) = match self.channel.read_reply(seq, max, &mut buf) {
                Ok(r) => (r.errno, r.values, r.data.len()),
                Err(e) => {
                    log::info!("sealed dir: reply to {:?} refused: {e:?}", req.op);
                    return Err(Halt::Fail(Errno::IO));
                }
            };
            buf.truncate(len);
            self.job.log.try_reserve(1).map_err(nomem)?;
            self.job.log.push(Entry::Reply {
                errno,
                values,
                data: buf,
            });
            self.cursor += 1;
            return Ok(at);
        }
        let seq = *self.next_seq;
        *self.next_seq = seq.wrapping_add(1);
        let req = Request { seq, ..*req };
        if !self.channel.write_request(&req) {
            return Err(Halt::Fail(Errno::IO));
        }
        self.job.in_flight = Some(seq);
        *self.posted = true;
        Err(Halt::Pending)
    }

    /// The errno, values and data of recorded answer `at`.
    fn reply(&self, at: usize) -> (u16, [u64; 4], &[u8]) {
        match self.job.log.get(at) {
            Some(Entry::Reply {
                errno,
                values,
                data,
            }) => (*errno, *values, data),
            _ => (Errno::IO.0, [0; 4], &[]),
        }
    }

    /// A random nonce, the same in every replay.
    fn nonce(&mut self) -> Result<[u8; NONCE_LEN], Halt> {
        let at = self.cursor;
        if let Some(Entry::Nonce(n)) = self.job.log.get(at) {
            self.cursor += 1;
            return Ok(*n);
        }
        let mut n = [0u8; NONCE_LEN];
        (self.random)(&mut n);
        self.job.log.try_reserve(1).map_err(nomem)?;
        self.job.log.push(Entry::Nonce(n));
        self.cursor += 1;
        Ok(n)
    }

    /// One request with no data back; its errno.
    fn simple(
        &mut self,
        op: FileOp,
        args: [u64; 6],
        path: &[u8],
        path2: &[u8],
    ) -> Result<u16, Halt> {
        let req = request(op, args, path, path2, &[]);
        let at = self.call(&req, 0)?;
        Ok(self.reply(at).0)
    }
}

fn request<'a>(
    op: FileOp,
    args: [u64; 6],
    path: &'a [u8],
    path2: &'a [u8],
    data: &'a [u8],
) -> Request<'a> {
    Request {
        seq: 0,
        op,
        args,
        path,
        path2,
        data,
    }
}

fn ok(values: [u64; 4], len: usize) -> FileAnswer {
    FileAnswer {
        errno: Errno::SUCCESS,
        values,
        len,
    }
}

/// A 64-byte preview1 filestat.
fn filestat(out: &mut [u8], ino: u64, filetype: u8, nlink: u64, size: u64) -> Result<usize, Halt> {
    let mut rec = [0u8; 64];
    rec[8..16].copy_from_slice(&ino.to_le_bytes());
    rec[16] = filetype;
    rec[24..32].copy_from_slice(&nlink.to_le_bytes());
    rec[32..40].copy_from_slice(&size.to_le_bytes());
    out.get_mut(..64)
        .ok_or(Halt::Fail(Errno::IO))?
        .copy_from_slice(&rec);
    Ok(64)
}

/// The handle in an open's answer: a `u32` of the tool's, never in the secure world's range.
fn tool_handle(values: [u64; 4]) -> Result<u32, Halt> {
    u32::try_from(values[0])
        .ok()
        .filter(|&h| h < SEALED_BIT)
        .ok_or(Halt::Fail(Errno::IO))
}

/// An inode number for a name (FNV-1a), stable across runs.
fn ino(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) | 1
}

/// A file name of the sealed directory: one component, at most [`MAX_NAME`] bytes.
fn file_name(path: &[u8]) -> Result<&[u8], Halt> {
    if path.contains(&b'/') || path == b"." || path.is_empty() {
        return Err(Halt::Fail(Errno::NOENT));
    }
    if path.len() > MAX_NAME {
        return Err(Halt::Fail(Errno::NAMETOOLONG));
    }
    Ok(path)
}

/// The sealed directory of one run.
pub struct SealedDir {
    /// The tool's handle of HOST.
    host: u32,
    key: DirKey,
    files: Vec<Option<SealedFile>>,
    job: Option<Job>,
    /// Fills a buffer with random bytes (the sealing nonces).
    random: fn(&mut [u8]),
}

impl SealedDir {
    /// The sealed directory kept in the tool's directory `host` with `key`, drawing its
    /// nonces from `random`.
    pub fn new(host: u32, key: DirKey, random: fn(&mut [u8])) -> Self {
        SealedDir {
            host,
            key,
            files: Vec::new(),
            job: None,
            random,
        }
    }

    /// Serves `req` (on the sealed directory or one of its files): the answer, or `None`
    /// when a request to the tool went out first.
    pub fn file(
        &mut self,
        channel: &Channel<'static>,
        next_seq: &mut u64,
        posted: &mut bool,
        req: &FileRequest<'_>,
        out: &mut [u8],
    ) -> Option<FileAnswer> {
        let same = self
            .job
            .as_ref()
            .is_some_and(|j| j.op == req.op && j.args == req.args);
        if !same {
            self.job = Some(Job {
                op: req.op,
                args: req.args,
                log: Vec::new(),
                in_flight: None,
            });
        }
        let mut job = self.job.take()?;
        let result = {
            let mut io = Io {
                channel,
                job: &mut job,
                cursor: 0,
                next_seq,
                posted,
                random: self.random,
            };
            self.serve(&mut io, req, out)
        };
        match result {
            Err(Halt::Pending) => {
                self.job = Some(job);
                None
            }
            Err(Halt::Fail(errno)) => Some(FileAnswer {
                errno,
                values: [0; 4],
                len: 0,
            }),
            Ok(answer) => Some(answer),
        }
    }

    fn file_mut(&mut self, h: u64) -> Result<&mut SealedFile, Halt> {
        let i = h
            .checked_sub(u64::from(SEALED_BIT) + 1)
            .ok_or(Halt::Fail(Errno::BADF))?;
        self.files
            .get_mut(i as usize)
            .and_then(Option::as_mut)
            .ok_or(Halt::Fail(Errno::BADF))
    }

    /// After `name` left HOST (unlinked, or renamed over), its open files no longer store.
    fn detach(&mut self, name: &[u8]) {
        for f in self.files.iter_mut().flatten() {
            if f.name == name {
                f.detached = true;
            }
        }
    }

    fn host_name(&self, name: &[u8]) -> Result<([u8; MAX_HOST_NAME], usize), Halt> {
        let mut buf = [0u8; MAX_HOST_NAME];
        let n = self
            .key
            .encode_name(name, &mut buf)
            .map_err(|_| Halt::Fail(Errno::NAMETOOLONG))?;
        Ok((buf, n))
    }

    /// The plaintext of file `name`, `None` if HOST has no such file.
    fn load(&self, io: &mut Io<'_>, name: &[u8]) -> Result<Option<Vec<u8>>, Halt> {
        let (hn, n) = self.host_name(name)?;
        let hn = hn.get(..n).unwrap_or_default();
        let cap = io.channel.capacity();
        let args = [u64::from(self.host), 0, 0, 0, 1, 0];
        let at = io.call(&request(FileOp::Open, args, hn, &[], &[]), 0)?;
        let (errno, values, _) = io.reply(at);
        match Errno(errno) {
            Errno::SUCCESS => {}
            Errno::NOENT => return Ok(None),
            _ => return Err(Halt::Fail(Errno::IO)),
        }
        let h = tool_handle(values)?;
        let mut blob: Vec<u8> = Vec::new();
        loop {
            let args = [u64::from(h), cap as u64, 0, 0, 0, 0];
            let at = io.call(&request(FileOp::Read, args, &[], &[], &[]), cap)?;
            let (errno, _, data) = io.reply(at);
            if errno != 0 {
                return Err(Halt::Fail(Errno::IO));
            }
            if data.is_empty() {
                break;
            }
            if blob.len() + data.len() > MAX_FILE + OVERHEAD {
                return Err(Halt::Fail(Errno::FBIG));
            }
            blob.try_reserve(data.len()).map_err(nomem)?;
            blob.extend_from_slice(data);
        }
        io.simple(FileOp::Close, [u64::from(h), 0, 0, 0, 0, 0], &[], &[])?;
        let mut plain = Vec::new();
        plain
            .try_reserve_exact(blob.len().saturating_sub(OVERHEAD))
            .map_err(nomem)?;
        plain.resize(blob.len().saturating_sub(OVERHEAD), 0);
        let n = self
            .key
            .open_file(name, &blob, &mut plain)
            .map_err(|_| Halt::Fail(Errno::IO))?;
        plain.truncate(n);
        Ok(Some(plain))
    }

    /// Stores `data` as file `name`: sealed into a temporary file, renamed over the old one.
    fn store(&self, io: &mut Io<'_>, name: &[u8], data: &[u8]) -> Result<(), Halt> {
        if data.len() > MAX_FILE {
            return Err(Halt::Fail(Errno::FBIG));
        }
        let nonce = io.nonce()?;
        let mut blob = Vec::new();
        blob.try_reserve_exact(data.len() + OVERHEAD)
            .map_err(nomem)?;
        blob.resize(data.len() + OVERHEAD, 0);
        self.key
            .seal_file(name, &nonce, data, &mut blob)
            .map_err(|_| Halt::Fail(Errno::IO))?;
        let (hn, n) = self.host_name(name)?;
        let hn = hn.get(..n).unwrap_or_default();
        let mut tmp = *b"tmp-0000000000000000";
        let digit = |n: u8| if n < 10 { b'0' + n } else { b'a' + (n - 10) };
        for (pair, b) in tmp[4..].chunks_exact_mut(2).zip(&nonce) {
            if let [hi, lo] = pair {
                *hi = digit(b >> 4);
                *lo = digit(b & 15);
            }
        }
        let args = [u64::from(self.host), 0, O_CREAT | O_TRUNC, 0, 2, 0];
        let at = io.call(&request(FileOp::Open, args, &tmp, &[], &[]), 0)?;
        let (errno, values, _) = io.reply(at);
        if errno != 0 {
            return Err(Halt::Fail(Errno::IO));
        }
        let h = tool_handle(values)?;
        let cap = io.channel.capacity().max(1);
        let mut done = 0usize;
        while done < blob.len() {
            let chunk = blob
                .get(done..(done + cap).min(blob.len()))
                .unwrap_or_default();
            let at = io.call(
                &request(
                    FileOp::Write,
                    [u64::from(h), 0, 0, 0, 0, 0],
                    &[],
                    &[],
                    chunk,
                ),
                0,
            )?;
            let (errno, values, _) = io.reply(at);
            let n = values[0] as usize;
            if errno != 0 || n == 0 || n > chunk.len() {
                return Err(Halt::Fail(Errno::IO));
            }
            done += n;
        }
        if io.simple(FileOp::Close, [u64::from(h), 0, 0, 0, 0, 0], &[], &[])? != 0 {
            return Err(Halt::Fail(Errno::IO));
        }
        let dir = u64::from(self.host);
        if io.simple(FileOp::Rename, [dir, dir, 0, 0, 0, 0], &tmp, hn)? != 0 {
            return Err(Halt::Fail(Errno::IO));
        }
        Ok(())
    }

    /// The module's file names in HOST (those that decode with its key), sorted.
    fn list(&self, io: &mut Io<'_>) -> Result<Vec<Vec<u8>>, Halt> {
        let args = [u64::from(self.host), 0, O_DIRECTORY, 0, 1, 0];
        let at = io.call(&request(FileOp::Open, args, b".", &[], &[]), 0)?;
        let (errno, values, _) = io.reply(at);
        if errno != 0 {
            return Err(Halt::Fail(Errno::IO));
        }
        let h = tool_handle(values)?;
        let cap = io.channel.capacity();
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cookie = 0u64;
        // Each listing moves at least one record, so this ends; bound it all the same.
        for _ in 0..4096 {
            let args = [u64::from(h), cookie, cap as u64, 0, 0, 0];
            let at = io.call(&request(FileOp::Readdir, args, &[], &[], &[]), cap)?;
            let (errno, _, data) = io.reply(at);
            if errno != 0 {
                return Err(Halt::Fail(Errno::IO));
            }
            let mut rest = data;
            let mut progressed = false;
            while let Some(head) = rest.get(..24) {
                let word = |r: core::ops::Range<usize>| head.get(r).unwrap_or_default();
                let next = u64::from_le_bytes(word(0..8).try_into().unwrap_or_default());
                let len = u32::from_le_bytes(word(16..20).try_into().unwrap_or_default()) as usize;
                let Some(host_name) = rest.get(24..24 + len) else {
                    break; // the last record cut at the end of the buffer: listed again
                };
                let mut name = [0u8; MAX_NAME];
                if let Some(n) = self.key.decode_name(host_name, &mut name) {
                    let mut v = Vec::new();
                    v.try_reserve_exact(n).map_err(nomem)?;
                    v.extend_from_slice(name.get(..n).unwrap_or_default());
                    names.try_reserve(1).map_err(nomem)?;
                    names.push(v);
                }
                cookie = next;
                progressed = true;
                rest = rest.get(24 + len..).unwrap_or_default();
            }
            if !progressed {
                break;
            }
        }
        io.simple(FileOp::Close, [u64::from(h), 0, 0, 0, 0, 0], &[], &[])?;
        tzwasm_aot_loader::sort::sort(&mut names);
        names.dedup();
        Ok(names)
    }

    fn serve(
        &mut self,
        io: &mut Io<'_>,
        req: &FileRequest<'_>,
        out: &mut [u8],
    ) -> Result<FileAnswer, Halt> {
        let a = req.args;
        let on_dir = a[0] == u64::from(SEALED_DIR);
        match req.op {
            FileOp::Open if on_dir => {
                let (oflags, fdflags) = (a[2], a[3]);
                if req.path == b"." {
                    if oflags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
                        return Err(Halt::Fail(Errno::EXIST));
                    }
                    return Ok(ok(
                        [u64::from(SEALED_DIR), u64::from(FILETYPE_DIRECTORY), 0, 0],
                        0,
                    ));
                }
                let name = file_name(req.path)?;
                if self.files.iter().flatten().count() >= MAX_OPEN {
                    return Err(Halt::Fail(Errno::MFILE));
                }
                let mut data = match self.load(io, name)? {
                    Some(_) if oflags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => {
                        return Err(Halt::Fail(Errno::EXIST))
                    }
                    Some(_) if oflags & O_DIRECTORY != 0 => return Err(Halt::Fail(Errno::NOTDIR)),
                    Some(d) => d,
                    None if oflags & O_CREAT == 0 => return Err(Halt::Fail(Errno::NOENT)),
                    None => {
                        self.store(io, name, &[])?;
                        Vec::new()
                    }
                };
                if oflags & O_TRUNC != 0 && !data.is_empty() {
                    self.store(io, name, &[])?;
                    data.clear();
                }
                let mut owned = Vec::new();
                owned.try_reserve_exact(name.len()).map_err(nomem)?;
                owned.extend_from_slice(name);
                let file = SealedFile {
                    name: owned,
                    data,
                    pos: 0,
                    append: fdflags & FDFLAG_APPEND != 0,
                    detached: false,
                };
                let slot = match self.files.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        self.files.try_reserve(1).map_err(nomem)?;
                        self.files.push(None);
                        self.files.len() - 1
                    }
                };
                if let Some(s) = self.files.get_mut(slot) {
                    *s = Some(file);
                }
                let handle = u64::from(SEALED_BIT) + 1 + slot as u64;
                Ok(ok([handle, u64::from(FILETYPE_REGULAR), 0, 0], 0))
            }
            FileOp::Close if on_dir => Ok(ok([0; 4], 0)),
            FileOp::Close => {
                self.file_mut(a[0])?;
                let i = (a[0] - u64::from(SEALED_BIT) - 1) as usize;
                if let Some(s) = self.files.get_mut(i) {
                    *s = None;
                }
                Ok(ok([0; 4], 0))
            }
            FileOp::Filestat if on_dir => {
                let n = filestat(out, 1, FILETYPE_DIRECTORY, 2, 0)?;
                Ok(ok([0; 4], n))
            }
            FileOp::PathFilestat if on_dir => {
                if req.path == b"." {
                    let n = filestat(out, 1, FILETYPE_DIRECTORY, 2, 0)?;
                    return Ok(ok([0; 4], n));
                }
                let name = file_name(req.path)?;
                let data = self.load(io, name)?.ok_or(Halt::Fail(Errno::NOENT))?;
                let n = filestat(out, ino(name), FILETYPE_REGULAR, 1, data.len() as u64)?;
                Ok(ok([0; 4], n))
            }
            FileOp::Unlink if on_dir => {
                let name = file_name(req.path)?;
                let (hn, n) = self.host_name(name)?;
                let errno = io.simple(
                    FileOp::Unlink,
                    [u64::from(self.host), 0, 0, 0, 0, 0],
                    hn.get(..n).unwrap_or_default(),
                    &[],
                )?;
                match Errno(errno) {
                    Errno::SUCCESS => {
                        self.detach(name);
                        Ok(ok([0; 4], 0))
                    }
                    Errno::NOENT => Err(Halt::Fail(Errno::NOENT)),
                    _ => Err(Halt::Fail(Errno::IO)),
                }
            }
            FileOp::Rename if on_dir => {
                if a[1] != u64::from(SEALED_DIR) {
                    return Err(Halt::Fail(Errno::XDEV));
                }
                let (old, new) = (file_name(req.path)?, file_name(req.path2)?);
                let data = self.load(io, old)?.ok_or(Halt::Fail(Errno::NOENT))?;
                if old == new {
                    return Ok(ok([0; 4], 0));
                }
                self.store(io, new, &data)?;
                let (hn, n) = self.host_name(old)?;
                io.simple(
                    FileOp::Unlink,
                    [u64::from(self.host), 0, 0, 0, 0, 0],
                    hn.get(..n).unwrap_or_default(),
                    &[],
                )?;
                // Open files follow: those of `new` are replaced, those of `old` renamed.
                self.detach(new);
                for f in self.files.iter_mut().flatten() {
                    if f.name == old {
                        f.name.clear();
                        if f.name.try_reserve_exact(new.len()).is_ok() {
                            f.name.extend_from_slice(new);
                        } else {
                            f.detached = true;
                        }
                    }
                }
                Ok(ok([0; 4], 0))
            }
            FileOp::Readdir if on_dir => {
                let names = self.list(io)?;
                let (cookie, max) = (a[1], (a[2] as usize).min(out.len()));
                let mut used = 0usize;
                let dots: [&[u8]; 2] = [b".", b".."];
                let all = dots.iter().copied().chain(names.iter().map(Vec::as_slice));
                for (i, name) in all
                    .enumerate()
                    .skip(cookie.min(u64::from(u32::MAX)) as usize)
                {
                    let mut rec = [0u8; 24];
                    rec[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
                    rec[8..16].copy_from_slice(&ino(name).to_le_bytes());
                    rec[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
                    rec[20] = if i < 2 {
                        FILETYPE_DIRECTORY
                    } else {
                        FILETYPE_REGULAR
                    };
                    for part in [&rec[..], name] {
                        let room = max - used;
                        let n = part.len().min(room);
                        if let (Some(dst), Some(src)) = (out.get_mut(used..used + n), part.get(..n))
                        {
                            dst.copy_from_slice(src);
                        }
                        used += n;
                    }
                    if used >= max {
                        break;
                    }
                }
                Ok(ok([0; 4], used))
            }
            FileOp::Sync | FileOp::Datasync | FileOp::Advise | FileOp::SetFlags if on_dir => {
                Ok(ok([0; 4], 0))
            }
            FileOp::Readlink if on_dir => Err(Halt::Fail(Errno::INVAL)),
            _ if on_dir => Err(Halt::Fail(Errno::NOTSUP)),
            // A file of the sealed directory.
            FileOp::Read | FileOp::Pread => {
                let f = self.file_mut(a[0])?;
                let at = if req.op == FileOp::Read { f.pos } else { a[2] };
                let len = (a[1] as usize).min(out.len());
                let from = usize::try_from(at).unwrap_or(usize::MAX).min(f.data.len());
                let src = f.data.get(from..).unwrap_or_default();
                let n = src.len().min(len);
                if let (Some(dst), Some(src)) = (out.get_mut(..n), src.get(..n)) {
                    dst.copy_from_slice(src);
                }
                if req.op == FileOp::Read {
                    // A read at or past the end leaves the position where it was.
                    f.pos = at.saturating_add(n as u64);
                }
                Ok(ok([0; 4], n))
            }
            FileOp::Write | FileOp::Pwrite => {
                let (name, mut data, pos, append, detached) = {
                    let f = self.file_mut(a[0])?;
                    (f.name.clone(), f.data.clone(), f.pos, f.append, f.detached)
                };
                let at = match (req.op, append) {
                    (FileOp::Pwrite, _) => a[1],
                    (_, true) => data.len() as u64,
                    _ => pos,
                };
                let at = usize::try_from(at).map_err(|_| Halt::Fail(Errno::FBIG))?;
                let end = at
                    .checked_add(req.data.len())
                    .filter(|&e| e <= MAX_FILE)
                    .ok_or(Halt::Fail(Errno::FBIG))?;
                if end > data.len() {
                    data.try_reserve(end - data.len()).map_err(nomem)?;
                    data.resize(end, 0);
                }
                if let Some(dst) = data.get_mut(at..end) {
                    dst.copy_from_slice(req.data);
                }
                if !detached {
                    self.store(io, &name, &data)?;
                }
                let f = self.file_mut(a[0])?;
                f.data = data;
                if req.op == FileOp::Write {
                    f.pos = end as u64;
                }
                Ok(ok([req.data.len() as u64, 0, 0, 0], 0))
            }
            FileOp::Seek => {
                let f = self.file_mut(a[0])?;
                let base = match a[2] {
                    0 => 0i128,
                    1 => i128::from(f.pos),
                    2 => f.data.len() as i128,
                    _ => return Err(Halt::Fail(Errno::INVAL)),
                };
                let to = base + i128::from(a[1] as i64);
                let to = u64::try_from(to).map_err(|_| Halt::Fail(Errno::INVAL))?;
                f.pos = to;
                Ok(ok([to, 0, 0, 0], 0))
            }
            FileOp::Filestat => {
                let f = self.file_mut(a[0])?;
                let (i, size) = (ino(&f.name), f.data.len() as u64);
                let n = filestat(out, i, FILETYPE_REGULAR, 1, size)?;
                Ok(ok([0; 4], n))
            }
            FileOp::SetSize | FileOp::Allocate => {
                let (name, mut data, detached) = {
                    let f = self.file_mut(a[0])?;
                    (f.name.clone(), f.data.clone(), f.detached)
                };
                let size = if req.op == FileOp::SetSize {
                    a[1]
                } else {
                    a[1].checked_add(a[2])
                        .ok_or(Halt::Fail(Errno::FBIG))?
                        .max(data.len() as u64)
                };
                let size = usize::try_from(size)
                    .ok()
                    .filter(|&s| s <= MAX_FILE)
                    .ok_or(Halt::Fail(Errno::FBIG))?;
                if size > data.len() {
                    data.try_reserve(size - data.len()).map_err(nomem)?;
                }
                data.resize(size, 0);
                if !detached {
                    self.store(io, &name, &data)?;
                }
                self.file_mut(a[0])?.data = data;
                Ok(ok([0; 4], 0))
            }
            FileOp::SetFlags => {
                self.file_mut(a[0])?.append = a[1] & FDFLAG_APPEND != 0;
                Ok(ok([0; 4], 0))
            }
            FileOp::Sync | FileOp::Datasync | FileOp::Advise => {
                self.file_mut(a[0])?;
                Ok(ok([0; 4], 0))
            }
            FileOp::Readdir => Err(Halt::Fail(Errno::NOTDIR)),
            _ => Err(Halt::Fail(Errno::NOTSUP)),
        }
    }
}
