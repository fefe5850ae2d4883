/*
 * VBAR_EL1 exception vectors of the secure payload.
 *
 * Exceptions taken from the payload itself (current EL, SP_EL1) switch to this CPU's exception
 * stack with `msr spsel, #0` before touching memory, so even a fault caused by running off the
 * main stack into its guard page gets a working stack for the crash report. The full register
 * state goes into an ExceptionFrame (firmware/src/exception.rs, {frame_size} bytes) and Rust
 * decides: a lazy FP/SIMD trap is handled and execution resumes; anything else is reported on
 * the secure UART and the secure world fails stop: the call in progress is abandoned and
 * answered FAILED (abandon_call, entry.S), as is every later call (boot.rs).
 *
 * An exception while already on the exception stack (the SP_EL0 group) parks at once: the
 * crash path itself failed and there is nothing safe left to run (not even a report: the
 * stack may be the very thing that broke). If the first failure had already claimed the
 * fail-stop record, the other CPUs answer FAILED; a nested fault before that claim (inside
 * the first lines of the crash handler) leaves only this CPU lost.
 *
 * Exceptions from S-EL0 (module code) are not crashes: they end the current enter_user call
 * (user.S) and the payload decides what they mean.
 */

/*
 * x2..x29 to/from a register file laid out as x[0..31] at \base (ExceptionFrame and
 * UserContext share that layout; user.S uses these too).
 */
.macro store_x2_x29 base
    stp     x2, x3, [\base, #16]
    stp     x4, x5, [\base, #32]
    stp     x6, x7, [\base, #48]
    stp     x8, x9, [\base, #64]
    stp     x10, x11, [\base, #80]
    stp     x12, x13, [\base, #96]
    stp     x14, x15, [\base, #112]
    stp     x16, x17, [\base, #128]
    stp     x18, x19, [\base, #144]
    stp     x20, x21, [\base, #160]
    stp     x22, x23, [\base, #176]
    stp     x24, x25, [\base, #192]
    stp     x26, x27, [\base, #208]
    stp     x28, x29, [\base, #224]
.endm

.macro load_x2_x29 base
    ldp     x2, x3, [\base, #16]
    ldp     x4, x5, [\base, #32]
    ldp     x6, x7, [\base, #48]
    ldp     x8, x9, [\base, #64]
    ldp     x10, x11, [\base, #80]
    ldp     x12, x13, [\base, #96]
    ldp     x14, x15, [\base, #112]
    ldp     x16, x17, [\base, #128]
    ldp     x18, x19, [\base, #144]
    ldp     x20, x21, [\base, #160]
    ldp     x22, x23, [\base, #176]
    ldp     x24, x25, [\base, #192]
    ldp     x26, x27, [\base, #208]
    ldp     x28, x29, [\base, #224]
.endm

/* Save x2..x30, ELR, SPSR, ESR, FAR into the frame at sp; x0/x1 already saved by the slot. */
.macro save_frame_rest
    store_x2_x29 sp
    str     x30, [sp, #240]                 /* [248] = interrupted sp, stored by caller */
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]              /* elr, spsr */
    mrs     x2, esr_el1
    mrs     x3, far_el1
    stp     x2, x3, [sp, #272]              /* esr, far */
.endm

.macro current_el_slot kind
.balign 0x80
    msr     spsel, #0                       /* exception stack; no GPR touched yet */
    sub     sp, sp, #{frame_size}
    stp     x0, x1, [sp]
    mov     x0, #\kind
    b       current_el_common
.endm

/* From S-EL0: hardware is on SP_EL1, just below enter_user's frame (user.S). */
.macro lower_el_slot kind
.balign 0x80
    stp     x0, x1, [sp, #-16]!
    mov     x0, #\kind
    b       user_exit
.endm

.macro park_slot
.balign 0x80
    b       park_forever
.endm

.section .text.vectors, "ax"
.balign 0x800
.global exception_vectors
exception_vectors:
    /* Current EL with SP_EL0: only the exception stack runs this way: a nested fault. */
    park_slot
    park_slot
    park_slot
    park_slot
    /* Current EL with SP_ELx: the payload itself. kind: 0 sync, 1 IRQ, 2 FIQ, 3 SError */
    current_el_slot 0
    current_el_slot 1
    current_el_slot 2
    current_el_slot 3
    /* Lower EL, AArch64 (module code at S-EL0). kind: 4 sync, 5 IRQ, 6 FIQ, 7 SError */
    lower_el_slot 4
    lower_el_slot 5
    lower_el_slot 6
    lower_el_slot 7
    /* Lower EL, AArch32: never entered (we never run AArch32 code). */
    lower_el_slot 8
    lower_el_slot 9
    lower_el_slot 10
    lower_el_slot 11

current_el_common:
    mov     x1, x0                          /* kind */
    save_frame_rest
    msr     spsel, #1                       /* read the interrupted SP (SP_EL1) */
    mov     x2, sp
    msr     spsel, #0
    str     x2, [sp, #248]
    mov     x0, sp
    bl      handle_current_el_exception     /* returns only if handled */
    ldp     x2, x3, [sp, #256]              /* elr, spsr (the handler may have changed them) */
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x0, x1, [sp, #0]
    load_x2_x29 sp
    ldr     x30, [sp, #240]
    add     sp, sp, #{frame_size}
    msr     spsel, #1
    eret
