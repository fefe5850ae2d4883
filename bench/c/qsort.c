/* qsort: libc qsort of SIZE Ki 32-bit keys (with a payload) through a comparison callback,
 * three rounds; the checksum mixes sampled sorted keys and payloads. */
#include "bench.h"

struct rec {
    uint32_t key;
    uint32_t idx;
};

static int cmp(const void *pa, const void *pb)
{
    const struct rec *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int main(int argc, char **argv)
{
    long n = bench_size(argc, argv, 300) * 1024;
    struct rec *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        fputs("qsort: out of memory\n", stderr);
        return 1;
    }
    uint64_t seed = 99, sum = 0;
    for (int round = 0; round < 3; round++) {
        for (long i = 0; i < n; i++) {
            v[i].key = (uint32_t)(bench_rand(&seed) >> 40);
            v[i].idx = (uint32_t)i;
        }
        qsort(v, (size_t)n, sizeof *v, cmp);
        for (long i = 0; i < n; i += 97)
            sum = bench_mix(sum, (uint64_t)v[i].key << 32 | v[i].idx);
    }
    free(v);
    bench_report("qsort", sum);
    return 0;
}
