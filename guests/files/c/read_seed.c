/* Reads the seed files: whole files with fread, lines with fgets, a binary file byte by byte. */
#include "ft.h"

int
main(int argc, char **argv)
{
    char line[128];
    unsigned char bin[300];
    FILE *f;
    size_t n;
    int lines = 0;

    ft_init(argc, argv);
    cat(P("a.txt"));
    cat(P("b.txt"));
    cat(P("sub/deep/d.txt"));
    f = fopen(P("sub/c.txt"), "r");
    EXPECT(f != NULL);
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        printf("c.txt line %d: [%s]\n", ++lines, line);
    }
    if (f)
        fclose(f);
    EXPECT(lines == 3);
    f = fopen(P("data.bin"), "rb");
    EXPECT(f != NULL);
    if (f) {
        n = fread(bin, 1, sizeof(bin), f);
        printf("data.bin: %zu bytes, first %u last %u, fnv %016llx, feof %d\n", n, bin[0],
               bin[n - 1], (unsigned long long)fnv1a(bin, n, FNV_INIT), feof(f) != 0);
        EXPECT(n == 256 && bin[0] == 0 && bin[255] == 255);
        fclose(f);
    }
    cat(P("missing.txt"));
    return ft_exit();
}
