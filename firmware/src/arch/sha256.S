.arch_extension sha2
/*
 * SHA-256 block compression with the Armv8 SHA-256 instructions (FEAT_SHA256).
 *
 * fn sha256_blocks_ce(state: *mut [u32; 8], data: *const u8, blocks: usize, k: *const [u32; 64])
 *
 * state: a..h as eight words (v0 = a..d, v1 = e..h); data: `blocks` 64-byte blocks;
 * k: the round constants (firmware/src/sha256.rs, K), kept in v16..v31 for all blocks.
 * Each block: the message words in v4..v7 (byte-swapped: SHA-256 is big-endian), then sixteen
 * steps of four rounds, each adding its W+K (v8) with SHA256H/SHA256H2 (which need the
 * a..d of before the step, kept in v9); steps 0..11 also extend the schedule in place, the
 * four words they used becoming the ones four steps later (SHA256SU0/SHA256SU1).
 * Register lists are written {{...}}: this file is a global_asm! template.
 * Uses x0..x3, v0..v9, v16..v31 (d8/d9, callee-saved, are put back). Run at S-EL1 with interrupts masked, so nothing else sees
 * the V registers meanwhile; the first FP/SIMD instruction traps and enables FP/SIMD for the
 * call (fpsimd.S).
 */
.section .text.sha256, "ax"
.global sha256_blocks_ce
sha256_blocks_ce:
    cbz     x2, 2f
    stp     d8, d9, [sp, #-16]!
    ld1     {{v0.4s, v1.4s}}, [x0]
    ld1     {{v16.4s, v17.4s, v18.4s, v19.4s}}, [x3], #64
    ld1     {{v20.4s, v21.4s, v22.4s, v23.4s}}, [x3], #64
    ld1     {{v24.4s, v25.4s, v26.4s, v27.4s}}, [x3], #64
    ld1     {{v28.4s, v29.4s, v30.4s, v31.4s}}, [x3]
1:  ld1     {{v4.16b, v5.16b, v6.16b, v7.16b}}, [x1], #64
    rev32   v4.16b, v4.16b
    rev32   v5.16b, v5.16b
    rev32   v6.16b, v6.16b
    rev32   v7.16b, v7.16b
    mov     v2.16b, v0.16b
    mov     v3.16b, v1.16b
    /* rounds 0..3 */
    add     v8.4s, v4.4s, v16.4s
    sha256su0 v4.4s, v5.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v4.4s, v6.4s, v7.4s
    /* rounds 4..7 */
    add     v8.4s, v5.4s, v17.4s
    sha256su0 v5.4s, v6.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v5.4s, v7.4s, v4.4s
    /* rounds 8..11 */
    add     v8.4s, v6.4s, v18.4s
    sha256su0 v6.4s, v7.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v6.4s, v4.4s, v5.4s
    /* rounds 12..15 */
    add     v8.4s, v7.4s, v19.4s
    sha256su0 v7.4s, v4.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v7.4s, v5.4s, v6.4s
    /* rounds 16..19 */
    add     v8.4s, v4.4s, v20.4s
    sha256su0 v4.4s, v5.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v4.4s, v6.4s, v7.4s
    /* rounds 20..23 */
    add     v8.4s, v5.4s, v21.4s
    sha256su0 v5.4s, v6.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v5.4s, v7.4s, v4.4s
    /* rounds 24..27 */
    add     v8.4s, v6.4s, v22.4s
    sha256su0 v6.4s, v7.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v6.4s, v4.4s, v5.4s
    /* rounds 28..31 */
    add     v8.4s, v7.4s, v23.4s
    sha256su0 v7.4s, v4.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v7.4s, v5.4s, v6.4s
    /* rounds 32..35 */
    add     v8.4s, v4.4s, v24.4s
    sha256su0 v4.4s, v5.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v4.4s, v6.4s, v7.4s
    /* rounds 36..39 */
    add     v8.4s, v5.4s, v25.4s
    sha256su0 v5.4s, v6.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v5.4s, v7.4s, v4.4s
    /* rounds 40..43 */
    add     v8.4s, v6.4s, v26.4s
    sha256su0 v6.4s, v7.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v6.4s, v4.4s, v5.4s
    /* rounds 44..47 */
    add     v8.4s, v7.4s, v27.4s
    sha256su0 v7.4s, v4.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v7.4s, v5.4s, v6.4s
    /* rounds 48..51 */
    add     v8.4s, v4.4s, v28.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    /* rounds 52..55 */
    add     v8.4s, v5.4s, v29.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    /* rounds 56..59 */
    add     v8.4s, v6.4s, v30.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    /* rounds 60..63 */
    add     v8.4s, v7.4s, v31.4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    add     v0.4s, v0.4s, v2.4s
    add     v1.4s, v1.4s, v3.4s
    subs    x2, x2, #1
    b.ne    1b
    st1     {{v0.4s, v1.4s}}, [x0]
    ldp     d8, d9, [sp], #16
2:  ret
