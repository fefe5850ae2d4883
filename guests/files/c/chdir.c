/* chdir/getcwd (emulated by wasi-libc over the preopens): relative paths after chdir, ".."
 * back up, chdir outside refused, chdir to a file, back to the base by absolute name. */
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
    SHOW(chdir("../../a.txt"));
    /* Back to the base by its absolute name (relative names now start at sub/deep). */
    snprintf(cwd, sizeof(cwd), "/%s", ft_base[0] == '/' ? ft_base + 1 : ft_base);
    EXPECT(SHOW(chdir(cwd)) == 0);
    printf("getcwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "(null)");
    list_tree(".");
    return ft_exit();
}
