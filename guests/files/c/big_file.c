/* 1 MiB written in uneven chunks and read back, checksummed (FNV-1a); then a 3 MiB file
 * written with one fwrite. */
#include "ft.h"

int
main(int argc, char **argv)
{
    static unsigned char buf[3 << 20];
    static const size_t chunks[] = { 1, 7, 4096, 65536, 100000, 3, 12345 };
    size_t total = 0, i = 0, n;
    uint64_t h = FNV_INIT, h2 = FNV_INIT;
    FILE *f;
    struct stat st;

    ft_init(argc, argv);
    for (n = 0; n < sizeof(buf); n++)
        buf[n] = (unsigned char)(n * 31 + (n >> 11));
    f = fopen(P("big.bin"), "wb");
    EXPECT(f != NULL);
    if (!f)
        return ft_exit();
    while (total < (1u << 20)) {
        size_t c = chunks[i++ % 7];
        if (c > (1u << 20) - total)
            c = (1u << 20) - total;
        EXPECT(fwrite(buf + total, 1, c, f) == c);
        total += c;
    }
    fclose(f);
    h = fnv1a(buf, 1u << 20, h);
    EXPECT(stat(P("big.bin"), &st) == 0 && st.st_size == (1 << 20));
    f = fopen(P("big.bin"), "rb");
    EXPECT(f != NULL);
    memset(buf, 0, 1u << 20);
    n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    h2 = fnv1a(buf, n, h2);
    printf("big.bin: wrote %zu read %zu fnv %016llx %s\n", total, n, (unsigned long long)h,
           h == h2 ? "equal" : "DIFFERENT");
    EXPECT(n == total && h == h2);
    for (n = 0; n < sizeof(buf); n++)
        buf[n] = (unsigned char)(n ^ (n >> 8));
    EXPECT(SHOW(write_file(P("big3.bin"), (char *)buf, sizeof(buf))) == (long)sizeof(buf));
    printf("big3.bin fnv %016llx\n", (unsigned long long)fnv1a(buf, sizeof(buf), FNV_INIT));
    return ft_exit();
}
