/* stdio: interleaves stdout and stderr writes (unbuffered and buffered) and exits 3. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < 5; i++) {
        printf("out %d\n", i);
        fprintf(stderr, "err %d\n", i);
    }
    write(1, "raw out\n", 8);
    write(2, "raw err\n", 8);
    setvbuf(stdout, NULL, _IOFBF, 4096);
    printf("buffered out (flushed at exit)\n");
    fputs("partial line on stderr without newline", stderr);
    return 3;
}
