/* Paths with "..": inside the directory they resolve, past its root they are refused. */
#include "ft.h"

int
main(int argc, char **argv)
{
    ft_init(argc, argv);
    cat(P("sub/../a.txt"));
    cat(P("sub/deep/../../b.txt"));
    cat(P("sub/./deep/./d.txt"));
    cat(P("../outside.txt"));
    cat(P("sub/../../outside.txt"));
    cat(P("sub/deep/../../../outside.txt"));
    cat(P(".."));
    SHOW(write_file(P("../escape.txt"), "x", 1));
    SHOW(write_file(P("sub/../../escape.txt"), "x", 1));
    SHOW(mkdir(P("../escape_dir"), 0755));
    SHOW(rename(P("a.txt"), P("../a.txt")));
    SHOW(unlink(P("../outside.txt")));
    SHOW(opendir(P("..")) ? 0 : -1);
    SHOW(write_file(P("sub/../inside.txt"), "in", 2));
    cat(P("inside.txt"));
    list_dir(ft_base);
    return ft_exit();
}
