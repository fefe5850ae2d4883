//! Memory attributes, the stage 1 descriptor encoding (VMSAv8-64, 4 KiB granule) and the
//! W^X policy.
//!
//! Bit positions follow the Arm ARM (DDI 0487), D8.3 "Translation table descriptor formats"
//! (D5.3 in older issues), for the EL1&0 translation regime in Secure state.

use crate::Error;

/// `MAIR_EL1` index of Normal memory, Inner and Outer Write-Back Non-transient,
/// Read-Allocate, Write-Allocate (attribute byte `0xFF`).
pub const MAIR_IDX_NORMAL: u8 = 0;
/// `MAIR_EL1` index of Device-nGnRE memory (attribute byte `0x04`).
pub const MAIR_IDX_DEVICE: u8 = 1;
/// `MAIR_EL1` index of Normal memory, Inner and Outer Non-cacheable (attribute byte `0x44`).
pub const MAIR_IDX_NORMAL_NC: u8 = 2;

/// Attribute byte for [`MAIR_IDX_NORMAL`].
pub const MAIR_ATTR_NORMAL_WB: u8 = 0xFF;
/// Attribute byte for [`MAIR_IDX_DEVICE`].
pub const MAIR_ATTR_DEVICE_NGNRE: u8 = 0x04;
/// Attribute byte for [`MAIR_IDX_NORMAL_NC`].
pub const MAIR_ATTR_NORMAL_NC: u8 = 0x44;

/// The value to program into `MAIR_EL1`; the descriptors this crate writes index into it.
pub const MAIR_EL1_VALUE: u64 = (MAIR_ATTR_NORMAL_WB as u64) << (8 * MAIR_IDX_NORMAL as u64)
    | (MAIR_ATTR_DEVICE_NGNRE as u64) << (8 * MAIR_IDX_DEVICE as u64)
    | (MAIR_ATTR_NORMAL_NC as u64) << (8 * MAIR_IDX_NORMAL_NC as u64);

/// Raw bits of a stage 1 VMSAv8-64 descriptor (4 KiB granule, 48-bit output addresses).
pub mod desc {
    /// Bit 0: the descriptor is valid.
    pub const VALID: u64 = 1 << 0;
    /// Bit 1: at level 0-2 a table descriptor (else a block); at level 3 must be 1 for a page.
    pub const TABLE_OR_PAGE: u64 = 1 << 1;
    /// Bits [4:2]: `AttrIndx`, an index into `MAIR_EL1`.
    pub const ATTR_INDX_SHIFT: u32 = 2;
    /// Mask of `AttrIndx`.
    pub const ATTR_INDX_MASK: u64 = 0b111 << ATTR_INDX_SHIFT;
    /// Bit 5: `NS`, the output address is in the Non-secure physical address space.
    pub const NS: u64 = 1 << 5;
    /// Bit 6: `AP[1]`, accessible from EL0.
    pub const AP_EL0: u64 = 1 << 6;
    /// Bit 7: `AP[2]`, read-only (at every EL that has access).
    pub const AP_RO: u64 = 1 << 7;
    /// Bits [9:8]: `SH`, shareability.
    pub const SH_SHIFT: u32 = 8;
    /// Mask of `SH`.
    pub const SH_MASK: u64 = 0b11 << SH_SHIFT;
    /// `SH` = Inner Shareable.
    pub const SH_INNER: u64 = 0b11 << SH_SHIFT;
    /// Bit 10: `AF`, the access flag (set on every mapping: no access-flag faults).
    pub const AF: u64 = 1 << 10;
    /// Bit 11: `nG`, not global (ASID-tagged).
    pub const NG: u64 = 1 << 11;
    /// Bits [47:12]: output address of a page, or next-level table address.
    pub const OA_MASK: u64 = 0x0000_FFFF_FFFF_F000;
    /// Bit 52: contiguous hint (never set by this crate).
    pub const CONTIGUOUS: u64 = 1 << 52;
    /// Bit 53: `PXN`, privileged (EL1) execute-never.
    pub const PXN: u64 = 1 << 53;
    /// Bit 54: `UXN` (`XN` in the EL1&0 regime), unprivileged (EL0) execute-never.
    pub const UXN: u64 = 1 << 54;
    /// Bit 59 of a table descriptor: `PXNTable`, nothing below is EL1-executable.
    pub const PXN_TABLE: u64 = 1 << 59;
    /// Bit 60 of a table descriptor: `UXNTable` (`XNTable`), nothing below is EL0-executable.
    pub const UXN_TABLE: u64 = 1 << 60;
    /// Bit 61 of a table descriptor: `APTable[0]`, nothing below is accessible from EL0.
    pub const AP_TABLE_NO_EL0: u64 = 1 << 61;
    /// Every attribute bit [`crate::Attributes::encode`] may set.
    pub const ATTR_MASK: u64 = ATTR_INDX_MASK | NS | AP_EL0 | AP_RO | SH_MASK | AF | NG | PXN | UXN;
}

/// Memory type and cacheability, one per `MAIR_EL1` slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryType {
    /// Normal, Write-Back cacheable (inner and outer), Inner Shareable. Secure RAM and
    /// normal-world shared memory (Linux maps its RAM this way too).
    Normal,
    /// Normal, non-cacheable, Inner Shareable.
    NormalNonCacheable,
    /// Device-nGnRE (UART, GIC). Never executable.
    Device,
}

/// Data access permission: who may read and write. EL1 can always read what EL0 can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// EL1 read-only, no EL0 access (`AP[2:1]` = `0b10`).
    KernelRo,
    /// EL1 read-write, no EL0 access (`AP[2:1]` = `0b00`).
    KernelRw,
    /// EL1 and EL0 read-only (`AP[2:1]` = `0b11`).
    UserRo,
    /// EL1 and EL0 read-write (`AP[2:1]` = `0b01`).
    UserRw,
}

impl Access {
    /// Writable at some exception level.
    pub const fn writable(self) -> bool {
        matches!(self, Access::KernelRw | Access::UserRw)
    }

    /// Accessible (readable) from EL0.
    pub const fn user(self) -> bool {
        matches!(self, Access::UserRo | Access::UserRw)
    }
}

/// Who may execute from the page. There is deliberately no "both".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exec {
    /// Execute-never at EL1 and EL0 (`PXN` = `UXN` = 1).
    Never,
    /// EL1 only (`PXN` = 0, `UXN` = 1): the payload's own text.
    Kernel,
    /// EL0 only (`PXN` = 1, `UXN` = 0): module text and entry stubs.
    User,
}

/// Everything a leaf mapping says besides its output address.
///
/// The presets cover every mapping the payload makes; [`Attributes::check`] is the W^X
/// policy applied by every mapping call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// Memory type (selects the `MAIR_EL1` index and shareability).
    pub memory: MemoryType,
    /// Data access permission.
    pub access: Access,
    /// Instruction fetch permission.
    pub exec: Exec,
    /// `NS` bit: the output address is Non-secure (normal-world) physical memory.
    pub non_secure: bool,
}

impl Attributes {
    /// Payload text: EL1 read+execute, no EL0 access.
    pub const KERNEL_TEXT: Self = Self::secure(MemoryType::Normal, Access::KernelRo, Exec::Kernel);
    /// Payload rodata: EL1 read-only, execute-never.
    pub const KERNEL_RODATA: Self = Self::secure(MemoryType::Normal, Access::KernelRo, Exec::Never);
    /// Payload data, bss, stacks, heap, table pool; also module text while it is relocated:
    /// EL1 read-write, execute-never.
    pub const KERNEL_DATA: Self = Self::secure(MemoryType::Normal, Access::KernelRw, Exec::Never);
    /// Secure MMIO (UART, GIC): Device-nGnRE, EL1 read-write, execute-never.
    pub const DEVICE: Self = Self::secure(MemoryType::Device, Access::KernelRw, Exec::Never);
    /// Normal-world shared memory: NS=1, Normal WB, EL1 read-write, execute-never.
    pub const NS_SHARED: Self = Self {
        memory: MemoryType::Normal,
        access: Access::KernelRw,
        exec: Exec::Never,
        non_secure: true,
    };
    /// Module text after relocation: EL0 read+execute (EL1 read-only, `PXN`).
    pub const USER_TEXT: Self = Self::secure(MemoryType::Normal, Access::UserRo, Exec::User);
    /// Module read-only data: EL0 read-only, execute-never.
    pub const USER_RODATA: Self = Self::secure(MemoryType::Normal, Access::UserRo, Exec::Never);
    /// Module data (linear memory, stack, exec_env, ...): EL0 read-write, execute-never.
    pub const USER_DATA: Self = Self::secure(MemoryType::Normal, Access::UserRw, Exec::Never);

    /// Secure (NS=0) attributes.
    pub const fn secure(memory: MemoryType, access: Access, exec: Exec) -> Self {
        Self {
            memory,
            access,
            exec,
            non_secure: false,
        }
    }

