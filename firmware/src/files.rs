//! A run's files ([`RunFiles`]): the file channel its RUN block named (docs/files.md), the
//! module's descriptor table, and the one request in flight. A module's file call posts its
//! request here and the run pauses with FILE_REQUEST; the tool answers in the channel and
//! RESUMEs; the re-issued call finds its answer, which is copied out of shared memory once
//! and checked ([`Channel::read_reply`]: sequence number, errno, data length) before the
//! WASI layer uses it. Anything wrong in it is `EIO` for the module; the run goes on.
//!
//! Calls on the sealed directory and its files are served by the `sealed` submodule
//! (files/sealed.rs: `SealedDir`). The firmware binary's WASI host (runner/wasi.rs) calls
//! [`RunFiles::file`] per module file call, and its RUN engine (session.rs) attaches the
//! channel with the module's directory key and the platform's random source. Nothing here
//! needs the binary, so it is tested on the host (files/tests.rs: against the tool's real
//! file server, through a real channel).

mod sealed;
#[cfg(test)]
mod tests;

pub use sealed::{MAX_FILE, SEALED_BIT, SEALED_DIR};

use alloc::vec::Vec;
use sealed::SealedDir;
use tzwasm_aot_loader::wasi::files::{FdTable, FileAnswer, FileOp, FileRequest};
use tzwasm_aot_loader::wasi::{rights, Errno};
use tzwasm_attest::sealed_dir::DirKey;
use tzwasm_smc::files::{Channel, ChannelError, Request};

/// The request waiting for its reply.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    seq: u64,
    op: FileOp,
    args: [u64; 6],
}

/// One run's file channel and descriptors.
pub struct RunFiles {
    channel: Channel<'static>,
    table: FdTable,
    in_flight: Option<InFlight>,
    next_seq: u64,
    /// The last call posted a request (its Pending is FILE_REQUEST).
    posted: bool,
    /// The sealed directory, if the tool granted one.
    sealed: Option<SealedDir>,
}

/// Why a channel was refused at RUN.
#[derive(Debug)]
pub enum FilesError {
    /// The block or its preopen table is malformed.
    Channel(ChannelError),
    /// No memory for the table.
    OutOfMemory,
    /// A sealed directory on a device without a device secret.
    NoSealing,
}

impl RunFiles {
    /// Attaches to the channel the tool formatted and copies its preopen table (once) into
    /// a new descriptor table: each preopen a directory with WAMR's directory rights. A
    /// sealed preopen (at most one) gets the module's directory key from `sealing_key`, and
    /// draws the nonces it seals with from `random` (the platform's random source).
    pub fn attach(
        channel: Channel<'static>,
        sealing_key: impl FnOnce() -> Option<DirKey>,
        random: fn(&mut [u8]),
    ) -> Result<Self, FilesError> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(channel.capacity())
            .map_err(|_| FilesError::OutOfMemory)?;
        buf.resize(channel.capacity(), 0);
        let mut table = FdTable::new();
        let mut failed = false;
        let mut bad = false;
        let mut sealed_host = None;
        channel
            .read_preopens(&mut buf, |p| {
                // The tool's handles never reach into the secure world's own range.
                bad |= p.handle >= SEALED_BIT || (p.sealed && sealed_host.is_some());
                let handle = if p.sealed {
                    sealed_host = Some(p.handle);
                    SEALED_DIR
                } else {
                    p.handle
                };
                failed |= table
                    .add_preopen(
                        handle,
                        p.name,
                        rights::DIRECTORY_BASE,
                        rights::DIRECTORY_INHERITING,
                    )
                    .is_err();
            })
            .map_err(FilesError::Channel)?;
        if bad {
            return Err(FilesError::Channel(ChannelError::Preopens));
        }
        if failed {
            return Err(FilesError::OutOfMemory);
        }
        let sealed = match sealed_host {
            Some(host) => Some(SealedDir::new(
                host,
                sealing_key().ok_or(FilesError::NoSealing)?,
                random,
            )),
            None => None,
        };
        Ok(RunFiles {
            channel,
            table,
            in_flight: None,
            next_seq: 1,
            posted: false,
            sealed,
        })
    }

    /// The module's descriptors.
    pub fn table(&mut self) -> &mut FdTable {
        &mut self.table
    }

    /// Bytes of the channel's data area.
    pub fn capacity(&self) -> usize {
        self.channel.capacity()
    }

    /// Whether the last call posted a request; clears the mark.
    pub fn take_posted(&mut self) -> bool {
        core::mem::take(&mut self.posted)
    }

    /// The answer to `req` if it is the request in flight, else posts `req` (`None`).
    /// Requests on the sealed directory and its files are the sealed directory's.
    pub fn file(&mut self, req: &FileRequest<'_>, out: &mut [u8]) -> Option<FileAnswer> {
        let io = |_| FileAnswer {
            errno: Errno::IO,
            values: [0; 4],
            len: 0,
        };
        let err = |errno| FileAnswer {
            errno,
            values: [0; 4],
            len: 0,
        };
        // Which handles the request names: its first argument, and the second directory of
        // a rename or a link.
        let mine = |h: u64| h >= u64::from(SEALED_BIT);
        let second = match req.op {
            FileOp::Rename => Some(req.args[1]),
            FileOp::Link => Some(req.args[2]),
            _ => None,
        };
        let sealed_first = mine(req.args[0]);
        if sealed_first || second.is_some_and(mine) {
            if req.op == FileOp::Link {
                return Some(err(Errno::NOTSUP));
            }
            if second.is_some_and(|h| mine(h) != sealed_first) {
                return Some(err(Errno::XDEV));
            }
            // Without attestation there is never a sealed directory (attach refuses one with
            // NoSealing); saying so here lets the link drop its code.
            let dir = self
                .sealed
                .as_mut()
                .filter(|_| cfg!(feature = "attestation"));
            let Some(dir) = dir else {
                return Some(err(Errno::BADF));
            };
            return dir.file(
                &self.channel,
                &mut self.next_seq,
                &mut self.posted,
                req,
                out,
            );
        }
        if let Some(f) = self.in_flight.take() {
            if f.op == req.op && f.args == req.args {
                let answer = match self.channel.read_reply(f.seq, out.len(), out) {
                    // An open's handle in the secure world's own range is a lie.
                    Ok(reply)
                        if f.op == FileOp::Open && reply.values[0] >= u64::from(SEALED_BIT) =>
                    {
                        log::info!("file reply to Open refused: handle {:#x}", reply.values[0]);
                        io(())
                    }
                    Ok(reply) => FileAnswer {
                        errno: Errno(reply.errno),
                        values: reply.values,
                        len: reply.data.len(),
                    },
                    Err(e) => {
                        log::info!("file reply to {:?} refused: {e:?}", f.op);
                        io(())
                    }
                };
                return Some(answer);
            }
            // Not the call that posted it (the run was cancelled and started again cannot
            // happen: a new run has new RunFiles); post this one instead.
        }
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        let request = Request {
            seq,
            op: req.op,
            args: req.args,
            path: req.path,
            path2: req.path2,
            data: req.data,
        };
        if !self.channel.write_request(&request) {
            return Some(io(()));
        }
        self.in_flight = Some(InFlight {
            seq,
            op: req.op,
            args: req.args,
        });
        self.posted = true;
        None
    }
}
