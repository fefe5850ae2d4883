/* Append mode: fopen "a" and "a+", O_APPEND writes land at the end whatever the offset. */
#include "ft.h"

int
main(int argc, char **argv)
{
    FILE *f;
    int fd, i;
    char buf[64] = { 0 };

    ft_init(argc, argv);
    for (i = 0; i < 3; i++) {
        f = fopen(P("log.txt"), "a");
        EXPECT(f != NULL);
        if (f) {
            fprintf(f, "entry %d\n", i);
            fclose(f);
        }
    }
    cat(P("log.txt"));
    f = fopen(P("a.txt"), "a+");
    EXPECT(f != NULL);
    if (f) {
        fputs("appended\n", f);
        rewind(f);
        printf("a+ reads from start: %s", fgets(buf, sizeof(buf), f) ? buf : "(null)\n");
        fclose(f);
    }
    cat(P("a.txt"));
    fd = open(P("b.txt"), O_WRONLY | O_APPEND);
    EXPECT(fd >= 0);
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(write(fd, "END", 3));
    SHOW(lseek(fd, 0, SEEK_CUR));
    close(fd);
    cat(P("b.txt"));
    return ft_exit();
}
