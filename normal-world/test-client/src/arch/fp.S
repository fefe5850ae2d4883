/*
 * FP/SIMD survival probe. The client is built softfloat, so Rust never touches the V
 * registers; this routine owns them for the duration of one SMC.
 *
 * u64 fp_smc_probe(FpProbe *p)   (layout: struct FpProbe in src/arch/mod.rs)
 *   [p +   0] args[8]      x0..x7 for the SMC
 *   [p +  64] results[4]   x0..x3 after the SMC (written)
 *   [p +  96] seed         V_n.lo = seed + n * 0x0101010101010101, V_n.hi = NOT V_n.lo
 *   [p + 104] fpcr_set     written to FPCR before the call
 *   [p + 112] fpsr_set     written to FPSR before the call
 *   [p + 120] fpcr_before  FPCR read back before the call (written; some bits are RAZ/WI)
 *   [p + 128] fpsr_before  FPSR read back before the call (written)
 *   [p + 136] fpcr_after   FPCR after the call (written)
 *   [p + 144] fpsr_after   FPSR after the call (written)
 * Returns a bit mask: bit n set when V_n no longer holds its pattern after the call.
 * Clobbers x0..x17 (SMCCC) and every V register; preserves x19 and x30 on the stack.
 */
/* The target is softfloat; only this routine may use FP/SIMD instructions. */
.arch_extension fp
.arch_extension simd

.text
.global fp_smc_probe
fp_smc_probe:
    stp     x19, x30, [sp, #-16]!
    mov     x19, x0

    ldr     x9, [x19, #104]
    msr     fpcr, x9
    ldr     x9, [x19, #112]
    msr     fpsr, x9
    mrs     x9, fpcr
    str     x9, [x19, #120]
    mrs     x9, fpsr
    str     x9, [x19, #128]

    ldr     x11, [x19, #96]                 /* lo pattern of V0 */
    mov_imm x10, 0x01010101
    orr     x10, x10, x10, lsl #32          /* per-register step */
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    mvn     x12, x11
    fmov    d\n, x11
    mov     v\n\().d[1], x12
    add     x11, x11, x10
.endr

    ldp     x0, x1, [x19, #0]
    ldp     x2, x3, [x19, #16]
    ldp     x4, x5, [x19, #32]
    ldp     x6, x7, [x19, #48]
    smc     #0
    stp     x0, x1, [x19, #64]
    stp     x2, x3, [x19, #80]

    mrs     x9, fpcr
    str     x9, [x19, #136]
    mrs     x9, fpsr
    str     x9, [x19, #144]

    mov     x0, #0                          /* mismatch mask */
    ldr     x11, [x19, #96]
    mov_imm x10, 0x01010101
    orr     x10, x10, x10, lsl #32
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    mvn     x12, x11
    fmov    x13, d\n
    mov     x14, v\n\().d[1]
    cmp     x13, x11
    ccmp    x14, x12, #0, eq                /* Z set only when both halves match */
    mov     x15, #(1 << \n)
    csel    x15, xzr, x15, eq
    orr     x0, x0, x15
    add     x11, x11, x10
.endr

    ldp     x19, x30, [sp], #16
    ret
