/* exit_code: exits with the code given as argv[1]; argv[2] selects how:
 * "return" (from main), "exit" (exit(), runs atexit), "_Exit" (no atexit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bye(void) { printf("atexit handler ran\n"); }

int main(int argc, char **argv)
{
    int code = argc > 1 ? atoi(argv[1]) : 0;
    const char *how = argc > 2 ? argv[2] : "return";
    atexit(bye);
    printf("exiting with %d via %s\n", code, how);
    fflush(stdout);
    if (!strcmp(how, "exit"))
        exit(code);
    if (!strcmp(how, "_Exit"))
        _Exit(code);
    return code;
}
