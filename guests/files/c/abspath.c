/* Absolute paths: wasi-libc matches them against the preopen names (argv[1] is one of them);
 * anything else is not reachable. argv[2] = the module file name, which exists on the host
 * outside the granted directory. */
#include "ft.h"

int
main(int argc, char **argv)
{
    char p[256];
    ft_init(argc, argv);
    snprintf(p, sizeof(p), "/%s/a.txt", ft_base[0] == '/' ? ft_base + 1 : ft_base);
    cat(p);
    snprintf(p, sizeof(p), "/%s/sub/c.txt", ft_base[0] == '/' ? ft_base + 1 : ft_base);
    cat(p);
    cat("/a.txt");
    cat("/etc/passwd");
    cat("/outside.txt");
    cat("/proc/self/status");
    cat("/");
    SHOW(opendir("/") ? 0 : -1);
    SHOW(write_file("/new-at-root.txt", "r", 1));
    if (argc > 2) {
        snprintf(p, sizeof(p), "/%s", argv[2]);
        cat(p);
    }
    list_dir(ft_base);
    return ft_exit();
}
