/* args: prints argc and every argument with its length and a byte checksum; exit code argc. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) {
        unsigned sum = 0;
        for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
            sum = sum * 31 + *p;
        printf("argv[%d] len=%zu sum=%08x \"%s\"\n", i, strlen(argv[i]), sum, argv[i]);
    }
    return argc;
}
