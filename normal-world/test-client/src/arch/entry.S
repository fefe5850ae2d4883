/*
 * Entry points of the tzwasm bare-metal test client (BL33).
 *
 * _start:           the primary CPU, entered by TF-A BL31 at 0x60000000 with the MMU off and
 *                   x0 = DTB (QEMU). NS-EL1 on QEMU virt without virtualization=on; NS-EL2 if
 *                   the CPU implements EL2, in which case we drop to EL1 first.
 * secondary_entry:  CPUs started with PSCI CPU_ON; x0 = context id = this CPU's stack index.
 * client_vectors:   VBAR_EL1; every exception is unexpected and ends in Rust's report.
 *
 * Constants come in as `const` operands from src/arch/mod.rs: {max_cpus} {stack_size}.
 */

/* 32-bit immediate into a register, without a literal pool. */
.macro mov_imm reg, val
    movz    \reg, #((\val) & 0xffff)
    movk    \reg, #(((\val) >> 16) & 0xffff), lsl #16
.endm

/*
 * If running at EL2, make EL1 AArch64 with the timers and FP/SIMD untrapped and ERET to EL1h
 * with DAIF masked, continuing after the macro. At EL1 this does nothing. Clobbers \tmp.
 */
.macro drop_to_el1 tmp
    mrs     \tmp, CurrentEL
    cmp     \tmp, #(2 << 2)
    b.ne    8f
    mov     \tmp, #(1 << 31)                /* HCR_EL2.RW: EL1 is AArch64, nothing trapped */
    msr     hcr_el2, \tmp
    mrs     \tmp, cnthctl_el2
    orr     \tmp, \tmp, #3                  /* EL1PCTEN | EL1PCEN */
    msr     cnthctl_el2, \tmp
    msr     cntvoff_el2, xzr                /* CNTVCT == CNTPCT */
    mov     \tmp, #0x33ff                   /* CPTR_EL2: RES1 bits, TFP clear */
    msr     cptr_el2, \tmp
    mov_imm \tmp, 0x30d00800                /* SCTLR_EL1: RES1 bits only, MMU/caches off */
    msr     sctlr_el1, \tmp
    mov     \tmp, #0x3c5                    /* SPSR: EL1h, D A I F masked */
    msr     spsr_el2, \tmp
    adr     \tmp, 8f
    msr     elr_el2, \tmp
    eret
8:
.endm

/* Common per-CPU setup: stack for index x\idx, FP/SIMD enabled at EL1/EL0, vectors. */
.macro cpu_setup idx, t0, t1
    adrp    \t0, __stacks_start
    add     \t0, \t0, :lo12:__stacks_start
    mov_imm \t1, {stack_size}
    madd    \t0, \idx, \t1, \t0
    add     sp, \t0, \t1                    /* top of this CPU's stack */
    mrs     \t0, cpacr_el1
    orr     \t0, \t0, #(3 << 20)            /* CPACR_EL1.FPEN = 0b11: no FP/SIMD trap */
    msr     cpacr_el1, \t0
    adrp    \t0, client_vectors
    add     \t0, \t0, :lo12:client_vectors
    msr     vbar_el1, \t0
    isb
.endm

.section .text.boot, "ax"
.global _start
_start:
    mov     x19, x0                         /* DTB */
    mrs     x20, CurrentEL                  /* entry EL, reported by Rust */
    ubfx    x20, x20, #2, #2
    drop_to_el1 x9
    mov     x21, #0                         /* the primary uses stack 0 */
    cpu_setup x21, x9, x10

    /* Zero .bss: no Rust code runs before this. */
    adrp    x9, __bss_start
    add     x9, x9, :lo12:__bss_start
    adrp    x10, __bss_end
    add     x10, x10, :lo12:__bss_end
1:  cmp     x9, x10
    b.hs    2f
    str     xzr, [x9], #8
    b       1b
2:
    mov     x0, x19
    mov     x1, x20
    bl      primary_main                    /* never returns */
    b       park_forever

.text
.global secondary_entry
secondary_entry:
    mov     x19, x0                         /* context id = stack index */
    mrs     x20, CurrentEL
    ubfx    x20, x20, #2, #2
    drop_to_el1 x9
    cbz     x19, park_forever               /* stack 0 belongs to the primary */
    cmp     x19, #{max_cpus}
    b.hs    park_forever
    cpu_setup x19, x9, x10
    mov     x0, x19
    mov     x1, x20
    bl      secondary_main                  /* never returns */
    b       park_forever

.global park_forever
park_forever:
    msr     daifset, #0xf
1:  wfe
    b       1b

/* 16 entries of 0x80 bytes: x0 = entry number, then Rust (which never returns). */
.macro vector_entry num
    .balign 0x80
    mov     x0, #\num
    b       vector_common
.endm

.balign 2048
.global client_vectors
client_vectors:
    vector_entry 0
    vector_entry 1
    vector_entry 2
    vector_entry 3
    vector_entry 4
    vector_entry 5
    vector_entry 6
    vector_entry 7
    vector_entry 8
    vector_entry 9
    vector_entry 10
    vector_entry 11
    vector_entry 12
    vector_entry 13
    vector_entry 14
    vector_entry 15

vector_common:
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    bl      unexpected_exception            /* never returns */
    b       park_forever
