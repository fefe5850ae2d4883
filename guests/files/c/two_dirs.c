/* Two preopens: argv[1] = input directory, argv[2] = output directory. Copies every file of
 * the input (sorted) to the output with a line count, then renames and links across the two. */
#include "ft.h"

int
main(int argc, char **argv)
{
    const char *in = argc > 1 ? argv[1] : "in", *out = argc > 2 ? argv[2] : "out";
    char src[256], dst[256], names[64][64], buf[4096];
    struct dirent *e;
    DIR *d;
    int n = 0, i;

    d = opendir(in);
    EXPECT(d != NULL);
    while (d && (e = readdir(d)) && n < 64) {
        snprintf(src, sizeof(src), "%s/%s", in, e->d_name);
        struct stat st;
        if (e->d_name[0] != '.' && lstat(src, &st) == 0 && S_ISREG(st.st_mode))
            snprintf(names[n++], 64, "%s", e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
    for (i = 0; i < n; i++) {
        FILE *fi, *fo;
        size_t k, lines = 0, bytes = 0, j;
        snprintf(src, sizeof(src), "%s/%s", in, names[i]);
        snprintf(dst, sizeof(dst), "%s/%s.copy", out, names[i]);
        fi = fopen(src, "rb");
        fo = fopen(dst, "wb");
        EXPECT(fi && fo);
        while (fi && fo && (k = fread(buf, 1, sizeof(buf), fi)) > 0) {
            for (j = 0; j < k; j++)
                lines += buf[j] == '\n';
            bytes += k;
            fwrite(buf, 1, k, fo);
        }
        if (fi)
            fclose(fi);
        if (fo)
            fclose(fo);
        printf("copied %s: %zu bytes, %zu lines\n", names[i], bytes, lines);
    }
    snprintf(src, sizeof(src), "%s/a.txt", in);
    snprintf(dst, sizeof(dst), "%s/moved-a.txt", out);
    SHOW(rename(src, dst));
    snprintf(src, sizeof(src), "%s/b.txt", in);
    snprintf(dst, sizeof(dst), "%s/linked-b.txt", out);
    SHOW(link(src, dst));
    list_dir(in);
    list_dir(out);
    return ft_exit();
}
