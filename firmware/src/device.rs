//! The cold-boot CPU's root-of-trust steps: the firmware measurement (SHA-256 of the BL32
//! image as TF-A loaded it) and, in an image with the `attestation` feature, the device secret
//! read from the device page in secure flash, turned into the device identity
//! ([`tzwasm_firmware::identity`]).
//!
//! Rust statics with non-zero initialisers live in .data, which is part of the loaded image,
//! and boot writes some of them (logger, pool, ASIDs) as soon as it starts. So the very first
//! thing `primary_main` does, with the MMU still off, is [`snapshot_data`]: copy .data as
//! loaded into a .bss buffer. [`measure`] later hashes text and rodata in place (read-only
//! from the moment the MMU is on) followed by that snapshot.

use core::cell::UnsafeCell;
use sha2::{Digest, Sha256};
#[cfg(feature = "attestation")]
use tzwasm_firmware::device_page::{self, DEVICE_PAGE_PA, READ_LEN};

unsafe extern "C" {
    static __image_start: u8;
    static __data_start: u8;
    static __data_load_end: u8;
}

/// Room for .data as loaded (linker/bl32.ld asserts it fits).
const SNAPSHOT_WORDS: usize = 512;

struct Snapshot(UnsafeCell<[u64; SNAPSHOT_WORDS]>);
// SAFETY: written once by the cold-boot CPU before any other CPU runs, only read afterwards.
unsafe impl Sync for Snapshot {}

static DATA_SNAPSHOT: Snapshot = Snapshot(UnsafeCell::new([0; SNAPSHOT_WORDS]));

fn data_range() -> (u64, u64) {
    let start = core::ptr::addr_of!(__data_start) as u64;
    let end = core::ptr::addr_of!(__data_load_end) as u64;
    (start, end)
}

/// Copies .data as loaded into the snapshot. Must run first in `primary_main`, MMU off,
/// before any Rust code writes a static: aligned 8-byte volatile loads (Device memory while
/// the MMU is off tolerates no unaligned access), .data being page aligned and a multiple of
/// 16 bytes long.
pub fn snapshot_data() {
    let (start, end) = data_range();
    let words = (((end - start) / 8) as usize).min(SNAPSHOT_WORDS);
    let dst = DATA_SNAPSHOT.0.get().cast::<u64>();
    for i in 0..words {
        // SAFETY: `start + 8 * i` is inside .data (aligned, mapped by the flat MMU-off map)
        // and `dst + i` inside the snapshot, which nothing else touches yet.
        unsafe {
            let w = core::ptr::read_volatile((start as *const u64).add(i));
            core::ptr::write_volatile(dst.add(i), w);
        }
    }
    // SAFETY: the snapshot was written with caches off; discarding any stale cached lines
    // over it makes the MMU-on reads see the memory. Its length is a multiple of 64 bytes.
    unsafe { tzwasm_mmu::arch::invalidate_dcache_range(dst as u64, (SNAPSHOT_WORDS * 8) as u64) };
}

/// SHA-256 of the image's file content: text and rodata in memory, .data from the snapshot.
/// Equal to `sha256sum` of the bl32 binary. Runs with the MMU on.
pub fn measure() -> [u8; 32] {
    let image = core::ptr::addr_of!(__image_start) as u64;
    let (data, data_end) = data_range();
    let mut h = Sha256::new();
    // SAFETY: image..data is text and rodata, mapped read-only and never written.
    let ro = unsafe { core::slice::from_raw_parts(image as *const u8, (data - image) as usize) };
    h.update(ro);
    let len = ((data_end - data) as usize).min(SNAPSHOT_WORDS * 8);
    // SAFETY: the snapshot holds SNAPSHOT_WORDS words, written before any reader ran.
    let snap = unsafe { core::slice::from_raw_parts(DATA_SNAPSHOT.0.get().cast::<u8>(), len) };
    h.update(snap);
    h.finalize().into()
}

/// Reads the device page's header and secret (aligned 4-byte volatile loads of the
/// read-only, secure Device mapping), then unmaps it.
#[cfg(feature = "attestation")]
fn read_page(out: &mut [u8; READ_LEN]) -> Result<(), tzwasm_mmu::Error> {
    crate::mmu::with_secure_page_ro(DEVICE_PAGE_PA, |va| {
        for (i, word) in out.chunks_exact_mut(4).enumerate() {
            // SAFETY: `va + 4 * i` lies in the page just mapped readable (READ_LEN < 4096).
            let w = unsafe { core::ptr::read_volatile((va as *const u32).add(i)) };
            word.copy_from_slice(&w.to_le_bytes());
        }
    })
}

/// Records the measurement; this image has no attestation, so the device page is never read
/// (the secret does not enter secure RAM) and boot says so in one console line.
#[cfg(not(feature = "attestation"))]
pub fn init() {
    tzwasm_firmware::identity::record_measurement(measure());
    log::info!("tzwasm: built without attestation: no device identity (ATTEST, receipts, sealing answer NOT_SUPPORTED)");
}

/// Records the measurement and installs the device identity from the device page; a missing
/// page disables attestation (one console line), it does not stop boot.
#[cfg(feature = "attestation")]
pub fn init() {
    let firmware = measure();
    tzwasm_firmware::identity::record_measurement(firmware);
    let mut page = [0u8; READ_LEN];
    let read = read_page(&mut page);
    let parsed = read.map(|()| device_page::parse(&page));
    device_page::zero(&mut page);
    let secret = match parsed {
        Ok(Ok(secret)) => secret,
        Ok(Err(e)) => {
            log::warn!(
                "tzwasm: no device secret: attestation disabled ({})",
                e.description()
            );
            return;
        }
        Err(e) => {
            log::warn!("tzwasm: no device secret: attestation disabled (cannot map: {e})");
            return;
        }
    };
    match tzwasm_firmware::identity::install(secret, firmware) {
        Ok(()) => {
            let id = tzwasm_firmware::identity::get().map(|i| *i.keys.instance_id());
            if let Some(id) = id {
                log::info!(
                    "tzwasm: device identity ready (instance {:02x}{:02x}{:02x}{:02x}...)",
                    id.get(1).copied().unwrap_or(0),
                    id.get(2).copied().unwrap_or(0),
                    id.get(3).copied().unwrap_or(0),
                    id.get(4).copied().unwrap_or(0)
                );
            }
        }
        Err(e) => log::warn!("tzwasm: no device secret: attestation disabled ({e:?})"),
    }
}
