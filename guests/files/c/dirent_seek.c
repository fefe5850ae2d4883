/* readdir cookies: rewinddir gives the same entries again; telldir at the start and seekdir
 * back to it restart the listing; a listing spanning several fd_readdir calls (300 entries
 * with long names, more than wasi-libc's first 4 KiB buffer) loses and repeats nothing.
 * telldir values from the middle of a listing are not used: wasi-libc returns the 64-bit
 * WASI cookie as a 32-bit long, and iwasm passes the cookie to the host's seekdir, so the
 * result depends on the host filesystem. */
#include "ft.h"

static int
collect(DIR *d, char names[][80], int max)
{
    struct dirent *e;
    int n = 0;
    while (n < max && (e = readdir(d))) {
        memset(names[n], 0, 80);
        snprintf(names[n++], 80, "%s", e->d_name);
    }
    return n;
}

static int
cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static char first[400][80], again[400][80];

int
main(int argc, char **argv)
{
    int n1, n2, i, dup = 0;
    long start;
    DIR *d;
    char name[128];

    ft_init(argc, argv);
    EXPECT(SHOW(mkdir(P("dir"), 0755)) == 0);
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "dir/entry-with-a-rather-long-name-number-%03d", i);
        EXPECT(write_file(P(name), name, strlen(name)) > 0);
    }
    d = opendir(P("dir"));
    EXPECT(d != NULL);
    if (!d)
        return ft_exit();
    start = telldir(d);
    printf("telldir at start: %ld\n", start);
    n1 = collect(d, first, 400);
    rewinddir(d);
    n2 = collect(d, again, 400);
    qsort(first, n1, 80, cmp);
    qsort(again, n2, 80, cmp);
    printf("first pass %d entries, after rewinddir %d, same set %d\n", n1, n2,
           n1 == n2 && !memcmp(first, again, (size_t)80 * n1));
    EXPECT(n1 == 302 && n2 == n1 && !memcmp(first, again, (size_t)80 * n1));
    for (i = 1; i < n1; i++)
        dup += !strcmp(first[i], first[i - 1]);
    printf("duplicates %d, first %s %s %s, last %s\n", dup, first[0], first[1], first[2],
           first[n1 - 1]);
    EXPECT(dup == 0);
    seekdir(d, start);
    n2 = collect(d, again, 400);
    printf("after seekdir(start): %d entries\n", n2);
    EXPECT(n2 == n1);
    closedir(d);
    return ft_exit();
}
