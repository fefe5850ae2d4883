//! The file channel (docs/files.md, issue 13; not yet served by the secure world): the block
//! in shared memory through which a module's file calls reach the tool. The secure world
//! writes one [`Request`] and pauses the run (FILE_REQUEST); the tool performs it inside the
//! directory the user granted, writes the [`Reply`] and resumes the run.
//!
//! Layout (little-endian), a 256-byte header in four 64-byte lines and a data area:
//!
//! | offset | written by | field |
//! |---:|---|---|
//! | `0x00` | tool, before RUN | magic "TZWF", version 1, data capacity, preopen count |
//! | `0x40` | secure world | request: `u64 seq`, `u32 op`, `u32 path_len`, `u32 path2_len`, `u32 data_len`, `u64 args[6]` (to `0x88`), rest 0 |
//! | `0xC0` | tool | reply: `u64 seq`, `u32 errno`, `u32 data_len`, `u64 values[4]` |
//! | `0x100` | both, in turn | data: before RUN the preopen table; then a request's path, second path and data back to back; then the reply's data |
//!
//! Each side copies what the other wrote once, and checks it: [`read_request`] (the tool)
//! and [`read_reply`] (the secure world, which trusts nothing in it: the sequence number must
//! match, the errno must be a WASI errno, the data no longer than it asked for).

use crate::shared::SharedRegion;

/// "TZWF".
pub const MAGIC: u32 = u32::from_le_bytes(*b"TZWF");
/// Layout version.
pub const VERSION: u32 = 2;
/// Bytes of the header before the data area.
pub const HEADER_SIZE: usize = 256;
/// The most a data area holds (and so the most one request moves).
pub const MAX_DATA: usize = 64 << 10;
/// The most preopened directories.
pub const MAX_PREOPENS: usize = 16;
/// The longest preopen name and the longest path a request carries.
pub const MAX_PATH: usize = 4096;
/// The largest WASI errno (`ENOTCAPABLE`).
pub const MAX_ERRNO: u32 = 76;

const OFF_CAPACITY: usize = 0x08;
const OFF_PREOPENS: usize = 0x0c;
const OFF_REQUEST: usize = 0x40;
const OFF_REPLY: usize = 0xc0;

/// What a request asks (its arguments: see each variant; `h` is a handle the tool gave).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FileOp {
    /// `[dir h, lookupflags, oflags, fdflags, access (1 read, 2 write)]`, path → `values[0]`
    /// = handle, `values[1]` = WASI filetype.
    Open = 1,
    /// `[h]`.
    Close = 2,
    /// `[h, len]` → data.
    Read = 3,
    /// `[h, len, offset]` → data.
    Pread = 4,
    /// `[h]`, data → `values[0]` = bytes written.
    Write = 5,
    /// `[h, offset]`, data → `values[0]` = bytes written.
    Pwrite = 6,
    /// `[h, offset (i64), whence]` → `values[0]` = the new offset.
    Seek = 7,
    /// `[h]`.
    Sync = 8,
    /// `[h]`.
    Datasync = 9,
    /// `[h, offset, len, advice]`.
    Advise = 10,
    /// `[h, offset, len]`.
    Allocate = 11,
    /// `[h, fdflags]`.
    SetFlags = 12,
    /// `[h]` → data = a 64-byte WASI filestat.
    Filestat = 13,
    /// `[dir h, lookupflags]`, path → data = a filestat.
    PathFilestat = 14,
    /// `[h, size]`.
    SetSize = 15,
    /// `[h, atim, mtim, fstflags]`.
    SetTimes = 16,
    /// `[dir h, lookupflags, atim, mtim, fstflags]`, path.
    PathSetTimes = 17,
    /// `[h, cookie, max bytes]` → data = WASI dirent records as `fd_readdir` writes them.
    Readdir = 18,
    /// `[dir h]`, path.
    Mkdir = 19,
    /// `[dir h]`, path.
    Rmdir = 20,
    /// `[dir h]`, path.
    Unlink = 21,
    /// `[dir h, new dir h]`, path, path2 (the new name).
    Rename = 22,
    /// `[dir h, lookupflags, new dir h]`, path, path2 (the new name).
    Link = 23,
    /// `[dir h]`, path (the target, as given), path2 (the link's name).
    Symlink = 24,
    /// `[dir h, max len]`, path → data = the link's contents.
    Readlink = 25,
}

