//! The secure side's view of a module's files (docs/files.md; not yet wired into [`super::call`]):
//! the descriptor table for fds 3 and up, and the lexical resolution every path goes through
//! before a request leaves the secure world.
//!
//! - [`resolve`] turns a WASI path, relative to a directory fd, into the normalized relative
//!   path the tool receives. Absolute paths and `..` that climb above the directory are
//!   `ENOTCAPABLE`, as iwasm refuses them; a NUL is `EILSEQ` (as WAMR); an empty path `ENOENT`. `.` and
//!   empty components are dropped, a trailing `/` is kept (it means "a directory"). The tool
//!   checks again and confines symlinks (openat2 `RESOLVE_BENEATH`).
//! - [`FdTable`] holds what the secure world knows of each descriptor: the tool's handle, the
//!   kind, the rights and the fd flags, and for a preopen the name the module sees. New fds
//!   take the lowest free number from 3 + the preopens (iwasm numbers them otherwise, at
//!   random: no program may depend on the numbers). The table grows fallibly up to
//!   [`MAX_FDS`] (then `EMFILE`).

use super::Errno;
use alloc::vec::Vec;
pub use tzwasm_smc::files::FileOp;

/// One request of a module's file call, for [`super::WasiHost::file`] (the arguments of each
/// [`FileOp`] are documented there; `h` is the tool's handle from the [`FdTable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRequest<'a> {
    /// What to do.
    pub op: FileOp,
    /// The op's arguments.
    pub args: [u64; 6],
    /// The path, resolved ([`resolve`]); for `Symlink` the target as the module gave it.
    pub path: &'a [u8],
    /// The second path (rename, link: the new name; symlink: the link's name), resolved.
    pub path2: &'a [u8],
    /// Bytes to write.
    pub data: &'a [u8],
}

/// The answer to a [`FileRequest`], as the host checked it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileAnswer {
    /// The errno (success or the call's error).
    pub errno: Errno,
    /// The op's results.
    pub values: [u64; 4],
    /// Bytes of data the host put at the start of the call's buffer (never more than its
    /// length: more is refused as `EIO`).
    pub len: usize,
}

/// The most descriptors a module has open at once (stdio included).
pub const MAX_FDS: usize = 1024;
/// The first fd of the table (0-2 are stdio).
pub const FIRST_FD: u32 = 3;

/// Resolves `path` lexically into `out`; returns the length written. `out` needs
/// `path.len() + 1` bytes (a path that resolves to the directory itself is `.`).
pub fn resolve(path: &[u8], out: &mut [u8]) -> Result<usize, Errno> {
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    if path.contains(&0) {
        return Err(Errno::ILSEQ);
    }
    if path.first() == Some(&b'/') {
        return Err(Errno::NOTCAPABLE);
    }
    // Ends of the components kept so far, to pop on "..".
    let mut len = 0usize;
    let mut depth = 0usize;
    for comp in path.split(|&c| c == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if depth == 0 {
                    return Err(Errno::NOTCAPABLE);
                }
                depth -= 1;
                // Back to just after the previous '/', or to the start.
                let kept = out.get(..len).ok_or(Errno::NAMETOOLONG)?;
                len = kept
                    .iter()
                    .rposition(|&c| c == b'/')
                    .map_or(0, |slash| slash);
            }
            name => {
                let sep = usize::from(len > 0);
                let end = len
                    .checked_add(sep)
                    .and_then(|n| n.checked_add(name.len()))
                    .ok_or(Errno::NAMETOOLONG)?;
                let dst = out.get_mut(len..end).ok_or(Errno::NAMETOOLONG)?;
                let (slash, rest) = dst.split_at_mut(sep);
                slash.fill(b'/');
                rest.copy_from_slice(name);
                len = end;
                depth += 1;
            }
        }
    }
    if len == 0 {
        *out.first_mut().ok_or(Errno::NAMETOOLONG)? = b'.';
        len = 1;
    }
    if path.last() == Some(&b'/') && out.get(..len) != Some(b".") {
        *out.get_mut(len).ok_or(Errno::NAMETOOLONG)? = b'/';
        len += 1;
    }
    Ok(len)
}

/// What a descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// A directory; for a preopen, the index of its name in [`FdTable::preopen_name`].
    Directory {
        /// Which preopen it is, if it is one.
        preopen: Option<usize>,
    },
    /// A regular file (or anything else the tool opened that is not a directory), with its
    /// WASI filetype.
    File {
        /// The filetype the tool reported at open.
        filetype: u8,
    },
}

