/* opendir/readdir/closedir over the seed tree, sorted; d_type of each entry; fdopendir. */
#include "ft.h"

static int
cmp_ent(const void *a, const void *b)
{
    return strcmp((*(struct dirent *const *)a)->d_name, (*(struct dirent *const *)b)->d_name);
}

int
main(int argc, char **argv)
{
    struct dirent **ents;
    int n, i, fd;
    DIR *d;
    struct dirent *e;
    int count = 0, dots = 0;

    ft_init(argc, argv);
    list_tree(ft_base);
    /* scandir + alphasort; d_type comes from fd_readdir. */
    n = scandir(P("sub"), &ents, NULL, alphasort);
    printf("scandir sub: %d\n", n);
    for (i = 0; i < n; i++) {
        const char *t = ents[i]->d_type == DT_DIR ? "DT_DIR" : ents[i]->d_type == DT_REG ? "DT_REG"
                      : ents[i]->d_type == DT_LNK ? "DT_LNK" : "DT_other";
        printf("  %s %s\n", ents[i]->d_name, t);
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
    /* d_type of the symlinks at the top (not followed). */
    d = opendir(ft_base);
    EXPECT(d != NULL);
    {
        struct dirent *all[64];
        int m = 0;
        while (d && (e = readdir(d)) && m < 64) {
            struct dirent *c = malloc(sizeof(*c) + strlen(e->d_name) + 1);
            memcpy(c, e, sizeof(*c));
            strcpy(c->d_name, e->d_name);
            all[m++] = c;
            count++;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                dots++;
        }
        qsort(all, m, sizeof(all[0]), cmp_ent);
        for (i = 0; i < m; i++) {
            printf("  top %s type %d\n", all[i]->d_name, all[i]->d_type);
            free(all[i]);
        }
    }
    if (d)
        closedir(d);
    printf("readdir top: %d entries including %d dot entries\n", count, dots);
    fd = open(P("sub/deep"), O_RDONLY | O_DIRECTORY);
    EXPECT(fd >= 0);
    d = fdopendir(fd);
    EXPECT(d != NULL);
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            printf("fdopendir deep: %s\n", e->d_name);
    if (d)
        closedir(d);
    SHOW(opendir(P("a.txt")) ? 0 : -1);
    SHOW(opendir(P("nope")) ? 0 : -1);
    return ft_exit();
}
