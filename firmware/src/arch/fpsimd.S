.arch_extension fp
.arch_extension simd
/*
 * FP/SIMD ownership across world switches.
 *
 * TF-A 2.8's opteed does not save FP/SIMD registers when it switches worlds, so the values in
 * V0-V31, FPCR and FPSR on entry belong to the normal world. The payload keeps CPACR_EL1.FPEN
 * trapping; the first FP/SIMD instruction of a call traps (ESR EC 0x07), and the handler calls
 * fpsimd_enter_secure, which saves the normal world's registers into this CPU's save area and
 * enables FP/SIMD. return_to_monitor calls fpsimd_leave_secure, which puts them back and
 * re-arms the trap. Save area per CPU ({fpsimd_area_size} bytes): [0] saved flag,
 * [16] FPCR, [24] FPSR, [32..] Q0-Q31.
 */

/* x\dst = this CPU's save area; x\idx = CPU index. */
.macro fpsimd_area dst, idx, tmp
    adrp    \dst, fpsimd_ns_save
    add     \dst, \dst, :lo12:fpsimd_ns_save
    mov_imm \tmp, {fpsimd_area_size}
    madd    \dst, \idx, \tmp, \dst
.endm

.section .text.fpsimd, "ax"
/* fn fpsimd_enter_secure(cpu: usize): enable FP/SIMD, saving the normal world's state once. */
.global fpsimd_enter_secure
fpsimd_enter_secure:
    mrs     x9, cpacr_el1
    orr     x9, x9, #(3 << 20)              /* FPEN = 0b11: no trap at EL0/EL1 */
    msr     cpacr_el1, x9
    isb
    fpsimd_area x10, x0, x11
    ldr     x11, [x10]
    cbnz    x11, 1f                         /* already saved during this call */
    mrs     x12, fpcr
    mrs     x13, fpsr
    stp     x12, x13, [x10, #16]
    add     x11, x10, #32
    stp     q0, q1, [x11, #0]
    stp     q2, q3, [x11, #32]
    stp     q4, q5, [x11, #64]
    stp     q6, q7, [x11, #96]
    stp     q8, q9, [x11, #128]
    stp     q10, q11, [x11, #160]
    stp     q12, q13, [x11, #192]
    stp     q14, q15, [x11, #224]
    stp     q16, q17, [x11, #256]
    stp     q18, q19, [x11, #288]
    stp     q20, q21, [x11, #320]
    stp     q22, q23, [x11, #352]
    stp     q24, q25, [x11, #384]
    stp     q26, q27, [x11, #416]
    stp     q28, q29, [x11, #448]
    stp     q30, q31, [x11, #480]
    mov     x11, #1
    str     x11, [x10]
1:  ret

/* fn fpsimd_leave_secure(): restore the normal world's FP/SIMD state if it was saved. */
.global fpsimd_leave_secure
fpsimd_leave_secure:
    cpu_index x9, x10
    fpsimd_area x10, x9, x11
    ldr     x11, [x10]
    cbz     x11, 1f
    ldp     x12, x13, [x10, #16]
    msr     fpcr, x12
    msr     fpsr, x13
    add     x11, x10, #32
    ldp     q0, q1, [x11, #0]
    ldp     q2, q3, [x11, #32]
    ldp     q4, q5, [x11, #64]
    ldp     q6, q7, [x11, #96]
    ldp     q8, q9, [x11, #128]
    ldp     q10, q11, [x11, #160]
    ldp     q12, q13, [x11, #192]
    ldp     q14, q15, [x11, #224]
    ldp     q16, q17, [x11, #256]
    ldp     q18, q19, [x11, #288]
    ldp     q20, q21, [x11, #320]
    ldp     q22, q23, [x11, #352]
    ldp     q24, q25, [x11, #384]
    ldp     q26, q27, [x11, #416]
    ldp     q28, q29, [x11, #448]
    ldp     q30, q31, [x11, #480]
    str     xzr, [x10]
    mrs     x12, cpacr_el1
    bic     x12, x12, #(3 << 20)            /* trap FP/SIMD again */
    msr     cpacr_el1, x12
    isb
1:  ret

/*
 * Test hook (served only by test-hooks builds):
 * fn tzwasm_test_fp(a: u64, b: u64, out: *mut [u64; 3]). `a`, `b` are IEEE doubles as bits;
 * stores a*b, a+b, a/b (round to nearest even), then clobbers every V register, FPCR and FPSR
 * so the caller can prove the normal world's values came back intact.
 */
.global tzwasm_test_fp
tzwasm_test_fp:
    fmov    d0, x0                          /* first FP instruction: traps the first time */
    fmov    d1, x1
    msr     fpcr, xzr                       /* round to nearest even, no traps */
    fmul    d2, d0, d1
    fadd    d3, d0, d1
    fdiv    d4, d0, d1
    fmov    x9, d2
    fmov    x10, d3
    fmov    x11, d4
    stp     x9, x10, [x2]
    str     x11, [x2, #16]
    movi    v0.16b, #0xa5
    movi    v1.16b, #0xa5
    movi    v2.16b, #0xa5
    movi    v3.16b, #0xa5
    movi    v4.16b, #0xa5
    movi    v5.16b, #0xa5
    movi    v6.16b, #0xa5
    movi    v7.16b, #0xa5
    movi    v8.16b, #0xa5
    movi    v9.16b, #0xa5
    movi    v10.16b, #0xa5
    movi    v11.16b, #0xa5
    movi    v12.16b, #0xa5
    movi    v13.16b, #0xa5
    movi    v14.16b, #0xa5
    movi    v15.16b, #0xa5
    movi    v16.16b, #0xa5
    movi    v17.16b, #0xa5
    movi    v18.16b, #0xa5
    movi    v19.16b, #0xa5
    movi    v20.16b, #0xa5
    movi    v21.16b, #0xa5
    movi    v22.16b, #0xa5
    movi    v23.16b, #0xa5
    movi    v24.16b, #0xa5
    movi    v25.16b, #0xa5
    movi    v26.16b, #0xa5
    movi    v27.16b, #0xa5
    movi    v28.16b, #0xa5
    movi    v29.16b, #0xa5
    movi    v30.16b, #0xa5
    movi    v31.16b, #0xa5
    mov     x9, #(3 << 22)                  /* FPCR.RMode = round towards zero */
    msr     fpcr, x9
    mov     x9, #(1 << 27)                  /* FPSR.QC */
    msr     fpsr, x9
    ret
