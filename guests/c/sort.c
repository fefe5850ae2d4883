/* sort: sorts 200000 pseudo-random integers with qsort and with a merge sort (malloc'd
 * buffers), checks both agree and prints a checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void msort(uint32_t *a, uint32_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t m = n / 2, i = 0, j = m, k = 0;
    msort(a, tmp, m);
    msort(a + m, tmp, n - m);
    while (i < m && j < n)
        tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < m)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

int main(void)
{
    const size_t n = 200000;
    uint32_t *a = malloc(n * 4), *b = malloc(n * 4), *t = malloc(n * 4);
    if (!a || !b || !t) {
        fprintf(stderr, "malloc failed\n");
        return 1;
    }
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        a[i] = b[i] = x;
    }
    qsort(a, n, 4, cmp);
    msort(b, t, n);
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            printf("mismatch at %zu\n", i);
            return 1;
        }
        if (i && a[i - 1] > a[i]) {
            printf("not sorted at %zu\n", i);
            return 1;
        }
        h = h * 1000003u + a[i];
    }
    printf("sorted %zu: min=%u max=%u median=%u checksum=%016llx\n", n, a[0], a[n - 1], a[n / 2],
           (unsigned long long)h);
    free(a); free(b); free(t);
    return 0;
}
