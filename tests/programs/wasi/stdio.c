/* Standard streams: wait for stdin with poll(), number its lines on stdout, and
 * write a summary to stderr. */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    struct pollfd p[2] = {{0, POLLIN, 0}, {1, POLLOUT, 0}};
    int ready = poll(p, 2, 5000);
    printf("poll=%d stdin=%d stdout=%d\n", ready, !!(p[0].revents & POLLIN),
           !!(p[1].revents & POLLOUT));
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, stdin))
        printf("%d: %s", ++n, line);
    fflush(stdout);
    fprintf(stderr, "lines=%d tty=%d\n", n, isatty(0));
    return 0;
}
