/* link(2) (path_link): a second name for a file; both names see writes; nlink counts;
 * unlinking one name keeps the other. Links to directories and across ".." are refused. */
#include "ft.h"

static void
nl(const char *path)
{
    struct stat s;
    if (stat(path, &s) == 0)
        printf("%s: nlink %llu size %lld\n", path, (unsigned long long)s.st_nlink,
               (long long)s.st_size);
    else {
        printf("%s: %s\n", path, errname(errno));
        errno = 0;
    }
}

int
main(int argc, char **argv)
{
    FILE *f;
    ft_init(argc, argv);
    SHOW(link(P("a.txt"), P("a-link.txt")));
    nl(P("a.txt"));
    nl(P("a-link.txt"));
    f = fopen(P("a-link.txt"), "a");
    if (f) {
        fputs("more\n", f);
        fclose(f);
    }
    cat(P("a.txt"));
    SHOW(unlink(P("a.txt")));
    nl(P("a-link.txt"));
    SHOW(link(P("sub"), P("sub-link")));
    SHOW(link(P("b.txt"), P("b.txt")));
    SHOW(link(P("missing"), P("m2")));
    SHOW(link(P("b.txt"), P("../b-outside.txt")));
    SHOW(link(P("b.txt"), P("sub/deep/b-deep.txt")));
    nl(P("sub/deep/b-deep.txt"));
    list_tree(ft_base);
    return ft_exit();
}
