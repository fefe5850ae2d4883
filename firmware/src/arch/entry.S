/*
 * tzwasm BL32 entry points (opteed ABI, TF-A services/spd/opteed).
 *
 * bl32_entry:       cold boot of the primary CPU, MMU and caches off, DAIF masked, x2 = DTB.
 * opteed_vectors:   nine branches TF-A's opteed enters for every later event.
 *
 * Constants come in as `const` operands from firmware/src/arch/mod.rs:
 *   {max_cpus} {cpu_stacks_size} {stack_off} {stack_size} {emerg_off} {emerg_size}
 *   {entry_done} {on_done} {off_done} {suspend_done} {resume_done} {call_done} {fiq_done}
 *   {system_off_done} {system_reset_done}
 *
 * Stack discipline: the payload runs at EL1h on this CPU's main stack (SP_EL1). SP_EL0 holds
 * this CPU's exception stack, so the exception vectors can switch to a known-good stack with
 * `msr spsel, #0` without touching a general-purpose register (see vectors.S).
 */

/* 32-bit immediate into a register, without a literal pool. */
.macro mov_imm reg, val
    movz    \reg, #((\val) & 0xffff)
    movk    \reg, #(((\val) >> 16) & 0xffff), lsl #16
.endm

/* x\dst = this CPU's linear index; parks the CPU if MPIDR is outside what we support. */
.macro cpu_index dst, tmp
    mrs     \dst, mpidr_el1
    ubfx    \tmp, \dst, #8, #16             /* Aff1, Aff2 must be zero */
    cbnz    \tmp, park_forever
    and     \dst, \dst, #0xff               /* Aff0 */
    cmp     \dst, #{max_cpus}
    b.hs    park_forever
.endm

/*
 * Point SP_EL1 at the top of this CPU's main stack and SP_EL0 at the top of its exception
 * stack. Clobbers \t0, \t1. x\idx holds the CPU index.
 */
.macro set_stacks idx, t0, t1
    adrp    \t0, __stacks_start
    add     \t0, \t0, :lo12:__stacks_start
    mov_imm \t1, {cpu_stacks_size}
    madd    \t0, \idx, \t1, \t0             /* this CPU's block */
    add     \t1, \t0, #{stack_off}
    add     \t1, \t1, #{stack_size}
    mov     sp, \t1
    add     \t1, \t0, #{emerg_off}
    add     \t1, \t1, #{emerg_size}
    msr     sp_el0, \t1
.endm

.macro set_vbar tmp
    adrp    \tmp, exception_vectors
    add     \tmp, \tmp, :lo12:exception_vectors
    msr     vbar_el1, \tmp
    isb
.endm

.section .text.entry, "ax"
.global bl32_entry
bl32_entry:
    mov     x19, x0                         /* pageable part (unused) */
    mov     x20, x1                         /* memory limit (unused) */
    mov     x21, x2                         /* DTB address */
    cpu_index x22, x9
    set_stacks x22, x9, x10
    set_vbar x9

    /* Zero .bss: nothing in Rust may run before this. */
    adrp    x9, __bss_start
    add     x9, x9, :lo12:__bss_start
    adrp    x10, __bss_end
    add     x10, x10, :lo12:__bss_end
1:  cmp     x9, x10
    b.hs    2f
    stp     xzr, xzr, [x9], #16
    b       1b
2:
    mov     x0, x22
    mov     x1, x21
    bl      primary_main                    /* builds the MMU tables, turns the MMU on */

    adrp    x1, opteed_vectors
    add     x1, x1, :lo12:opteed_vectors
    mov_imm x0, {entry_done}
    b       return_to_monitor

/* The opteed vector table: TF-A branches to entry N of this table. */
.balign 8
.global opteed_vectors
opteed_vectors:
    b       yield_smc_entry
    b       fast_smc_entry
    b       cpu_on_entry
    b       cpu_off_entry
    b       cpu_resume_entry
    b       cpu_suspend_entry
    b       fiq_entry
    b       system_off_entry
    b       system_reset_entry

/*
 * SMC entries: x0 = function id, x1..x7 = the normal world's x1..x7. Every call starts on a
 * fresh stack. The Rust handler fills SmcResult (four registers) which become NS x0..x3.
 */
.macro smc_entry is_yield
    cpu_index x9, x10
    set_stacks x9, x10, x11
    sub     sp, sp, #80                     /* SmcArgs: x0..x7, cpu, is_yield */
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    mov     x10, #\is_yield
    stp     x9, x10, [sp, #64]
    mov     x0, sp
    bl      smc_handler                     /* SmcArgs.x[0..4] <- result */
    ldp     x1, x2, [sp, #0]
    ldp     x3, x4, [sp, #16]
    mov_imm x0, {call_done}
    b       return_to_monitor
.endm

yield_smc_entry:
    smc_entry 1
fast_smc_entry:
    smc_entry 0

cpu_on_entry:
    cpu_index x22, x9
    set_stacks x22, x9, x10
    set_vbar x9
    mov     x0, x22
    bl      secondary_main                  /* MMU on with the shared tables */
    mov     x1, #0
    mov_imm x0, {on_done}
    b       return_to_monitor

.macro pm_entry done, event
    cpu_index x9, x10
    set_stacks x9, x10, x11
    mov     x0, x9
    mov     x1, #\event
    bl      power_event
    mov     x1, #0
    mov_imm x0, \done
    b       return_to_monitor
.endm

cpu_off_entry:
    pm_entry {off_done}, 0
cpu_suspend_entry:
    pm_entry {suspend_done}, 1
cpu_resume_entry:
    pm_entry {resume_done}, 2
system_off_entry:
    pm_entry {system_off_done}, 3
system_reset_entry:
    pm_entry {system_reset_done}, 4
fiq_entry:
    /* No secure interrupt is configured; log it and hand the CPU back. */
    pm_entry {fiq_done}, 5

/*
 * Leave the secure world: x0 = RETURN_* id, x1..x4 results. If this call switched the FP/SIMD
 * registers to secure use, the normal world's values are put back first (fpsimd.S).
 */
.global return_to_monitor
return_to_monitor:
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    mov     x23, x4
    bl      fpsimd_leave_secure
    mov     x0, x19
    mov     x1, x20
    mov     x2, x21
    mov     x3, x22
    mov     x4, x23
    /* opteed copies only x1..x4 to the normal world and restores its other registers. */
    smc     #0
    b       park_forever                    /* opteed never returns here */

/*
 * fn abandon_call(status: u64) -> !: the fail-stop exit of an SMC whose handler panicked or
 * took an unexpected exception (boot.rs). The stack it runs on (the main stack, or the
 * exception stack of the crash handler; either may be what overflowed) is dropped: SP_EL1 and
 * SP_EL0 start again at the top of this CPU's stacks, and the call ends with CALL_DONE and
 * x0 = status through return_to_monitor, which puts the normal world's FP/SIMD registers back
 * if this call had taken them. Nothing of the abandoned call is unwound: its locks stay held,
 * which is why every later call answers FAILED before taking any.
 */
.global abandon_call
abandon_call:
    msr     daifset, #0xf
    msr     spsel, #1                       /* the crash handler runs on SP_EL0 */
    cpu_index x9, x10
    set_stacks x9, x10, x11
    mov     x1, x0
    mov     x2, #0
    mov     x3, #0
    mov     x4, #0
    mov_imm x0, {call_done}
    b       return_to_monitor

.global park_forever
park_forever:
    msr     daifset, #0xf
1:  wfe
    b       1b