    /// The W^X policy. `Ok` iff:
    /// - the page is not both writable (at any EL) and executable (at any EL); an EL0-writable
    ///   page is therefore always `PXN` as well as `UXN`, and an EL1-writable page is never
    ///   EL0-executable;
    /// - Non-secure memory is never executable;
    /// - Device memory is never executable;
    /// - EL1 never executes a page EL0 can access (no return-to-user gadgets).
    pub const fn check(&self) -> Result<(), Error> {
        if self.exec_any() {
            if self.access.writable() {
                return Err(Error::WriteExecute);
            }
            if self.non_secure {
                return Err(Error::NonSecureExecute);
            }
            if matches!(self.memory, MemoryType::Device) {
                return Err(Error::DeviceExecute);
            }
            if matches!(self.exec, Exec::Kernel) && self.access.user() {
                return Err(Error::KernelExecUserPage);
            }
        }
        Ok(())
    }

    /// The same attributes with `exec` replaced.
    pub const fn with_exec(self, exec: Exec) -> Self {
        Self { exec, ..self }
    }

    /// The same attributes with `access` replaced.
    pub const fn with_access(self, access: Access) -> Self {
        Self { access, ..self }
    }

    /// Executable at some exception level.
    pub const fn exec_any(&self) -> bool {
        !matches!(self.exec, Exec::Never)
    }

    /// The attribute bits of a valid level 3 page descriptor with these attributes
    /// (`AF` set, global, `VALID` and `TABLE_OR_PAGE` not included). Does not check the policy.
    pub const fn encode(&self) -> u64 {
        let (idx, sh) = match self.memory {
            MemoryType::Normal => (MAIR_IDX_NORMAL, desc::SH_INNER),
            MemoryType::NormalNonCacheable => (MAIR_IDX_NORMAL_NC, desc::SH_INNER),
            // Device memory is always treated as Outer Shareable; SH is ignored.
            MemoryType::Device => (MAIR_IDX_DEVICE, 0),
        };
        let ap = match self.access {
            Access::KernelRw => 0,
            Access::UserRw => desc::AP_EL0,
            Access::KernelRo => desc::AP_RO,
            Access::UserRo => desc::AP_RO | desc::AP_EL0,
        };
        let xn = match self.exec {
            Exec::Never => desc::PXN | desc::UXN,
            Exec::Kernel => desc::UXN,
            Exec::User => desc::PXN,
        };
        let ns = if self.non_secure { desc::NS } else { 0 };
        ((idx as u64) << desc::ATTR_INDX_SHIFT) | ns | ap | sh | desc::AF | xn
    }

    /// The level 3 page descriptor mapping `pa` (4 KiB aligned, below 2^48).
    pub const fn page_descriptor(&self, pa: u64) -> u64 {
        (pa & desc::OA_MASK) | self.encode() | desc::VALID | desc::TABLE_OR_PAGE
    }

    /// Decodes the attributes of a valid page descriptor written by this crate. `None` for
    /// an invalid descriptor or one whose `AttrIndx` is not one of ours, or which has both
    /// `PXN` and `UXN` clear (never written here).
    pub const fn decode(descriptor: u64) -> Option<Self> {
        if descriptor & (desc::VALID | desc::TABLE_OR_PAGE) != desc::VALID | desc::TABLE_OR_PAGE {
            return None;
        }
        let memory = match ((descriptor & desc::ATTR_INDX_MASK) >> desc::ATTR_INDX_SHIFT) as u8 {
            MAIR_IDX_NORMAL => MemoryType::Normal,
            MAIR_IDX_DEVICE => MemoryType::Device,
            MAIR_IDX_NORMAL_NC => MemoryType::NormalNonCacheable,
            _ => return None,
        };
        let access = match (
            descriptor & desc::AP_RO != 0,
            descriptor & desc::AP_EL0 != 0,
        ) {
            (false, false) => Access::KernelRw,
            (false, true) => Access::UserRw,
            (true, false) => Access::KernelRo,
            (true, true) => Access::UserRo,
        };
        let exec = match (descriptor & desc::PXN != 0, descriptor & desc::UXN != 0) {
            (true, true) => Exec::Never,
            (false, true) => Exec::Kernel,
            (true, false) => Exec::User,
            (false, false) => return None,
        };
        Some(Self {
            memory,
            access,
            exec,
            non_secure: descriptor & desc::NS != 0,
        })
    }
}
