/* matmul: dense single-precision matrix multiply (i-k-j order, 192x192), repeated; the
 * checksum is the bit pattern of a sum over the result (IEEE, no fused multiply-add). */
#include <string.h>
#include "bench.h"

#define N 192
static float a[N][N], b[N][N], c[N][N];

int main(int argc, char **argv)
{
    long reps = bench_size(argc, argv, 28);
    uint64_t seed = 42, sum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (float)(int)(bench_rand(&seed) % 2001 - 1000) / 1024.0f;
            b[i][j] = (float)(int)(bench_rand(&seed) % 2001 - 1000) / 1024.0f;
        }
    for (long r = 0; r < reps; r++) {
        memset(c, 0, sizeof c);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                float aik = a[i][k];
                for (int j = 0; j < N; j++)
                    c[i][j] += aik * b[k][j];
            }
        float s = 0;
        for (int i = 0; i < N; i++)
            s += c[i][(i + r) % N];
        uint32_t bits;
        memcpy(&bits, &s, 4);
        sum = bench_mix(sum, bits);
        a[r % N][(r * 7) % N] += 0.5f;
    }
    bench_report("matmul", sum);
    return 0;
}
