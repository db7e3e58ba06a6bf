/* Looks at stdin once without waiting, then reads it to its end: what a program that
 * polls before reading finds when its input was given with the run. */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    struct pollfd p = {0, POLLIN, 0};
    int ready = poll(&p, 1, 0);
    char buf[4096];
    long total = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        total += n;
    printf("ready=%d in=%d end=%d bytes=%ld\n", ready, !!(p.revents & POLLIN),
           !!(p.revents & POLLHUP), total);
    return n < 0;
}
