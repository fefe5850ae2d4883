/* simd: wasm SIMD128 through clang's intrinsics: integer, float, shuffles, saturating ops. */
#include <stdint.h>
#include <stdio.h>
#include <wasm_simd128.h>

static void show(const char *name, v128_t v)
{
    uint32_t w[4];
    wasm_v128_store(w, v);
    printf("%-10s %08x %08x %08x %08x\n", name, w[0], w[1], w[2], w[3]);
}

static float data[1024];

int main(void)
{
    v128_t a = wasm_i32x4_make(1, -2, 0x7fffffff, (int32_t)0x80000000);
    v128_t b = wasm_i32x4_make(10, 20, 1, -1);
    show("i32 add", wasm_i32x4_add(a, b));
    show("i32 mul", wasm_i32x4_mul(a, b));
    show("i32 min", wasm_i32x4_min(a, b));
    show("i16 addsat", wasm_i16x8_add_sat(wasm_i16x8_splat(30000), wasm_i16x8_splat(10000)));
    show("u8 subsat", wasm_u8x16_sub_sat(wasm_u8x16_splat(5), wasm_u8x16_splat(9)));
    show("shuffle", wasm_i8x16_shuffle(a, b, 0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31));
    show("swizzle", wasm_i8x16_swizzle(a, wasm_i8x16_make(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 99)));
    show("f32 mul", wasm_f32x4_mul(wasm_f32x4_make(1.5f, -2.0f, 1e30f, 0.1f), wasm_f32x4_splat(3.0f)));
    show("f32 sqrt", wasm_f32x4_sqrt(wasm_f32x4_make(2.0f, 9.0f, -1.0f, 0.0f)));
    show("f64 div", wasm_f64x2_div(wasm_f64x2_make(1.0, -8.0), wasm_f64x2_make(3.0, 0.0)));
    show("trunc sat", wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_make(1e10f, -1e10f, 2.7f, -2.7f)));
    show("bitselect", wasm_v128_bitselect(a, b, wasm_i32x4_splat(0x0f0f0f0f)));
    printf("any_true=%d all_true=%d bitmask=%x\n", wasm_v128_any_true(a), wasm_i32x4_all_true(b),
           wasm_i8x16_bitmask(a));
    for (int i = 0; i < 1024; i++)
        data[i] = (float)(i % 17) * 0.25f - 1.0f;
    v128_t acc = wasm_f32x4_splat(0);
    for (int i = 0; i < 1024; i += 4)
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(&data[i]), wasm_v128_load(&data[i])));
    float s[4];
    wasm_v128_store(s, acc);
    printf("dot=%.6f\n", (double)(s[0] + s[1] + s[2] + s[3]));
    return 0;
}
