/* mkdir/rmdir: nested creation, EEXIST, ENOTEMPTY, ENOENT, rmdir of a file. */
#include "ft.h"

int
main(int argc, char **argv)
{
    ft_init(argc, argv);
    EXPECT(SHOW(mkdir(P("d1"), 0755)) == 0);
    EXPECT(SHOW(mkdir(P("d1"), 0755)) < 0);
    EXPECT(SHOW(mkdir(P("d1/d2"), 0755)) == 0);
    EXPECT(SHOW(mkdir(P("d1/d2/d3"), 0755)) == 0);
    SHOW(mkdir(P("x/y/z"), 0755));
    SHOW(mkdir(P("a.txt"), 0755));
    SHOW(mkdir(P("a.txt/sub"), 0755));
    EXPECT(SHOW(write_file(P("d1/d2/f.txt"), "f", 1)) == 1);
    list_tree(P("d1"));
    SHOW(rmdir(P("d1")));
    SHOW(rmdir(P("d1/d2")));
    EXPECT(SHOW(rmdir(P("d1/d2/d3"))) == 0);
    SHOW(rmdir(P("d1/d2/f.txt")));
    EXPECT(SHOW(unlink(P("d1/d2/f.txt"))) == 0);
    EXPECT(SHOW(rmdir(P("d1/d2"))) == 0);
    SHOW(rmdir(P("d1/d2")));
    EXPECT(SHOW(mkdir(P("keep"), 0755)) == 0);
    EXPECT(SHOW(mkdir(P("keep/inner/"), 0755)) == 0);
    SHOW(rmdir(P("sub/deep/")));
    SHOW(rmdir(P(".")));
    list_tree(ft_base);
    return ft_exit();
}