/// One descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdEntry {
    /// The tool's handle (an opaque number it gave in a reply).
    pub handle: u32,
    /// What it is.
    pub kind: FdKind,
    /// Rights of the descriptor.
    pub rights_base: u64,
    /// Rights of descriptors opened through it.
    pub rights_inheriting: u64,
    /// WASI fd flags.
    pub fdflags: u16,
}

/// The descriptors of fds 3 and up, and the preopens' names.
#[derive(Debug, Default)]
pub struct FdTable {
    entries: Vec<Option<FdEntry>>,
    names: Vec<Vec<u8>>,
}

impl FdTable {
    /// An empty table.
    pub const fn new() -> Self {
        FdTable {
            entries: Vec::new(),
            names: Vec::new(),
        }
    }

    /// Adds a preopened directory named `name` (fds in the order of the calls, from 3).
    pub fn add_preopen(
        &mut self,
        handle: u32,
        name: &[u8],
        rights_base: u64,
        rights_inheriting: u64,
    ) -> Result<u32, Errno> {
        let mut copy = Vec::new();
        copy.try_reserve_exact(name.len())
            .map_err(|_| Errno::NOMEM)?;
        copy.extend_from_slice(name);
        self.names.try_reserve(1).map_err(|_| Errno::NOMEM)?;
        let preopen = self.names.len();
        let fd = self.insert(FdEntry {
            handle,
            kind: FdKind::Directory {
                preopen: Some(preopen),
            },
            rights_base,
            rights_inheriting,
            fdflags: 0,
        })?;
        self.names.push(copy);
        Ok(fd)
    }

    /// The name of preopen `index`.
    pub fn preopen_name(&self, index: usize) -> Option<&[u8]> {
        self.names.get(index).map(Vec::as_slice)
    }

