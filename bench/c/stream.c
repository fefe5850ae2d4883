/* stream: memory-bound kernels after McCalpin's STREAM (copy, scale, add, triad) over three
 * arrays of 2 MiB doubles each (6 MiB, larger than the Cortex-A57's caches), repeated; the
 * checksum is the bit pattern of sampled sums. */
#include <string.h>
#include "bench.h"

#define N (256 * 1024)

int main(int argc, char **argv)
{
    long reps = bench_size(argc, argv, 120);
    double *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double)),
           *c = malloc(N * sizeof(double));
    if (!a || !b || !c) {
        fputs("stream: out of memory\n", stderr);
        return 1;
    }
    for (long i = 0; i < N; i++) {
        a[i] = 1.0 + (double)(i & 1023) / 1024.0;
        b[i] = 2.0;
        c[i] = 0.0;
    }
    const double q = 3.0;
    uint64_t sum = 0;
    for (long r = 0; r < reps; r++) {
        for (long i = 0; i < N; i++) c[i] = a[i];
        for (long i = 0; i < N; i++) b[i] = q * c[i];
        for (long i = 0; i < N; i++) c[i] = a[i] + b[i];
        for (long i = 0; i < N; i++) a[i] = b[i] + q * c[i];
        double s = a[r % N] + b[(r * 31) % N] + c[(r * 97) % N];
        uint64_t u;
        memcpy(&u, &s, 8);
        sum = bench_mix(sum, u);
        /* keep the values bounded */
        for (long i = 0; i < N; i += 4096) a[i] *= 0.0625;
        if (a[5] > 1e100) for (long i = 0; i < N; i++) a[i] = 1.0;
    }
    free(a); free(b); free(c);
    bench_report("stream", sum);
    return 0;
}
