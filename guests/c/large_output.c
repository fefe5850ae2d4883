/* large_output: writes 1.5 MiB of deterministic text to stdout and 64 KiB to stderr,
 * then a checksum line; exercises fd_write with many and large iovecs. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    static char line[97];
    unsigned long long total = 0;
    unsigned h = 2166136261u;
    for (int i = 0; i < 16384; i++) {
        int n = snprintf(line, sizeof line, "%06d ", i);
        while (n < 95) {
            line[n] = (char)('!' + (i * 7 + n) % 90);
            n++;
        }
        line[n++] = '\n';
        line[n] = 0;
        fwrite(line, 1, (size_t)n, stdout);
        for (int k = 0; k < n; k++)
            h = (h ^ (unsigned char)line[k]) * 16777619u;
        total += (unsigned long long)n;
    }
    for (int i = 0; i < 1024; i++)
        fprintf(stderr, "stderr line %04d .................................................\n", i);
    printf("total=%llu fnv1a=%08x\n", total, h);
    return 0;
}
