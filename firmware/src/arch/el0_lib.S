/*
 * The C library routines module code calls by name (memmove, memcpy, memset), run at S-EL0
 * in the module's own address space instead of as an `svc` into the payload. The payload copies
 * these bytes into the top of each instance's entry-stub page (EL0 read+execute) and resolves
 * the three symbols to them (firmware/src/runner/windows.rs). They are data here (.rodata):
 * the payload never executes them at EL1.
 *
 * Why at EL0: a Rust module calls memmove for nearly every Vec/String move (about 700,000
 * calls of about 66 bytes each in the rsmix benchmark), and a world-internal exception round
 * trip per call cost more than the copy. At EL0 the MMU confines every access to the
 * module's own pages (a stray pointer faults and the run traps, as it would in module code),
 * and a long copy is preemptible like any module code.
 *
 * AAPCS64: x0 = destination (returned), x1 = source or fill byte, x2 = length. Clobbers
 * x1..x5 and the flags only. Position-independent (relative branches only).
 */

.section .rodata.el0_lib, "a"
.balign 16
.global el0_lib_start
el0_lib_start:

/* void *memmove(void *d, const void *s, size_t n); memcpy is the same routine. */
.global el0_lib_memmove
el0_lib_memmove:
    mov     x3, x0
    cbz     x2, 9f
    cmp     x3, x1
    b.hi    5f                      /* d above s: copy from the end down */
    /* Forwards: each load reads bytes no earlier store has written (d <= s). */
    cmp     x2, #16
    b.lo    2f
1:  ldp     x4, x5, [x1], #16
    stp     x4, x5, [x3], #16
    sub     x2, x2, #16
    cmp     x2, #16
    b.hs    1b
    cbz     x2, 9f
2:  ldrb    w4, [x1], #1
    strb    w4, [x3], #1
    subs    x2, x2, #1
    b.ne    2b
9:  ret
    /* Backwards: the mirror image (d > s). */
5:  add     x1, x1, x2
    add     x3, x3, x2
    cmp     x2, #16
    b.lo    7f
6:  ldp     x4, x5, [x1, #-16]!
    stp     x4, x5, [x3, #-16]!
    sub     x2, x2, #16
    cmp     x2, #16
    b.hs    6b
    cbz     x2, 9b
7:  ldrb    w4, [x1, #-1]!
    strb    w4, [x3, #-1]!
    subs    x2, x2, #1
    b.ne    7b
    ret

/* void *memset(void *d, int c, size_t n) */
.balign 16
.global el0_lib_memset
el0_lib_memset:
    mov     x3, x0
    cbz     x2, 9f
    and     x1, x1, #0xff
    orr     x1, x1, x1, lsl #8
    orr     x1, x1, x1, lsl #16
    orr     x1, x1, x1, lsl #32
    cmp     x2, #16
    b.lo    2f
1:  stp     x1, x1, [x3], #16
    sub     x2, x2, #16
    cmp     x2, #16
    b.hs    1b
    cbz     x2, 9f
2:  strb    w1, [x3], #1
    subs    x2, x2, #1
    b.ne    2b
9:  ret

/* Padded to exactly EL0_LIB_AREA bytes; the assembler refuses (.org backwards) if it outgrew them. */
.org el0_lib_start + {el0_lib_area}
.global el0_lib_end
el0_lib_end:
