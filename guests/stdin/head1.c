/* head1: reads one line of stdin, prints it and exits 7 without reading the rest: a module
 * that stops reading early must end cleanly, whatever is still coming. */
#include <stdio.h>

int main(void)
{
    char line[256];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    fputs(line, stdout);
    return 7;
}
