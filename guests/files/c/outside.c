/* Reaching outside the preopen without "..": files next to the directory on the host, by
 * plain relative names (wasi-libc has no cwd outside the preopens). argv[2] = module file. */
#include "ft.h"

int
main(int argc, char **argv)
{
    ft_init(argc, argv);
    cat("outside.txt");
    cat("./outside.txt");
    if (argc > 2)
        cat(argv[2]);
    SHOW(write_file("created-outside.txt", "x", 1));
    SHOW(mkdir("outside-dir", 0755));
    SHOWFD(open("outside.txt", O_RDONLY));
    SHOW(opendir(".") ? 0 : -1);
    SHOW(access("outside.txt", F_OK));
    SHOW(access(P("a.txt"), F_OK));
    SHOW(access(P("a.txt"), R_OK | W_OK));
    SHOW(access(P("nope"), F_OK));
    return ft_exit();
}
