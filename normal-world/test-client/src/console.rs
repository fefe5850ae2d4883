//! The normal-world console: a write-only PL011 driver for UART0 at 0x0900_0000 (QEMU virt's
//! first serial) and the `println!` macro.
//!
//! There is no lock: the client's CPUs take turns (the primary only polls while a secondary
//! runs its checks), so two CPUs never print at the same time.

use core::fmt::{self, Write};

/// UART0 base address on QEMU virt.
const UART0_BASE: usize = 0x0900_0000;
/// Data register.
const UARTDR: usize = 0x000;
/// Flag register.
const UARTFR: usize = 0x018;
/// Control register.
const UARTCR: usize = 0x030;
/// UARTFR.TXFF: transmit FIFO full.
const FR_TXFF: u32 = 1 << 5;
/// UARTFR.BUSY: still shifting out bits.
const FR_BUSY: u32 = 1 << 3;
/// UARTCR: UARTEN | TXE | RXE.
const CR_ENABLE: u32 = (1 << 0) | (1 << 8) | (1 << 9);

/// The PL011 at [`UART0_BASE`]. Zero-sized: all state is in the device.
pub struct Console;

impl Console {
    fn read(offset: usize) -> u32 {
        // SAFETY: UART0_BASE + offset is a PL011 register on QEMU virt, mapped as Device memory
        // (the MMU is off), and reading FR/CR has no side effects.
        unsafe { core::ptr::read_volatile((UART0_BASE + offset) as *const u32) }
    }

    fn write(offset: usize, value: u32) {
        // SAFETY: as in `read`; writes go to the PL011's DR or CR only.
        unsafe { core::ptr::write_volatile((UART0_BASE + offset) as *mut u32, value) }
    }

    /// Makes sure the transmitter is on (TF-A normally leaves it on; QEMU ignores baud rates).
    pub fn init() {
        let cr = Self::read(UARTCR);
        if cr & CR_ENABLE != CR_ENABLE {
            Self::write(UARTCR, cr | CR_ENABLE);
        }
    }

    fn put(byte: u8) {
        while Self::read(UARTFR) & FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        Self::write(UARTDR, u32::from(byte));
    }

    /// Waits until every queued byte has left the UART (before powering off).
    pub fn flush() {
        while Self::read(UARTFR) & FR_BUSY != 0 {
            core::hint::spin_loop();
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                Self::put(b'\r');
            }
            Self::put(byte);
        }
        Ok(())
    }
}

/// Prints to the console (used by `println!`).
pub fn print(args: fmt::Arguments<'_>) {
    // Console::write_str never fails.
    let _ = Console.write_fmt(args);
}

/// `println!` for the bare-metal client.
#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::console::print(format_args!($($arg)*));
        $crate::console::print(format_args!("\n"));
    }};
}
