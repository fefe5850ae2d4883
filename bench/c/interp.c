/* interp: a small bytecode interpreter whose dispatch is one indirect call per instruction
 * through a table of handlers (call_indirect in wasm). The program sieves primes, sums a
 * collatz walk and hashes as it goes; SIZE is the number of outer runs. */
#include "bench.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, AND, SHR, XOR, LT, JZ, JMP, DUP, DROP, HALT, MOD, NOPS };

struct vm {
    int64_t stack[64];
    int64_t regs[16];
    int sp;
    int pc;
    const int32_t *code;
};

typedef void (*op_fn)(struct vm *);

static void op_push(struct vm *v) { v->stack[v->sp++] = v->code[v->pc++]; }
static void op_load(struct vm *v) { v->stack[v->sp++] = v->regs[v->code[v->pc++]]; }
static void op_store(struct vm *v) { v->regs[v->code[v->pc++]] = v->stack[--v->sp]; }
static void op_add(struct vm *v) { v->sp--; v->stack[v->sp - 1] += v->stack[v->sp]; }
static void op_sub(struct vm *v) { v->sp--; v->stack[v->sp - 1] -= v->stack[v->sp]; }
static void op_mul(struct vm *v) { v->sp--; v->stack[v->sp - 1] *= v->stack[v->sp]; }
static void op_and(struct vm *v) { v->sp--; v->stack[v->sp - 1] &= v->stack[v->sp]; }
static void op_shr(struct vm *v) { v->sp--; v->stack[v->sp - 1] = (int64_t)((uint64_t)v->stack[v->sp - 1] >> (v->stack[v->sp] & 63)); }
static void op_xor(struct vm *v) { v->sp--; v->stack[v->sp - 1] ^= v->stack[v->sp]; }
static void op_lt(struct vm *v) { v->sp--; v->stack[v->sp - 1] = v->stack[v->sp - 1] < v->stack[v->sp]; }
static void op_jz(struct vm *v) { int32_t t = v->code[v->pc++]; if (v->stack[--v->sp] == 0) v->pc = t; }
static void op_jmp(struct vm *v) { v->pc = v->code[v->pc]; }
static void op_dup(struct vm *v) { v->stack[v->sp] = v->stack[v->sp - 1]; v->sp++; }
static void op_drop(struct vm *v) { v->sp--; }
static void op_halt(struct vm *v) { v->pc = -1; }
static void op_mod(struct vm *v) { v->sp--; v->stack[v->sp - 1] %= v->stack[v->sp]; }

static op_fn table[NOPS] = {op_push, op_load, op_store, op_add, op_sub, op_mul, op_and, op_shr,
                            op_xor, op_lt, op_jz, op_jmp, op_dup, op_drop, op_halt, op_mod};

/* r0 = i, r1 = n, r2 = acc, r3 = x (collatz value), r4 = steps */
static const int32_t program[] = {
    /* 0 */ PUSH, 1, STORE, 0,
    /* 4: loop: if !(i < n) halt */ LOAD, 0, LOAD, 1, LT, JZ, 60,
    /* 11: x = i * 7 + 3 */ LOAD, 0, PUSH, 7, MUL, PUSH, 3, ADD, STORE, 3,
    /* 21: inner: acc = (acc * 31) ^ x */ LOAD, 2, PUSH, 31, MUL, LOAD, 3, XOR, STORE, 2,
    /* 31: x = (x >> 1) ^ (x & 1); if x < 2 -> next */ LOAD, 3, PUSH, 1, SHR, LOAD, 3, PUSH, 1,
    /* 40 */ AND, XOR, DUP, STORE, 3, PUSH, 2, LT, JZ, 21,
    /* 50: i += 1 */ LOAD, 0, PUSH, 1, ADD, STORE, 0, JMP, 4, HALT,
    /* 60 */ HALT,
};

int main(int argc, char **argv)
{
    long runs = bench_size(argc, argv, 5);
    uint64_t sum = 0;
    for (long r = 0; r < runs; r++) {
        struct vm v = {.sp = 0, .pc = 0, .code = program};
        for (int i = 0; i < 16; i++) v.regs[i] = 0;
        v.regs[1] = 20000 + r;
        v.regs[2] = r;
        while (v.pc >= 0)
            table[v.code[v.pc++]](&v);
        sum = bench_mix(sum, (uint64_t)v.regs[2]);
    }
    bench_report("interp", sum);
    return 0;
}
