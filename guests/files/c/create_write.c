/* Creates files with stdio (fopen "w"/"wb"/"w+"), writes, reads them back, lists the dir. */
#include "ft.h"

int
main(int argc, char **argv)
{
    const char *msg = "hello, files\nsecond line\n";
    char buf[128] = { 0 };
    FILE *f;
    size_t n;

    ft_init(argc, argv);
    EXPECT(SHOW(write_file(P("new.txt"), msg, strlen(msg))) == (long)strlen(msg));
    cat(P("new.txt"));

    f = fopen(P("rw.txt"), "w+");
    EXPECT(f != NULL);
    if (f) {
        EXPECT(fputs("abcdef", f) >= 0);
        EXPECT(fprintf(f, "-%d-%s", 42, "xyz") == 7);
        rewind(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        printf("w+ read back %zu: %s\n", n, buf);
        EXPECT(n == 13 && !strcmp(buf, "abcdef-42-xyz"));
        fclose(f);
    }
    /* "w" truncates an existing file. */
    EXPECT(SHOW(write_file(P("new.txt"), "short", 5)) == 5);
    cat(P("new.txt"));
    /* An empty file. */
    f = fopen(P("empty.txt"), "w");
    EXPECT(f != NULL);
    if (f)
        fclose(f);
    cat(P("empty.txt"));
    list_dir(ft_base);
    return ft_exit();
}
