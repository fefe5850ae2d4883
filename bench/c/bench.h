/* bench.h: what every tzwasm benchmark workload shares (owned by bench/): the size argument,
 * a deterministic generator and the checksum line. Each workload is a WASI command and a
 * static Linux program from the same source; it prints exactly one line,
 * "checksum <name> <hex>", which must be identical in every configuration. */
#ifndef TZWASM_BENCH_H
#define TZWASM_BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* argv[1]: the size (work units); the default is the full-size run. */
static inline long bench_size(int argc, char **argv, long dflt)
{
    if (argc > 1) {
        long n = strtol(argv[1], NULL, 10);
        if (n > 0)
            return n;
    }
    return dflt;
}

/* xorshift64*: the same sequence everywhere. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t bench_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static inline void bench_report(const char *name, uint64_t sum)
{
    printf("checksum %s %016llx\n", name, (unsigned long long)sum);
}
#endif
