//! What the payload learns about the platform at cold boot: normal-world DRAM from the DTB.

use spin::Once;
use tzwasm_firmware::ns_memory::NsDram;

/// Secure memory on QEMU virt (TF-A: secure SRAM 0x0e000000 + secure DRAM up to 0x0f000000).
pub const SECURE_MEMORY: core::ops::Range<u64> = 0x0e00_0000..0x0f00_0000;

static NS_DRAM: Once<NsDram> = Once::new();

/// Normal-world DRAM, once known (empty if the DTB gave none: then no shared memory is ever
/// accepted).
#[allow(dead_code)] // used by shared-memory registration (issue 4)
pub fn ns_dram() -> NsDram {
    NS_DRAM.get().copied().unwrap_or_default()
}

/// Reads normal-world DRAM from the DTB at `dtb` (TF-A's x2).
pub fn init_ns_dram(dtb: u64) {
    let dram = read_dtb(dtb).unwrap_or_else(|why| {
        log::error!(
            "no normal-world memory from the DTB at {dtb:#x}: {why}; shared memory disabled"
        );
        NsDram::default()
    });
    for &(base, size) in dram.banks() {
        log::info!(
            "normal-world DRAM: {base:#x}..{:#x} ({} MiB)",
            base + size,
            size >> 20
        );
    }
    NS_DRAM.call_once(|| dram);
}

fn read_dtb(dtb: u64) -> Result<NsDram, &'static str> {
    if dtb == 0 {
        return Err("no DTB address");
    }
    if dtb < SECURE_MEMORY.end && SECURE_MEMORY.start < dtb.saturating_add(1 << 20) {
        return Err("DTB address in secure memory");
    }
    let header: [u8; 8] = crate::mmu::with_ns_mapping(dtb, 8, |b| {
        let mut h = [0; 8];
        h.copy_from_slice(b);
        h
    })
    .map_err(|_| "cannot map the DTB header")?;
    let size = NsDram::dtb_size(&header).map_err(|_| "bad DTB header")?;
    crate::mmu::with_ns_mapping(dtb, size as u64, |blob| {
        NsDram::from_dtb(blob, SECURE_MEMORY, |r| {
            log::warn!(
                "DTB memory {:#x}+{:#x} {}: ignored",
                r.base,
                r.size,
                r.why.describe()
            )
        })
    })
    .map_err(|_| "cannot map the DTB")?
    .map_err(|_| "DTB has no usable /memory node")
}
