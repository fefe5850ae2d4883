/* A counter kept in the sealed directory (`tzwasm run --sealed-dir HOST`, issue 13): reads
 * /sealed/NAME (default counter.txt; none yet counts as 0), adds one, writes it back and
 * prints "NAME N". `list` prints the directory's file names, one per line, sorted.
 * Exit 0; 4 when the file holds no number; 5 when it cannot be read (a changed, cut or
 * swapped file is EIO: "NAME: I/O error"); 6 when it cannot be written. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "counter.txt";
    char path[256];
    long v = 0;
    FILE *f;

    if (strcmp(name, "list") == 0) {
        DIR *d = opendir("/sealed");
        struct dirent *e;
        if (!d) {
            printf("/sealed: %s\n", strerror(errno));
            return 5;
        }
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                printf("%s\n", e->d_name);
        }
        closedir(d);
        return 0;
    }
    snprintf(path, sizeof path, "/sealed/%s", name);
    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) {
            printf("%s: no number\n", name);
            fclose(f);
            return 4;
        }
        fclose(f);
    } else if (errno != ENOENT) {
        printf("%s: %s\n", name, strerror(errno));
        return 5;
    }
    f = fopen(path, "w");
    if (!f) {
        printf("%s: cannot write: %s\n", name, strerror(errno));
        return 6;
    }
    fprintf(f, "%ld\n", v + 1);
    if (fclose(f) != 0) {
        printf("%s: cannot write: %s\n", name, strerror(errno));
        return 6;
    }
    printf("%s %ld\n", name, v + 1);
    return 0;
}
