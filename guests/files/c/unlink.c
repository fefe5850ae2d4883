/* unlink: files, missing files, directories, symlinks (the link goes, not the target), and
 * an open file that is unlinked stays readable through its descriptor. */
#include "ft.h"

int
main(int argc, char **argv)
{
    int fd;
    char buf[32] = { 0 };

    ft_init(argc, argv);
    EXPECT(SHOW(unlink(P("b.txt"))) == 0);
    SHOW(unlink(P("b.txt")));
    SHOW(unlink(P("sub")));
    SHOW(unlink(P("sub/")));
    EXPECT(SHOW(unlink(P("link_in"))) == 0);
    cat(P("a.txt"));
    EXPECT(SHOW(unlink(P("link_out"))) == 0);
    SHOW(remove(P("sub/deep/d.txt")));
    SHOW(remove(P("sub/deep")));
    fd = open(P("sub/c.txt"), O_RDONLY);
    EXPECT(fd >= 0);
    EXPECT(SHOW(unlink(P("sub/c.txt"))) == 0);
    SHOW(read(fd, buf, 8));
    printf("read after unlink: [%s]\n", buf);
    close(fd);
    cat(P("sub/c.txt"));
    list_tree(ft_base);
    return ft_exit();
}
