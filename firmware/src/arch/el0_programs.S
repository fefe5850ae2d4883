/*
 * TEST_EL0 programs (tzwasm-smc El0Program): tiny AArch64 routines the payload copies into a
 * fresh page and runs at S-EL0. They are data here (.rodata): the payload never executes them
 * at EL1. Each sits in its own 64-byte slot; slot N is program N. Entry: x0, x1 = arguments.
 * Success ends with `svc #0` with the result in x0.
 */
.arch_extension fp
.arch_extension simd

.section .rodata.el0_programs, "a"
.balign 64
.global el0_programs_start
el0_programs_start:

/* 0: add */
    add     x0, x0, x1
    svc     #0

/* 1: FP multiply-add, clobbering V0..V7 */
.balign 64
    fmov    d0, x0
    fmov    d1, x1
    fmul    d0, d0, d1
    fmov    d1, #1.0
    fadd    d0, d0, d1
    fmov    x0, d0
    movi    v2.16b, #0x5a
    movi    v3.16b, #0x5a
    movi    v4.16b, #0x5a
    movi    v5.16b, #0x5a
    movi    v6.16b, #0x5a
    movi    v7.16b, #0x5a
    svc     #0

/* 2: stack use */
.balign 64
    stp     x0, x1, [sp, #-16]!
    ldp     x2, x3, [sp], #16
    eor     x0, x2, x3
    svc     #0

/* 3: an EL1 system register from EL0 */
.balign 64
    msr     vbar_el1, xzr
    svc     #0

/* 4: load from x0 (a payload address) */
.balign 64
    ldr     x0, [x0]
    svc     #0

/* 5: store x1 to x0 (a payload address) */
.balign 64
    str     x1, [x0]
    svc     #0

/* 6: SMC from EL0 */
.balign 64
    smc     #0
    svc     #0

/* 7: branch to x0 (payload text) */
.balign 64
    br      x0

/* 8: ERET from EL0 */
.balign 64
    eret

.balign 64
.global el0_programs_end
el0_programs_end:
