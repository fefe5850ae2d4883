/* environ: prints the WASI environment in order, then looks up a few names. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(void)
{
    int n = 0;
    for (char **e = environ; *e; e++, n++)
        printf("env[%d] = %s\n", n, *e);
    printf("count=%d\n", n);
    const char *names[] = { "TZWASM", "EMPTY", "MISSING" };
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        printf("getenv(%s) = %s%s%s\n", names[i], v ? "\"" : "", v ? v : "(null)", v ? "\"" : "");
    }
    return 0;
}
