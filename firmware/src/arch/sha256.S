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
 * Uses x0..x3, v0..v9 and v16..v31 (d8/d9, callee-saved, are put back). Runs at S-EL1 with
 * interrupts masked, so nothing else sees the V registers meanwhile; the first FP/SIMD
 * instruction traps and enables FP/SIMD for the call (fpsimd.S). Register lists are written
 * with doubled braces: this file is a global_asm! template.
 */
.section .text.sha256, "ax"

/* Four rounds with the schedule words in v\w and the constants in v\k. */
.macro sha256_rounds4 w, k
    add     v8.4s, v\w\().4s, v\k\().4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
.endm

/* The same, and v\w (W[t-16..t-13]) becomes W[t..t+3] from v\w1, v\w2, v\w3 (the three
 * groups after it). */
.macro sha256_rounds4_extend w, w1, w2, w3, k
    add     v8.4s, v\w\().4s, v\k\().4s
    sha256su0 v\w\().4s, v\w1\().4s
    mov     v9.16b, v0.16b
    sha256h q0, q1, v8.4s
    sha256h2 q1, q9, v8.4s
    sha256su1 v\w\().4s, v\w2\().4s, v\w3\().4s
.endm

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
    sha256_rounds4_extend 4, 5, 6, 7, 16
    sha256_rounds4_extend 5, 6, 7, 4, 17
    sha256_rounds4_extend 6, 7, 4, 5, 18
    sha256_rounds4_extend 7, 4, 5, 6, 19
    sha256_rounds4_extend 4, 5, 6, 7, 20
    sha256_rounds4_extend 5, 6, 7, 4, 21
    sha256_rounds4_extend 6, 7, 4, 5, 22
    sha256_rounds4_extend 7, 4, 5, 6, 23
    sha256_rounds4_extend 4, 5, 6, 7, 24
    sha256_rounds4_extend 5, 6, 7, 4, 25
    sha256_rounds4_extend 6, 7, 4, 5, 26
    sha256_rounds4_extend 7, 4, 5, 6, 27
    sha256_rounds4 4, 28
    sha256_rounds4 5, 29
    sha256_rounds4 6, 30
    sha256_rounds4 7, 31
    add     v0.4s, v0.4s, v2.4s
    add     v1.4s, v1.4s, v3.4s
    subs    x2, x2, #1
    b.ne    1b
    st1     {{v0.4s, v1.4s}}, [x0]
    ldp     d8, d9, [sp], #16
2:  ret
