/* chdir/getcwd (emulated by wasi-libc over the preopens): relative paths after chdir, ".."
 * back up, chdir outside refused. */
#include "ft.h"

int
main(int argc, char **argv)
{
    char cwd[256];
    ft_init(argc, argv);
    printf("getcwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "(null)");
    EXPECT(SHOW(chdir(P("sub"))) == 0);
    printf("getcwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "(null)");
    cat("c.txt");
    cat("deep/d.txt");
    cat("../a.txt");
    EXPECT(SHOW(write_file("made-in-sub.txt", "s", 1)) == 1);
    EXPECT(SHOW(chdir("deep")) == 0);
    cat("../../b.txt");
    cat("../../../outside.txt");
    SHOW(chdir("../../.."));
    printf("getcwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "(null)");
    SHOW(chdir("/nonexistent"));
    SHOW(chdir(P("a.txt")));
    list_tree(ft_base);
    return ft_exit();
}