    /// Puts `entry` at the lowest free fd; `EMFILE` at [`MAX_FDS`], `ENOMEM` if the table
    /// cannot grow.
    pub fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        let at = match self.entries.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                if self.entries.len() + FIRST_FD as usize >= MAX_FDS {
                    return Err(Errno::MFILE);
                }
                self.entries.try_reserve(1).map_err(|_| Errno::NOMEM)?;
                self.entries.push(None);
                self.entries.len() - 1
            }
        };
        let slot = self.entries.get_mut(at).ok_or(Errno::MFILE)?;
        *slot = Some(entry);
        u32::try_from(at)
            .ok()
            .and_then(|i| i.checked_add(FIRST_FD))
            .ok_or(Errno::MFILE)
    }

    /// The descriptor `fd`, `EBADF` if it is not open (stdio included: they are not here).
    pub fn get(&self, fd: u32) -> Result<&FdEntry, Errno> {
        let i = fd.checked_sub(FIRST_FD).ok_or(Errno::BADF)? as usize;
        self.entries
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(Errno::BADF)
    }

    /// The descriptor `fd` for a change (flags, rights).
    pub fn get_mut(&mut self, fd: u32) -> Result<&mut FdEntry, Errno> {
        let i = fd.checked_sub(FIRST_FD).ok_or(Errno::BADF)? as usize;
        self.entries
            .get_mut(i)
            .and_then(Option::as_mut)
            .ok_or(Errno::BADF)
    }

    /// A directory descriptor (for a path call): `ENOTDIR` for a file.
    pub fn directory(&self, fd: u32) -> Result<&FdEntry, Errno> {
        let e = self.get(fd)?;
        match e.kind {
            FdKind::Directory { .. } => Ok(e),
            FdKind::File { .. } => Err(Errno::NOTDIR),
        }
    }

    /// Removes `fd` (`fd_close`), returning what it was so the tool can close the handle.
    pub fn remove(&mut self, fd: u32) -> Result<FdEntry, Errno> {
        let i = fd.checked_sub(FIRST_FD).ok_or(Errno::BADF)? as usize;
        self.entries
            .get_mut(i)
            .and_then(Option::take)
            .ok_or(Errno::BADF)
    }

    /// Whether one more descriptor fits ([`FdTable::insert`] would not be `EMFILE`).
    pub fn has_room(&self) -> bool {
        self.entries.iter().any(Option::is_none)
            || self.entries.len() + (FIRST_FD as usize) < MAX_FDS
    }

    /// Descriptors open now.
    pub fn open_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn r(path: &str) -> Result<String, Errno> {
        let mut out = [0u8; 64];
        let n = resolve(path.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out[..n].to_vec()).unwrap())
    }

    #[test]
    fn paths_resolve_lexically_and_never_climb_out() {
        assert_eq!(r("a.txt").as_deref(), Ok("a.txt"));
        assert_eq!(r("./a//b/./c").as_deref(), Ok("a/b/c"));
        assert_eq!(r("sub/../a.txt").as_deref(), Ok("a.txt"));
        assert_eq!(r("a/b/../../c").as_deref(), Ok("c"));
        assert_eq!(r(".").as_deref(), Ok("."));
        assert_eq!(r("a/..").as_deref(), Ok("."));
        assert_eq!(r("./").as_deref(), Ok("."));
        assert_eq!(r("dir/").as_deref(), Ok("dir/"));
        assert_eq!(r("dir/sub/../").as_deref(), Ok("dir/"));
        assert_eq!(r("..").as_deref(), Err(&Errno::NOTCAPABLE));
        assert_eq!(r("../outside.txt").as_deref(), Err(&Errno::NOTCAPABLE));
        assert_eq!(r("a/../../x").as_deref(), Err(&Errno::NOTCAPABLE));
        assert_eq!(r("/etc/passwd").as_deref(), Err(&Errno::NOTCAPABLE));
        assert_eq!(r("").as_deref(), Err(&Errno::NOENT));
        assert_eq!(r("a\0b").as_deref(), Err(&Errno::ILSEQ));
        // Output room: the path's length plus one is enough, less is NAMETOOLONG.
        let mut small = [0u8; 3];
        assert_eq!(resolve(b"abcd", &mut small), Err(Errno::NAMETOOLONG));
        let mut exact = [0u8; 5];
        assert_eq!(resolve(b"abcd/", &mut exact), Ok(5));
        let mut one = [0u8; 1];
        assert_eq!(resolve(b"./", &mut one), Ok(1));
    }

    #[test]
    fn no_input_makes_resolve_panic_or_escape() {
        // Every short path over a small alphabet: resolve either refuses or yields a path
        // with no "..", no empty component, not absolute.
        let alphabet = [b'a', b'.', b'/'];
        let mut path = Vec::new();
        for len in 1..=7u32 {
            for mut n in 0..3u32.pow(len) {
                path.clear();
                for _ in 0..len {
                    path.push(alphabet[(n % 3) as usize]);
                    n /= 3;
                }
                let mut out = [0u8; 16];
                if let Ok(k) = resolve(&path, &mut out) {
                    let s = &out[..k];
                    assert_ne!(s.first(), Some(&b'/'), "{path:?}");
                    let body = s.strip_suffix(b"/").unwrap_or(s);
                    for comp in body.split(|&c| c == b'/') {
                        assert!(comp != b".." && !comp.is_empty(), "{path:?} -> {s:?}");
                        assert!(comp != b"." || body == b".", "{path:?} -> {s:?}");
                    }
                }
            }
        }
    }

    fn file(handle: u32) -> FdEntry {
        FdEntry {
            handle,
            kind: FdKind::File { filetype: 4 },
            rights_base: 0,
            rights_inheriting: 0,
            fdflags: 0,
        }
    }

    #[test]
    fn descriptors_take_the_lowest_free_number_and_are_bounded() {
        let mut t = FdTable::new();
        assert_eq!(t.add_preopen(10, b"data", !0, !0), Ok(3));
        assert_eq!(t.add_preopen(11, b"/tmp/x", !0, !0), Ok(4));
        assert_eq!(t.preopen_name(1), Some(&b"/tmp/x"[..]));
        assert_eq!(t.insert(file(20)), Ok(5));
        assert_eq!(t.insert(file(21)), Ok(6));
        assert_eq!(t.directory(3).map(|e| e.handle), Ok(10));
        assert_eq!(t.directory(5), Err(Errno::NOTDIR));
        assert_eq!(t.remove(5).map(|e| e.handle), Ok(20));
        assert_eq!(t.remove(5), Err(Errno::BADF), "closed twice");
        assert_eq!(t.get(5), Err(Errno::BADF));
        assert_eq!(t.insert(file(22)), Ok(5), "the lowest free fd again");
        for fd in [0, 1, 2, 7, u32::MAX] {
            assert_eq!(t.get(fd), Err(Errno::BADF), "{fd}");
        }
        while t.insert(file(0)).is_ok() {}
        assert_eq!(t.open_count() + FIRST_FD as usize, MAX_FDS);
        assert_eq!(t.insert(file(0)), Err(Errno::MFILE));
        t.get_mut(3).unwrap().fdflags = 1;
        assert_eq!(t.get(3).map(|e| e.fdflags), Ok(1));
    }
}