impl FileOp {
    /// Every op, in number order.
    pub const ALL: [FileOp; 25] = [
        FileOp::Open,
        FileOp::Close,
        FileOp::Read,
        FileOp::Pread,
        FileOp::Write,
        FileOp::Pwrite,
        FileOp::Seek,
        FileOp::Sync,
        FileOp::Datasync,
        FileOp::Advise,
        FileOp::Allocate,
        FileOp::SetFlags,
        FileOp::Filestat,
        FileOp::PathFilestat,
        FileOp::SetSize,
        FileOp::SetTimes,
        FileOp::PathSetTimes,
        FileOp::Readdir,
        FileOp::Mkdir,
        FileOp::Rmdir,
        FileOp::Unlink,
        FileOp::Rename,
        FileOp::Link,
        FileOp::Symlink,
        FileOp::Readlink,
    ];

    /// The op numbered `raw`.
    pub fn from_raw(raw: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|op| *op as u32 == raw)
    }
}

/// One request, as the tool reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// Sequence number (the reply echoes it).
    pub seq: u64,
    /// What to do.
    pub op: FileOp,
    /// The op's arguments ([`FileOp`]).
    pub args: [u64; 6],
    /// The path (relative, already resolved lexically by the secure world; the tool checks
    /// it again).
    pub path: &'a [u8],
    /// The second path (rename, link, symlink).
    pub path2: &'a [u8],
    /// Bytes to write.
    pub data: &'a [u8],
}

/// One reply, as the secure world reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The request's sequence number.
    pub seq: u64,
    /// WASI errno (0: success).
    pub errno: u16,
    /// The op's results ([`FileOp`]).
    pub values: [u64; 4],
    /// The op's data (read bytes, a filestat, dirents, a link's contents).
    pub data: &'a [u8],
}

/// A preopened directory as the tool lists it before RUN: per entry `u32 handle`, `u32
/// flags` ([`PREOPEN_SEALED`]), `u32 name length`, the name, padded to 4 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preopen<'a> {
    /// The tool's handle of the directory.
    pub handle: u32,
    /// The name the module sees (`fd_prestat_dir_name`).
    pub name: &'a [u8],
    /// The sealed directory (`tzwasm run --sealed-dir`): the secure world keeps the module's
    /// files in it encrypted, names included, and serves them itself (docs/files.md). Its
    /// name must be [`SEALED_NAME`], and no other preopen may have that name.
    pub sealed: bool,
}

/// Preopen flag: the sealed directory.
pub const PREOPEN_SEALED: u32 = 1;
/// The name the module sees the sealed directory under.
pub const SEALED_NAME: &[u8] = b"/sealed";

/// Why a channel's contents were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// The block is smaller than its header, not formatted, or another version.
    Layout,
    /// A length is larger than the data area, the buffer or the limit.
    Length,
    /// An unknown op.
    Op,
    /// The reply answers another request.
    Sequence,
    /// The errno is not a WASI errno.
    Errno,
    /// A preopen count above [`MAX_PREOPENS`], or an empty name.
    Preopens,
}

/// The channel block: `mem` from its first byte (64-aligned in the registration).
#[derive(Clone, Copy, Debug)]
pub struct Channel<'a> {
    mem: SharedRegion<'a>,
    /// Bytes of the data area (copied once).
    capacity: usize,
}

/// The block size for a data area of `capacity` bytes.
pub const fn block_size(capacity: usize) -> usize {
    HEADER_SIZE + capacity
}

