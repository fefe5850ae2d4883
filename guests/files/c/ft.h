/*
 * Helpers shared by the guests/files/c programs (file corpus of issue 13). Every program gets
 * its base directory (the preopen's guest name, e.g. "data", "/sandbox" or ".") as argv[1]
 * and builds its paths under it with P(). Output is deterministic: directory listings are
 * sorted, no inode numbers, directory sizes, link counts of directories or unset timestamps
 * are printed. Errors print the wasi-libc errno number and its name.
 *
 * Exit code: the number of failed EXPECT()s (0 = every expectation held), capped at 100.
 */
#ifndef FT_H
#define FT_H
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Not every program uses every helper. */
#pragma clang diagnostic ignored "-Wunused-function"

static const char *ft_base = ".";
static int ft_failures;

/* Path "<base>/<rel>" in one of 8 rotating buffers (several may be live in one call). */
static const char *
P(const char *rel)
{
    static char bufs[8][512];
    static unsigned n;
    char *b = bufs[n++ % 8];
    if (rel[0] == '/' || !strcmp(ft_base, "."))
        snprintf(b, 512, "%s", rel);
    else
        snprintf(b, 512, "%s%s%s", ft_base,
                 ft_base[strlen(ft_base) - 1] == '/' ? "" : "/", rel);
    return b;
}

static const char *
errname(int e)
{
    switch (e) {
    case 0: return "OK";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTSUP: return "ENOTSUP";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case EFBIG: return "EFBIG";
    case EMLINK: return "EMLINK";
    case EBUSY: return "EBUSY";
    default: return "E?";
    }
}

/* Prints "<what> -> <r>" or "<what> -> -1 <ERRNAME>(<n>)"; returns r. */
static long
show(const char *what, long r)
{
    if (r < 0)
        printf("%s -> %ld %s(%d)\n", what, r, errname(errno), errno);
    else
        printf("%s -> %ld\n", what, r);
    errno = 0;
    return r;
}
#define SHOW(expr) show(#expr, (long)(expr))

/* For calls returning a descriptor: WAMR hands out random descriptor numbers, so success
 * prints "fd" instead of the number. Returns the descriptor (or -1). */
static int
showfd(const char *what, int fd)
{
    if (fd < 0)
        printf("%s -> -1 %s(%d)\n", what, errname(errno), errno);
    else
        printf("%s -> fd\n", what);
    errno = 0;
    return fd;
}
#define SHOWFD(expr) showfd(#expr, (expr))

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("EXPECT FAILED line %d: %s\n", __LINE__, #cond);                        \
            ft_failures++;                                                                 \
        }                                                                                  \
    } while (0)

static int
ft_exit(void)
{
    fflush(stdout);
    return ft_failures > 100 ? 100 : ft_failures;
}

static void
ft_init(int argc, char **argv)
{
    if (argc > 1)
        ft_base = argv[1];
    errno = 0;
}

/* Whole-file helpers. */
static long
write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    size_t n;
    if (!f)
        return -1;
    n = fwrite(data, 1, len, f);
    if (fclose(f) != 0)
        return -1;
    return (long)n;
}

/* Prints the file's size and contents (escaped), or the errno. */
static void
cat(const char *path)
{
    FILE *f = fopen(path, "rb");
    int c;
    long n = 0;
    if (!f) {
        printf("cat %s: %s(%d)\n", path, errname(errno), errno);
        errno = 0;
        return;
    }
    printf("cat %s: \"", path);
    while ((c = fgetc(f)) != EOF) {
        n++;
        if (c == '\n')
            printf("\\n");
        else if (c < 32 || c > 126)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\" (%ld bytes)\n", n);
    fclose(f);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted listing of one directory: "  <name> <type> [size]" (size for regular files only). */
static int
list_dir_depth(const char *path, int recursive, int depth)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char *names[512];
    int n = 0, i;
    if (!d) {
        printf("%*slist %s: %s(%d)\n", depth * 2, "", path, errname(errno), errno);
        errno = 0;
        return -1;
    }
    while ((e = readdir(d)) && n < 512) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    if (depth == 0)
        printf("list %s: %d entries\n", path, n);
    for (i = 0; i < n; i++) {
        char full[512];
        struct stat st;
        snprintf(full, sizeof(full), "%s/%s", path, names[i]);
        if (lstat(full, &st) != 0) {
            printf("%*s  %s ? %s\n", depth * 2, "", names[i], errname(errno));
            errno = 0;
        }
        else if (S_ISDIR(st.st_mode)) {
            printf("%*s  %s/ dir\n", depth * 2, "", names[i]);
            if (recursive)
                list_dir_depth(full, 1, depth + 1);
        }
        else if (S_ISLNK(st.st_mode))
            printf("%*s  %s symlink\n", depth * 2, "", names[i]);
        else if (S_ISREG(st.st_mode))
            printf("%*s  %s file %lld\n", depth * 2, "", names[i], (long long)st.st_size);
        else
            printf("%*s  %s other\n", depth * 2, "", names[i]);
        free(names[i]);
    }
    return n;
}
static int list_dir(const char *path) { return list_dir_depth(path, 0, 0); }
static int list_tree(const char *path) { return list_dir_depth(path, 1, 0); }

static uint64_t
fnv1a(const unsigned char *p, size_t n, uint64_t h)
{
    while (n--)
        h = (h ^ *p++) * 0x100000001b3ULL;
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

#endif
