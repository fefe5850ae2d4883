//! The secure console: the secure-only PL011 (QEMU's second serial, 0x09040000), the `log`
//! backend writing to it, and a lock-free path for crash reports.
//!
//! The log level is fixed at build time by the TZWASM_LOG environment variable
//! (error|warn|info|debug|trace; default info).

use arm_pl011_uart::{DataBits, LineConfig, Parity, StopBits, Uart, UniqueMmioPointer};
use core::fmt::Write;
use core::ptr::NonNull;
use log::{LevelFilter, Log, Metadata, Record};
use spin::mutex::SpinMutex;

/// Physical (and, identity-mapped, virtual) address of the secure PL011.
pub const SECURE_UART_BASE: usize = 0x0904_0000;

static UART: SpinMutex<Option<Uart<'static>>> = SpinMutex::new(None);

/// Build-time log level.
const LEVEL: LevelFilter = match option_env!("TZWASM_LOG") {
    Some(l) if konst_eq(l, "error") => LevelFilter::Error,
    Some(l) if konst_eq(l, "warn") => LevelFilter::Warn,
    Some(l) if konst_eq(l, "debug") => LevelFilter::Debug,
    Some(l) if konst_eq(l, "trace") => LevelFilter::Trace,
    Some(l) if konst_eq(l, "off") => LevelFilter::Off,
    _ => LevelFilter::Info,
};

const fn konst_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    // A const fn over build-time strings; `i < a.len() == b.len()`.
    #[allow(clippy::indexing_slicing)]
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

struct Logger;

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= LEVEL
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let cpu = crate::arch::current_cpu();
        let mut uart = UART.lock();
        if let Some(uart) = uart.as_mut() {
            let _ = writeln!(
                uart,
                "[tzwasm cpu{cpu}] {:5} {}",
                record.level(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Brings up the UART and installs the logger. Called once by the primary CPU.
pub fn init() {
    // SECURE_UART_BASE is the secure PL011's MMIO block; it is identity-mapped as device
    // memory (or the MMU is off), and this is the only place that creates a pointer to it.
    let Some(base) = NonNull::new(SECURE_UART_BASE as *mut _) else {
        return; // a constant, non-zero address
    };
    // SAFETY: as above: `base` is the secure PL011's MMIO block.
    let regs = unsafe { UniqueMmioPointer::new(base) };
    let mut uart = Uart::new(regs);
    let config = LineConfig {
        data_bits: DataBits::Bits8,
        parity: Parity::None,
        stop_bits: StopBits::One,
    };
    // QEMU's PL011 ignores the divisor; the values matter only on hardware.
    let _ = uart.enable(config, 115_200, 24_000_000);
    *UART.lock() = Some(uart);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LEVEL);
}

/// Writer for crash reports: takes the UART even if another CPU (or this one) holds the lock,
/// because the report matters more than interleaving.
pub struct CrashWriter;

impl Write for CrashWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // SAFETY: force-unlocking is acceptable on the crash path: the CPU that held the lock
        // may itself be the one that crashed; at worst output interleaves.
        unsafe { UART.force_unlock() };
        let mut uart = UART.lock();
        if let Some(uart) = uart.as_mut() {
            uart.write_str(s)?;
        }
        Ok(())
    }
}
