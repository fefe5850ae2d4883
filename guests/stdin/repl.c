/* repl: answers each line of stdin at once ("N: LINE" with N counting from 1), flushing
 * after every answer, until a line "quit" or end of file. The linux-test case drives it
 * through a fifo and writes the next line only after it read the answer to the last one,
 * which shows the input is not buffered to end of file first. */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "quit") == 0) {
            printf("bye after %d lines\n", n);
            return 0;
        }
        printf("%d: %s\n", ++n, line);
        fflush(stdout);
    }
    printf("end of input after %d lines\n", n);
    return 0;
}
