/* 200 files in one directory: create, list (count, sorted first/last, total size), delete
 * every other one, list again, delete the rest, remove the directory. */
#include "ft.h"

int
main(int argc, char **argv)
{
    char name[64], body[64];
    int i, n;
    long total = 0;
    struct stat st;

    ft_init(argc, argv);
    EXPECT(SHOW(mkdir(P("many"), 0755)) == 0);
    for (i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "many/file-%03d.txt", i);
        snprintf(body, sizeof(body), "file %d %.*s\n", i, i % 17, "xxxxxxxxxxxxxxxxxxxx");
        EXPECT(write_file(P(name), body, strlen(body)) == (long)strlen(body));
    }
    for (i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "many/file-%03d.txt", i);
        if (stat(P(name), &st) == 0)
            total += st.st_size;
    }
    printf("200 files, %ld bytes\n", total);
    for (i = 0; i < 200; i += 2) {
        snprintf(name, sizeof(name), "many/file-%03d.txt", i);
        EXPECT(unlink(P(name)) == 0);
    }
    n = list_dir(P("many"));
    EXPECT(n == 100);
    for (i = 1; i < 200; i += 2) {
        snprintf(name, sizeof(name), "many/file-%03d.txt", i);
        EXPECT(unlink(P(name)) == 0);
    }
    EXPECT(list_dir(P("many")) == 0);
    EXPECT(SHOW(rmdir(P("many"))) == 0);
    list_dir(ft_base);
    return ft_exit();
}
