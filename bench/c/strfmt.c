/* strfmt: string formatting and parsing through libc: snprintf of integers, hex, strings and
 * doubles, then sscanf, strtol, strtod, strchr and strcmp on the result; the checksum mixes
 * the lengths and the values parsed back. */
#include <string.h>
#include "bench.h"

static const char *words[8] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"};

int main(int argc, char **argv)
{
    long iters = bench_size(argc, argv, 96) * 1000;
    uint64_t seed = 5, sum = 0;
    char line[160], word[32];
    for (long it = 0; it < iters; it++) {
        uint64_t r = bench_rand(&seed);
        int i1 = (int)(r & 0xfffff) - 0x80000;
        unsigned u = (unsigned)(r >> 20);
        double d = (double)(int64_t)(r >> 30) / 1000.0;
        const char *w = words[r >> 61];
        int len = snprintf(line, sizeof line, "%d %#x %s %.3f %-6.4s|%08ld", i1, u, w, d, w, it);
        int p1 = 0;
        unsigned pu = 0;
        if (sscanf(line, "%d %x %31s", &p1, &pu, word) != 3) {
            fputs("strfmt: sscanf failed\n", stderr);
            return 1;
        }
        char *end;
        const char *bar = strchr(line, '|');
        long tail = strtol(bar + 1, &end, 10);
        const char *dp = strchr(strchr(line + strlen(word), ' ') + 1, ' ');
        double pd = strtod(strstr(line, word) + strlen(word), NULL);
        int c = strcmp(word, words[it & 7]);
        uint64_t pdbits;
        memcpy(&pdbits, &pd, 8);
        sum = bench_mix(sum, (uint64_t)len ^ (uint64_t)(uint32_t)p1 << 8 ^ (uint64_t)pu << 32);
        sum = bench_mix(sum, pdbits ^ (uint64_t)tail ^ (uint64_t)(c > 0) << 63 ^ (uint64_t)(dp - line));
    }
    bench_report("strfmt", sum);
    return 0;
}
