/* truncate/ftruncate: shrink, grow (zero fill), to 0; the offset is not moved. */
#include "ft.h"

int
main(int argc, char **argv)
{
    int fd;
    struct stat st;

    ft_init(argc, argv);
    EXPECT(SHOW(truncate(P("sub/c.txt"), 8)) == 0);
    cat(P("sub/c.txt"));
    EXPECT(SHOW(truncate(P("a.txt"), 10)) == 0);
    cat(P("a.txt"));
    SHOW(truncate(P("missing"), 1));
    SHOW(truncate(P("sub"), 1));
    fd = open(P("t.bin"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT(fd >= 0);
    SHOW(write(fd, "abcdefgh", 8));
    EXPECT(SHOW(ftruncate(fd, 3)) == 0);
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(write(fd, "Z", 1));
    EXPECT(fstat(fd, &st) == 0);
    printf("t.bin size %lld\n", (long long)st.st_size);
    EXPECT(SHOW(ftruncate(fd, 0)) == 0);
    EXPECT(fstat(fd, &st) == 0 && st.st_size == 0);
    SHOW(ftruncate(fd, -1));
    close(fd);
    cat(P("t.bin"));
    fd = open(P("b.txt"), O_RDONLY);
    SHOW(ftruncate(fd, 1));
    close(fd);
    cat(P("b.txt"));
    return ft_exit();
}
