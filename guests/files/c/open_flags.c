/* open(2) flags: O_CREAT|O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, writing a read-only fd,
 * reading a write-only fd, opening a directory for writing. */
#include "ft.h"

int
main(int argc, char **argv)
{
    int fd;
    char c;

    ft_init(argc, argv);
    fd = SHOWFD(open(P("excl.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644));
    if (fd >= 0)
        close(fd);
    SHOWFD(open(P("excl.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644));
    SHOWFD(open(P("absent.txt"), O_RDONLY));
    fd = SHOWFD(open(P("b.txt"), O_WRONLY | O_TRUNC));
    if (fd >= 0)
        close(fd);
    cat(P("b.txt"));
    SHOWFD(open(P("a.txt"), O_RDONLY | O_DIRECTORY));
    fd = SHOWFD(open(P("sub"), O_RDONLY | O_DIRECTORY));
    if (fd >= 0)
        close(fd);
    SHOWFD(open(P("sub"), O_WRONLY));
    SHOWFD(open(P("sub"), O_RDWR));
    SHOWFD(open(P("link_in"), O_RDONLY | O_NOFOLLOW));
    fd = SHOWFD(open(P("a.txt"), O_RDONLY));
    if (fd >= 0) {
        SHOW(write(fd, "x", 1));
        close(fd);
    }
    fd = SHOWFD(open(P("a.txt"), O_WRONLY));
    if (fd >= 0) {
        SHOW(read(fd, &c, 1));
        close(fd);
    }
    SHOWFD(open(P("nodir/file"), O_WRONLY | O_CREAT, 0644));
    SHOWFD(open(P("a.txt/file"), O_WRONLY | O_CREAT, 0644));
    SHOWFD(open(P(""), O_RDONLY));
    list_dir(ft_base);
    return ft_exit();
}