impl<'a> Channel<'a> {
    /// Formats `mem` (the tool, before RUN): the header zeroed, a data area of all the rest
    /// (at most [`MAX_DATA`]), and the preopen table.
    pub fn format(mem: SharedRegion<'a>, preopens: &[Preopen<'_>]) -> Result<Self, ChannelError> {
        let capacity = mem
            .len()
            .checked_sub(HEADER_SIZE)
            .ok_or(ChannelError::Layout)?
            .min(MAX_DATA);
        if preopens.len() > MAX_PREOPENS {
            return Err(ChannelError::Preopens);
        }
        let mut ok = true;
        for off in (0..HEADER_SIZE).step_by(4) {
            ok &= mem.write_u32(off, 0);
        }
        let mut at = HEADER_SIZE;
        for p in preopens {
            if p.name.is_empty() || p.name.len() > MAX_PATH || p.sealed != (p.name == SEALED_NAME) {
                return Err(ChannelError::Preopens);
            }
            let end = at + 12 + p.name.len().next_multiple_of(4);
            if end > HEADER_SIZE + capacity {
                return Err(ChannelError::Length);
            }
            let flags = if p.sealed { PREOPEN_SEALED } else { 0 };
            ok &= mem.write_u32(at, p.handle)
                && mem.write_u32(at + 4, flags)
                && mem.write_u32(at + 8, p.name.len() as u32)
                && mem.write_bytes(at + 12, p.name);
            at = end;
        }
        ok &= mem.write_u32(4, VERSION)
            && mem.write_u32(OFF_CAPACITY, capacity as u32)
            && mem.write_u32(OFF_PREOPENS, preopens.len() as u32)
            && mem.write_u32(0, MAGIC);
        if !ok {
            return Err(ChannelError::Layout);
        }
        Ok(Channel { mem, capacity })
    }

    /// Attaches to a formatted block (the secure world at RUN): checks the header once.
    pub fn attach(mem: SharedRegion<'a>) -> Result<Self, ChannelError> {
        let word = |off| mem.read_u32(off).ok_or(ChannelError::Layout);
        if word(0)? != MAGIC || word(4)? != VERSION {
            return Err(ChannelError::Layout);
        }
        let capacity = word(OFF_CAPACITY)? as usize;
        if capacity > MAX_DATA || HEADER_SIZE + capacity > mem.len() {
            return Err(ChannelError::Layout);
        }
        Ok(Channel { mem, capacity })
    }

    /// Bytes of the data area.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Copies the preopen table into `buf` and calls `each` per preopen, names borrowed
    /// from `buf` (the secure world, once at RUN).
    pub fn read_preopens(
        &self,
        buf: &mut [u8],
        mut each: impl FnMut(Preopen<'_>),
    ) -> Result<usize, ChannelError> {
        let count = self
            .mem
            .read_u32(OFF_PREOPENS)
            .ok_or(ChannelError::Layout)? as usize;
        if count > MAX_PREOPENS {
            return Err(ChannelError::Preopens);
        }
        let table = buf.get_mut(..self.capacity).ok_or(ChannelError::Length)?;
        if !self.mem.read_bytes(HEADER_SIZE, table) {
            return Err(ChannelError::Layout);
        }
        let table: &[u8] = table;
        let mut at = 0usize;
        for _ in 0..count {
            let word = |o: usize| {
                table
                    .get(o..o.saturating_add(4))
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_le_bytes)
                    .ok_or(ChannelError::Length)
            };
            let handle = word(at)?;
            let flags = word(at + 4)?;
            let len = word(at + 8)? as usize;
            if len == 0 || len > MAX_PATH || flags & !PREOPEN_SEALED != 0 {
                return Err(ChannelError::Preopens);
            }
            let name = table
                .get(at + 12..at + 12 + len)
                .ok_or(ChannelError::Length)?;
            let sealed = flags & PREOPEN_SEALED != 0;
            // The name "/sealed" means the sealed directory, and only that.
            if sealed != (name == SEALED_NAME) {
                return Err(ChannelError::Preopens);
            }
            each(Preopen {
                handle,
                name,
                sealed,
            });
            at += 12 + len.next_multiple_of(4);
        }
        Ok(count)
    }

    /// Writes `req` (the secure world). False if its path and data do not fit.
    pub fn write_request(&self, req: &Request<'_>) -> bool {
        let total = req.path.len() + req.path2.len() + req.data.len();
        if total > self.capacity || req.path.len() > MAX_PATH || req.path2.len() > MAX_PATH {
            return false;
        }
        let m = &self.mem;
        let mut ok = m.write_bytes(HEADER_SIZE, req.path)
            && m.write_bytes(HEADER_SIZE + req.path.len(), req.path2)
            && m.write_bytes(HEADER_SIZE + req.path.len() + req.path2.len(), req.data);
        ok &= write_u64(m, OFF_REQUEST, req.seq)
            && m.write_u32(OFF_REQUEST + 8, req.op as u32)
            && m.write_u32(OFF_REQUEST + 12, req.path.len() as u32)
            && m.write_u32(OFF_REQUEST + 16, req.path2.len() as u32)
            && m.write_u32(OFF_REQUEST + 20, req.data.len() as u32);
        for (i, a) in req.args.iter().enumerate() {
            ok &= write_u64(m, OFF_REQUEST + 24 + 8 * i, *a);
        }
        ok
    }

    /// Copies the request into `buf` (at least [`Channel::capacity`] bytes) and checks it
    /// (the tool).
    pub fn read_request<'b>(&self, buf: &'b mut [u8]) -> Result<Request<'b>, ChannelError> {
        let m = &self.mem;
        let word = |off| m.read_u32(off).ok_or(ChannelError::Layout);
        let seq = read_u64(m, OFF_REQUEST).ok_or(ChannelError::Layout)?;
        let op = FileOp::from_raw(word(OFF_REQUEST + 8)?).ok_or(ChannelError::Op)?;
        let [path_len, path2_len, data_len] = [
            word(OFF_REQUEST + 12)? as usize,
            word(OFF_REQUEST + 16)? as usize,
            word(OFF_REQUEST + 20)? as usize,
        ];
        let lens = [path_len, path2_len, data_len];
        let total = lens.iter().try_fold(0usize, |t, &n| t.checked_add(n));
        let total = total.filter(|&t| t <= self.capacity && t <= buf.len());
        let total = total.ok_or(ChannelError::Length)?;
        if path_len > MAX_PATH || path2_len > MAX_PATH {
            return Err(ChannelError::Length);
        }
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = read_u64(m, OFF_REQUEST + 24 + 8 * i).ok_or(ChannelError::Layout)?;
        }
        let bytes = buf.get_mut(..total).ok_or(ChannelError::Length)?;
        if !m.read_bytes(HEADER_SIZE, bytes) {
            return Err(ChannelError::Layout);
        }
        let bytes: &'b [u8] = bytes;
        let (path, rest) = bytes
            .split_at_checked(path_len)
            .ok_or(ChannelError::Length)?;
        let (path2, data) = rest
            .split_at_checked(path2_len)
            .ok_or(ChannelError::Length)?;
        Ok(Request {
            seq,
            op,
            args,
            path,
            path2,
            data,
        })
    }

    /// Writes `reply` (the tool). False if its data does not fit.
    pub fn write_reply(&self, reply: &Reply<'_>) -> bool {
        if reply.data.len() > self.capacity {
            return false;
        }
        let m = &self.mem;
        let mut ok = m.write_bytes(HEADER_SIZE, reply.data)
            && write_u64(m, OFF_REPLY, reply.seq)
            && m.write_u32(OFF_REPLY + 8, u32::from(reply.errno))
            && m.write_u32(OFF_REPLY + 12, reply.data.len() as u32);
        for (i, v) in reply.values.iter().enumerate() {
            ok &= write_u64(m, OFF_REPLY + 16 + 8 * i, *v);
        }
        ok
    }

    /// Copies the reply to request `seq` into `buf`, taking at most `max_data` bytes of
    /// data, and checks it (the secure world).
    pub fn read_reply<'b>(
        &self,
        seq: u64,
        max_data: usize,
        buf: &'b mut [u8],
    ) -> Result<Reply<'b>, ChannelError> {
        let m = &self.mem;
        let word = |off| m.read_u32(off).ok_or(ChannelError::Layout);
        if read_u64(m, OFF_REPLY).ok_or(ChannelError::Layout)? != seq {
            return Err(ChannelError::Sequence);
        }
        let errno = word(OFF_REPLY + 8)?;
        if errno > MAX_ERRNO {
            return Err(ChannelError::Errno);
        }
        let len = word(OFF_REPLY + 12)? as usize;
        if len > max_data || len > self.capacity || len > buf.len() {
            return Err(ChannelError::Length);
        }
        let mut values = [0u64; 4];
        for (i, v) in values.iter_mut().enumerate() {
            *v = read_u64(m, OFF_REPLY + 16 + 8 * i).ok_or(ChannelError::Layout)?;
        }
        let data = buf.get_mut(..len).ok_or(ChannelError::Length)?;
        if !m.read_bytes(HEADER_SIZE, data) {
            return Err(ChannelError::Layout);
        }
        Ok(Reply {
            seq,
            errno: errno as u16,
            values,
            data,
        })
    }
}

fn write_u64(m: &SharedRegion<'_>, off: usize, v: u64) -> bool {
    m.write_bytes(off, &v.to_le_bytes())
}

fn read_u64(m: &SharedRegion<'_>, off: usize) -> Option<u64> {
    let mut b = [0u8; 8];
    m.read_bytes(off, &mut b).then(|| u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests;
