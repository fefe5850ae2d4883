/* stdio on files: fprintf/fscanf round trip, getline, ungetc, fgetpos/fsetpos, freopen,
 * setvbuf with a tiny buffer, ferror on a read-only stream (tmpfile does not exist in
 * wasi-libc). */
#include "ft.h"

int
main(int argc, char **argv)
{
    FILE *f;
    int a = 0, b = 0, c;
    double x = 0;
    char word[32] = { 0 }, *line = NULL;
    size_t cap = 0;
    ssize_t len;
    fpos_t pos;

    ft_init(argc, argv);
    f = fopen(P("nums.txt"), "w");
    EXPECT(f != NULL);
    if (!f)
        return ft_exit();
    setvbuf(f, NULL, _IOFBF, 4);
    fprintf(f, "%d %d %.3f %s\n", 17, -4, 2.5, "word");
    fprintf(f, "second line\nthird\n");
    fclose(f);
    f = fopen(P("nums.txt"), "r");
    EXPECT(f && fscanf(f, "%d %d %lf %31s", &a, &b, &x, word) == 4);
    printf("fscanf: %d %d %.3f %s\n", a, b, x, word);
    c = fgetc(f);
    EXPECT(c == '\n');
    EXPECT(fgetpos(f, &pos) == 0);
    c = fgetc(f);
    ungetc('S', f);
    len = getline(&line, &cap, f);
    printf("after ungetc: %zd [%.*s] (first was %c)\n", len, (int)len - 1, line, c);
    EXPECT(fsetpos(f, &pos) == 0);
    len = getline(&line, &cap, f);
    printf("after fsetpos: %zd [%.*s]\n", len, (int)len - 1, line);
    while ((len = getline(&line, &cap, f)) > 0)
        printf("getline: [%.*s]\n", (int)len - 1, line);
    printf("feof %d ferror %d\n", feof(f) != 0, ferror(f) != 0);
    fputc('x', f);
    printf("fputc on read stream: ferror %d\n", ferror(f) != 0);
    f = freopen(P("a.txt"), "r", f);
    EXPECT(f != NULL);
    len = f ? getline(&line, &cap, f) : -1;
    printf("freopen a.txt: %zd [%.*s]\n", len, len > 0 ? (int)len - 1 : 0, line);
    if (f)
        fclose(f);
    free(line);
    return ft_exit();
}
