/* Reads stdin line by line and writes it back numbered, to stdout and stderr. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, stdin))
        printf("%d: %s", ++n, line);
    fprintf(stderr, "lines=%d tty=%d\n", n, isatty(0));
    return 0;
}
