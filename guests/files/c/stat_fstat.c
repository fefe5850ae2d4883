/* stat/lstat/fstat: types and sizes of files, dirs and links; errors for missing paths. */
#include "ft.h"

static void
st(const char *path, int follow)
{
    struct stat s;
    int r = follow ? stat(path, &s) : lstat(path, &s);
    if (r != 0) {
        printf("%s %s: %s(%d)\n", follow ? "stat" : "lstat", path, errname(errno), errno);
        errno = 0;
        return;
    }
    printf("%s %s: %s", follow ? "stat" : "lstat", path,
           S_ISREG(s.st_mode) ? "file" : S_ISDIR(s.st_mode) ? "dir" : S_ISLNK(s.st_mode) ? "symlink"
                                                                   : "other");
    if (S_ISREG(s.st_mode))
        printf(" size %lld nlink %llu", (long long)s.st_size, (unsigned long long)s.st_nlink);
    printf("\n");
}

int
main(int argc, char **argv)
{
    struct stat s1, s2;
    int fd;

    ft_init(argc, argv);
    st(P("a.txt"), 1);
    st(P("data.bin"), 1);
    st(P("sub"), 1);
    st(P("sub/deep/d.txt"), 1);
    st(P("link_in"), 0);
    st(P("link_in"), 1);
    st(P("link_dir"), 1);
    st(P("link_out"), 0);
    st(P("link_out"), 1);
    st(P("missing"), 1);
    st(P("a.txt/x"), 1);
    st(ft_base, 1);
    fd = open(P("grow.txt"), O_CREAT | O_RDWR, 0644);
    EXPECT(fd >= 0);
    EXPECT(fstat(fd, &s1) == 0 && s1.st_size == 0);
    SHOW(write(fd, "0123456789", 10));
    EXPECT(fstat(fd, &s2) == 0 && s2.st_size == 10);
    printf("fstat grow.txt: %lld -> %lld, same ino %d, S_ISREG %d\n", (long long)s1.st_size,
           (long long)s2.st_size, s1.st_ino == s2.st_ino, S_ISREG(s2.st_mode) != 0);
    close(fd);
    EXPECT(stat(P("grow.txt"), &s1) == 0 && s1.st_ino == s2.st_ino);
    return ft_exit();
}
