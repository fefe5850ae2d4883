/* Symlinks: creating links inside the directory, pointing up (..), absolute and dangling;
 * readlink; following them with open and stat; the seed's host-made links (link_in -> a.txt,
 * link_dir -> sub, link_out -> ../outside.txt, link_abs -> /etc/passwd). */
#include "ft.h"

static void
rl(const char *path)
{
    char buf[128];
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n < 0) {
        printf("readlink %s: %s(%d)\n", path, errname(errno), errno);
        errno = 0;
        return;
    }
    buf[n] = 0;
    printf("readlink %s: %s\n", path, buf);
}

int
main(int argc, char **argv)
{
    ft_init(argc, argv);
    rl(P("link_in"));
    rl(P("link_out"));
    rl(P("link_abs"));
    rl(P("link_dir"));
    rl(P("a.txt"));
    cat(P("link_in"));
    cat(P("link_out"));
    cat(P("link_abs"));
    cat(P("link_dir/c.txt"));
    list_dir(P("link_dir"));
    EXPECT(SHOW(symlink("a.txt", P("s_in"))) == 0);
    rl(P("s_in"));
    cat(P("s_in"));
    SHOW(symlink("sub/deep/d.txt", P("s_deep")));
    cat(P("s_deep"));
    SHOW(symlink("../outside.txt", P("s_up")));
    rl(P("s_up"));
    cat(P("s_up"));
    SHOW(symlink("/etc/passwd", P("s_abs")));
    cat(P("s_abs"));
    SHOW(symlink("nothing-here", P("s_dangling")));
    cat(P("s_dangling"));
    SHOW(symlink("a.txt", P("b.txt")));
    SHOW(symlink("s_loop2", P("s_loop1")));
    SHOW(symlink("s_loop1", P("s_loop2")));
    cat(P("s_loop1"));
    /* Writing through a link writes the target. */
    {
        FILE *f = fopen(P("s_in"), "a");
        SHOW(f ? 0 : -1);
        if (f) {
            fputs("via link\n", f);
            fclose(f);
        }
    }
    cat(P("a.txt"));
    list_dir(ft_base);
    return ft_exit();
}
