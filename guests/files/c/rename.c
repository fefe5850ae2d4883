/* rename: file to new name, over an existing file, directories, into a subdirectory, missing
 * source, a directory onto a non-empty directory, a file onto a directory. */
#include "ft.h"

int
main(int argc, char **argv)
{
    ft_init(argc, argv);
    EXPECT(SHOW(rename(P("a.txt"), P("a2.txt"))) == 0);
    cat(P("a.txt"));
    cat(P("a2.txt"));
    EXPECT(SHOW(rename(P("b.txt"), P("a2.txt"))) == 0);
    cat(P("a2.txt"));
    EXPECT(SHOW(rename(P("a2.txt"), P("sub/moved.txt"))) == 0);
    EXPECT(SHOW(rename(P("sub/deep"), P("deep2"))) == 0);
    SHOW(rename(P("missing"), P("x")));
    EXPECT(SHOW(mkdir(P("empty"), 0755)) == 0);
    EXPECT(SHOW(rename(P("deep2"), P("empty"))) == 0);
    SHOW(rename(P("sub"), P("empty")));
    SHOW(rename(P("counter.txt"), P("sub")));
    SHOW(rename(P("sub"), P("counter.txt")));
    SHOW(rename(P("sub"), P("sub/inside")));
    EXPECT(SHOW(rename(P("counter.txt"), P("counter.txt"))) == 0);
    EXPECT(SHOW(rename(P("link_in"), P("link_renamed"))) == 0);
    cat(P("link_renamed"));
    list_tree(ft_base);
    return ft_exit();
}
