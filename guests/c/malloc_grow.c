/* malloc_grow: allocates 1 MiB blocks (memory.grow through dlmalloc) until 64 MiB, touches
 * every page, frees and reallocates; prints memory sizes seen by the guest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    enum { BLOCKS = 64, SZ = 1 << 20 };
    unsigned char *p[BLOCKS];
    printf("pages at start: %zu\n", __builtin_wasm_memory_size(0));
    unsigned long sum = 0;
    for (int i = 0; i < BLOCKS; i++) {
        p[i] = malloc(SZ);
        if (!p[i]) {
            printf("malloc %d failed\n", i);
            return 1;
        }
        for (int k = 0; k < SZ; k += 4096)
            p[i][k] = (unsigned char)(i + k / 4096);
    }
    printf("pages after 64 MiB: %zu\n", __builtin_wasm_memory_size(0));
    for (int i = 0; i < BLOCKS; i++) {
        for (int k = 0; k < SZ; k += 4096)
            sum += p[i][k];
        free(p[i]);
    }
    void *big = malloc(48u << 20);
    printf("sum=%lu realloc-after-free=%s\n", sum, big ? "ok" : "failed");
    free(big);
    /* Far more than wasm32 can address: must fail cleanly, not trap. */
    void *huge = malloc(0xFFFFF000u);
    printf("malloc(~4 GiB)=%s\n", huge ? "non-null" : "NULL");
    return 0;
}
