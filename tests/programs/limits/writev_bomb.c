/* writev of many iovecs that all name one big buffer, into a pipe.
 * "nonblock": 1024 x 2 MiB into a non-blocking pipe nobody drains: one pipe-full moves.
 * "stream": 16 x 2 MiB (one buffer) through a pipe to a child that counts and sums. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (2 << 20)

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "nonblock";
    char *buf = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        buf[i] = (char)(i * 7 + 3);
    int n = strcmp(mode, "stream") == 0 ? 16 : 1024;
    struct iovec *iov = calloc(n, sizeof *iov);
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = buf;
        iov[i].iov_len = BIG;
    }
    int p[2];
    if (pipe(p) != 0)
        return 1;
    if (strcmp(mode, "nonblock") == 0) {
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        ssize_t w = writev(p[1], iov, n);
        printf("writev %zd\n", w);
        ssize_t again = writev(p[1], iov, n);
        printf("again %zd %s\n", again, again < 0 && errno == EAGAIN ? "EAGAIN" : "?");
        return 0;
    }
    unsigned long expect = 0;
    for (int i = 0; i < BIG; i++)
        expect += (unsigned char)buf[i];
    expect *= n;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        static char in[65536 + 17];
        unsigned long got = 0, sum = 0;
        ssize_t r;
        while ((r = read(p[0], in, sizeof in)) > 0) {
            got += r;
            for (ssize_t i = 0; i < r; i++)
                sum += (unsigned char)in[i];
        }
        printf("child got %lu sum %s\n", got, sum == expect ? "ok" : "BAD");
        return 0;
    }
    close(p[0]);
    ssize_t w = writev(p[1], iov, n);
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    printf("writev %zd\n", w);
    return 0;
}
