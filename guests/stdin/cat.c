/* cat: copies stdin to stdout byte for byte (read/write on the descriptors, any bytes), then
 * prints how many bytes it copied on stderr. The linux-test stdin cases pipe 10 MiB of text
 * and binary data through it. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    static char buf[65536];
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            perror("read");
            return 2;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w <= 0) {
                perror("write");
                return 3;
            }
            off += w;
        }
        total += (unsigned long long)n;
    }
    fprintf(stderr, "cat: %llu bytes\n", total);
    return 0;
}
