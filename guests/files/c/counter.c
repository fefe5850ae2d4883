/* Reads an integer from counter.txt, increments it and writes it back. Exit code 3 when the
 * file is missing, 4 when it does not hold a number. */
#include "ft.h"

int
main(int argc, char **argv)
{
    FILE *f;
    long v;

    ft_init(argc, argv);
    f = fopen(P("counter.txt"), "r");
    if (!f) {
        printf("no counter: %s\n", errname(errno));
        return 3;
    }
    if (fscanf(f, "%ld", &v) != 1) {
        printf("counter unreadable\n");
        fclose(f);
        return 4;
    }
    fclose(f);
    f = fopen(P("counter.txt"), "w");
    if (!f)
        return 5;
    fprintf(f, "%ld\n", v + 1);
    fclose(f);
    printf("counter %ld -> %ld\n", v, v + 1);
    return 0;
}
