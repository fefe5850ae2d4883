//! Why module code stopped: a trap (with WAMR's exception id where there is one) or a WASI
//! `proc_exit`.

use alloc::string::String;
use core::fmt;

use crate::layout::ExceptionId;

/// A WebAssembly trap, reported as WAMR's iwasm reports it (`Exception: <message>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trap {
    /// A trap WAMR identifies by an exception id (set by generated code, a helper, or a fault
    /// in the linear-memory window or the stack guard).
    Exception(ExceptionId),
    /// A trap with a message of its own: unlinked imports, host functions that fail, bad
    /// arguments from module code that WAMR would not have checked.
    Message(String),
}

impl Trap {
    /// A trap with message `text`; if even the message cannot be copied, WAMR's "allocate
    /// memory failed".
    pub fn msg(text: &str) -> Trap {
        match crate::fallible::string(text) {
            Ok(s) => Trap::Message(s),
            Err(_) => Trap::Exception(ExceptionId::OutOfMemory),
        }
    }

    /// A trap with a formatted message, or `fallback` if the message cannot be allocated.
    pub fn format(args: fmt::Arguments<'_>, fallback: ExceptionId) -> Trap {
        match crate::fallible::format(args) {
            Ok(s) => Trap::Message(s),
            Err(_) => Trap::Exception(fallback),
        }
    }

    /// WAMR's exception id, if the trap has one.
    pub fn id(&self) -> Option<ExceptionId> {
        match self {
            Trap::Exception(id) => Some(*id),
            Trap::Message(_) => None,
        }
    }

    /// The message after "Exception: ".
    pub fn message(&self) -> &str {
        match self {
            Trap::Exception(ExceptionId::AlreadyThrown) => "exception thrown by module code",
            Trap::Exception(id) => id.message(),
            Trap::Message(m) => m,
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Why a call into module code did not return normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `proc_exit(code)`: a normal end of a WASI command.
    Exit(u32),
    /// A trap.
    Trap(Trap),
    /// The entry had no effect because the host cannot take output now (see
    /// `WasiHost::writable`): pause the run and issue the same call again later. Only hosts
    /// that limit output ever see it.
    Pending,
    /// A long helper or WASI call stopped between two chunks of its work because the
    /// platform wants the CPU back (`Platform::interrupt_pending`). Its progress is kept in
    /// the instance: issue the same entry with the same arguments again (the next
    /// [`Instance::dispatch`](crate::runtime::Instance::dispatch)) and it does exactly the
    /// rest. Only platforms that ask for the CPU ever see it.
    Interrupted,
}

impl From<Trap> for Stop {
    fn from(t: Trap) -> Self {
        Stop::Trap(t)
    }
}

impl From<crate::fallible::OutOfMemory> for Stop {
    fn from(_: crate::fallible::OutOfMemory) -> Self {
        Stop::Trap(Trap::Exception(ExceptionId::OutOfMemory))
    }
}

impl From<ExceptionId> for Stop {
    fn from(id: ExceptionId) -> Self {
        Stop::Trap(Trap::Exception(id))
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Exit(c) => write!(f, "exit code {c}"),
            Stop::Trap(t) => write!(f, "Exception: {t}"),
            Stop::Pending => f.write_str("paused: output pending"),
            Stop::Interrupted => f.write_str("paused: interrupted between chunks"),
        }
    }
}
