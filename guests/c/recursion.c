/* recursion: deep recursion in C. argv[1] = depth; a small depth finishes, a huge one
 * overflows (the shadow stack in linear memory runs into data, or the native stack). */
#include <stdio.h>
#include <stdlib.h>

static int rec(int n, volatile char *prev)
{
    volatile char frame[64];
    frame[0] = (char)n;
    frame[63] = prev ? prev[0] : 0;
    if (n == 0)
        return frame[0] + frame[63];
    return rec(n - 1, frame) + frame[0];
}

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 1000;
    printf("recursing to depth %d\n", depth);
    fflush(stdout);
    printf("result=%d\n", rec(depth, NULL));
    return 0;
}
