//! TEST_EL0 (test-hooks builds): runs one of the hand-written programs of `arch/el0_programs.S`
//! at S-EL0 in pages of its own, to prove the EL0 entry/exit path and that code at EL0 can
//! compute and call back but cannot reach the payload.

use crate::arch;
use crate::el0;
use crate::heap::POOL;
use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};
use tzwasm_firmware::user::{UserContext, UserExit};
use tzwasm_mmu::Attributes;
use tzwasm_smc::{El0Program, Regs4, Status};

/// Payload data the read/write programs aim at.
static TARGET: AtomicU64 = AtomicU64::new(0x7a77_a5e0_0000_0001);
const PAGE: usize = 4096;
const PROGRAM_SLOT: usize = 64;

fn status(s: Status) -> Regs4 {
    [s.to_raw(), 0, 0, 0]
}

/// Runs `program` with arguments `a`, `b`; returns the TEST_EL0 reply.
pub fn run(program: El0Program, a: u64, b: u64) -> Regs4 {
    let Ok(layout) = Layout::from_size_align(2 * PAGE, PAGE) else {
        return status(Status::Internal); // constant, valid layout
    };
    let Some(pages) = POOL.try_alloc(layout) else {
        return status(Status::OutOfMemory);
    };
    let code_pa = pages.as_ptr() as u64;
    let stack_pa = code_pa + PAGE as u64;
    // SAFETY: the two pages were just allocated for us alone, and are identity-mapped RW.
    let mem = unsafe { core::slice::from_raw_parts_mut(pages.as_ptr(), 2 * PAGE) };
    mem.fill(0);
    let start = core::ptr::addr_of!(arch::el0_programs_start) as usize;
    let end = core::ptr::addr_of!(arch::el0_programs_end) as usize;
    let offset = program.to_raw() as usize * PROGRAM_SLOT;
    if offset
        .checked_add(PROGRAM_SLOT)
        .is_none_or(|e| e > end.saturating_sub(start))
    {
        // SAFETY: allocated above with this layout.
        unsafe { POOL.free(pages, layout) };
        return status(Status::Internal);
    }
    // SAFETY: [start + offset, +64) lies inside the programs' rodata block, checked above.
    let code = unsafe { core::slice::from_raw_parts((start + offset) as *const u8, PROGRAM_SLOT) };
    for (m, c) in mem.iter_mut().zip(code) {
        *m = *c;
    }
    crate::mmu::publish_code(code_pa, PAGE as u64);

    let reply = match run_in_space(program, a, b, code_pa, stack_pa) {
        Ok(reply) => reply,
        Err(_) => status(Status::NoResources),
    };
    mem.fill(0);
    // SAFETY: allocated above with this layout; no mapping of it remains.
    unsafe { POOL.free(pages, layout) };
    reply
}

/// Maps the program's code and stack pages in an address space of their own (as a module's
/// would be), runs it there, then ends the space.
fn run_in_space(
    program: El0Program,
    a: u64,
    b: u64,
    code_pa: u64,
    stack_pa: u64,
) -> Result<Regs4, tzwasm_mmu::Error> {
    let page = PAGE as u64;
    let mut space = crate::mmu::new_space(tzwasm_firmware::pool::Owner::KERNEL)?;
    let mapped = (|| {
        let code = space.reserve(page)?.base;
        space.map(code, code_pa, page, Attributes::USER_TEXT)?;
        let stack = space.reserve(page)?.base;
        space.map(stack, stack_pa, page, Attributes::USER_DATA)?;
        Ok((code, stack))
    })();
    let reply = mapped.map(|(code, stack)| {
        crate::mmu::activate(&space);
        execute(program, a, b, code, stack + page)
    });
    // Ending the space unmaps both pages (its tables go, its ASID is flushed) before the
    // caller frees them.
    crate::mmu::destroy_space(space);
    reply
}

fn execute(program: El0Program, a: u64, b: u64, pc: u64, sp: u64) -> Regs4 {
    let target = TARGET.as_ptr() as u64;
    let before = TARGET.load(Ordering::SeqCst);
    let args = match program {
        El0Program::ReadPayload | El0Program::WritePayload => [target, !before],
        El0Program::JumpToPayload => [arch::park_forever as *const () as u64, 0],
        _ => [a, b],
    };
    let mut ctx = UserContext::new(pc, sp, &args);
    let reply = match el0::run(&mut ctx) {
        UserExit::Svc { imm: 0 } => [Status::Success.to_raw(), ctx.x[0], 0, 0],
        UserExit::Svc { imm } => {
            log::warn!("TEST_EL0 {}: unexpected svc #{imm}", program.name());
            status(Status::Internal)
        }
        UserExit::Fault { esr, far } => {
            log::info!("TEST_EL0 {}: trapped: {esr}, FAR {far:#x}", program.name());
            [Status::Trapped.to_raw(), u64::from(esr.ec_raw()), far, 0]
        }
        UserExit::Interrupt | UserExit::Fatal { .. } => status(Status::Internal),
    };
    if TARGET.load(Ordering::SeqCst) != before {
        log::error!("TEST_EL0 {}: payload data changed!", program.name());
        return status(Status::Internal);
    }
    reply
}
