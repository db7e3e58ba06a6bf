/* What the benchmark programs share: a monotonic clock in ns, and a whole transfer. */
#ifndef LIND_BENCH_LOOP_H
#define LIND_BENCH_LOOP_H

#include <time.h>
#include <unistd.h>

static inline long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* read or write all n bytes of buf on fd; the program exits (status 3) on EOF or error */
static inline void full(int fd, char *buf, size_t n, int writing) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
        if (r <= 0) _exit(3);
        done += (size_t)r;
    }
}

#endif
