/* A small "mkdir -p / cp -r / rm -r" implemented with mkdir, readdir, stat, unlink, rmdir. */
#include "ft.h"

static int
mkdir_p(const char *path)
{
    char tmp[512], *p;
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    errno = 0;
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int
copy_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    struct dirent *e;
    int n = 0;
    if (!d || mkdir(dst, 0755) != 0)
        return -1;
    while ((e = readdir(d))) {
        char s[512], t[512];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(s, sizeof(s), "%s/%s", src, e->d_name);
        snprintf(t, sizeof(t), "%s/%s", dst, e->d_name);
        if (lstat(s, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            n += copy_tree(s, t);
        else if (S_ISREG(st.st_mode)) {
            FILE *fi = fopen(s, "rb"), *fo = fopen(t, "wb");
            char buf[512];
            size_t k;
            while (fi && fo && (k = fread(buf, 1, sizeof(buf), fi)) > 0)
                fwrite(buf, 1, k, fo);
            if (fi)
                fclose(fi);
            if (fo)
                fclose(fo);
            n++;
        }
    }
    closedir(d);
    return n;
}

static int
rm_r(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int n = 0;
    if (lstat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 1 : -1;
    d = opendir(path);
    while (d && (e = readdir(d))) {
        char s[512];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(s, sizeof(s), "%s/%s", path, e->d_name);
        n += rm_r(s);
    }
    if (d)
        closedir(d);
    return rmdir(path) == 0 ? n + 1 : -1;
}

int
main(int argc, char **argv)
{
    ft_init(argc, argv);
    EXPECT(SHOW(mkdir_p(P("p/q/r/s"))) == 0);
    EXPECT(SHOW(mkdir_p(P("p/q/r/s"))) == 0);
    EXPECT(SHOW(copy_tree(P("sub"), P("p/q/copy"))) == 2);
    EXPECT(SHOW(write_file(P("p/q/r/s/leaf.txt"), "leaf\n", 5)) == 5);
    list_tree(P("p"));
    EXPECT(SHOW(rm_r(P("p/q/r"))) == 3);
    EXPECT(SHOW(rm_r(P("sub"))) == 4);
    list_tree(ft_base);
    return ft_exit();
}
