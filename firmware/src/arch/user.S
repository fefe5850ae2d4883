/*
 * S-EL0 entry and exit.
 *
 * enter_user(ctx) loads a UserContext (firmware/src/user.rs; x0..x30, sp, pc, pstate, then
 * esr/far slots, fpcr, fpsr, q0..q31 at {user_q_off}, tpidr_el0 at {user_tpidr_off}) and ERETs
 * to EL0. user_exit saves TPIDR_EL0 and clears it: the register is EL0-writable and not part of
 * anything else the payload switches, so a value one module left would otherwise reach the
 * next module (another session's). The payload's
 * callee-saved registers stay on its main stack, and SP_EL1 keeps pointing just below them, so
 * the next exception from EL0 lands on that stack. The lower-EL vectors jump to user_exit,
 * which stores the module's registers back into the context (found through TPIDR_EL1), puts
 * this CPU's exception stack back in SP_EL0 and returns from enter_user with the vector kind
 * (4 sync, 5 IRQ, 6 FIQ, 7 SError; 8..11 AArch32, never expected).
 *
 * FP/SIMD must already be enabled and the normal world's registers saved
 * (fpsimd_enter_secure): the module's Q registers are loaded here.
 */

.section .text.user, "ax"

/* fn enter_user(ctx: *mut UserContext) -> u64 */
.global enter_user
enter_user:
    stp     x29, x30, [sp, #-96]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    msr     tpidr_el1, x0

    ldr     x1, [x0, #{user_tpidr_off}]
    msr     tpidr_el0, x1
    ldp     x1, x2, [x0, #{user_fpcr_off}]
    msr     fpcr, x1
    msr     fpsr, x2
    add     x1, x0, #{user_q_off}
    ldp     q0, q1, [x1, #0]
    ldp     q2, q3, [x1, #32]
    ldp     q4, q5, [x1, #64]
    ldp     q6, q7, [x1, #96]
    ldp     q8, q9, [x1, #128]
    ldp     q10, q11, [x1, #160]
    ldp     q12, q13, [x1, #192]
    ldp     q14, q15, [x1, #224]
    ldp     q16, q17, [x1, #256]
    ldp     q18, q19, [x1, #288]
    ldp     q20, q21, [x1, #320]
    ldp     q22, q23, [x1, #352]
    ldp     q24, q25, [x1, #384]
    ldp     q26, q27, [x1, #416]
    ldp     q28, q29, [x1, #448]
    ldp     q30, q31, [x1, #480]

    ldp     x1, x2, [x0, #248]              /* sp, pc */
    ldr     x3, [x0, #264]                  /* pstate */
    msr     sp_el0, x1
    msr     elr_el1, x2
    msr     spsr_el1, x3

    load_x2_x29 x0
    ldr     x30, [x0, #240]
    ldp     x0, x1, [x0, #0]
    eret
    dsb     nsh                             /* no speculation past the ERET */
    isb

/*
 * Reached from a lower-EL vector slot with: SP_EL1 = 16 bytes below enter_user's frame,
 * [sp] = the module's x0, x1; x0 = vector kind. Everything else is still the module's.
 */
user_exit:
    mov     x1, x0                          /* kind */
    mrs     x0, tpidr_el1                   /* the UserContext */
    cbz     x0, park_forever                /* EL0 ran without enter_user: impossible */
    store_x2_x29 x0
    str     x30, [x0, #240]
    ldp     x2, x3, [sp], #16               /* the module's x0, x1 */
    stp     x2, x3, [x0, #0]
    mrs     x2, sp_el0
    mrs     x3, elr_el1
    stp     x2, x3, [x0, #248]              /* sp, pc */
    mrs     x2, spsr_el1
    mrs     x3, esr_el1
    stp     x2, x3, [x0, #264]              /* pstate, esr */
    mrs     x2, far_el1
    str     x2, [x0, #280]

    mrs     x2, tpidr_el0
    str     x2, [x0, #{user_tpidr_off}]
    msr     tpidr_el0, xzr
    mrs     x2, fpcr
    mrs     x3, fpsr
    stp     x2, x3, [x0, #{user_fpcr_off}]
    add     x2, x0, #{user_q_off}
    stp     q0, q1, [x2, #0]
    stp     q2, q3, [x2, #32]
    stp     q4, q5, [x2, #64]
    stp     q6, q7, [x2, #96]
    stp     q8, q9, [x2, #128]
    stp     q10, q11, [x2, #160]
    stp     q12, q13, [x2, #192]
    stp     q14, q15, [x2, #224]
    stp     q16, q17, [x2, #256]
    stp     q18, q19, [x2, #288]
    stp     q20, q21, [x2, #320]
    stp     q22, q23, [x2, #352]
    stp     q24, q25, [x2, #384]
    stp     q26, q27, [x2, #416]
    stp     q28, q29, [x2, #448]
    stp     q30, q31, [x2, #480]

    /* Back to the payload's stack discipline: SP_EL0 = this CPU's exception stack. */
    cpu_index x9, x10
    adrp    x2, __stacks_start
    add     x2, x2, :lo12:__stacks_start
    mov_imm x3, {cpu_stacks_size}
    madd    x2, x9, x3, x2
    add     x2, x2, #{emerg_off}
    add     x2, x2, #{emerg_size}
    msr     sp_el0, x2
    msr     tpidr_el1, xzr

    mov     x0, x1                          /* return the vector kind */
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ret
