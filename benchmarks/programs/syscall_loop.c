/* Times N calls of one system call from inside the program: prints ns per call.
 * Usage: syscall_loop geteuid|getpid|close N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s geteuid|getpid|close N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    volatile long sink = 0;
    long long start = now_ns();
    if (!strcmp(argv[1], "geteuid")) {
        for (long i = 0; i < n; i++) sink += syscall(SYS_geteuid);
    } else if (!strcmp(argv[1], "getpid")) {
        for (long i = 0; i < n; i++) sink += syscall(SYS_getpid);
    } else if (!strcmp(argv[1], "close")) {
        for (long i = 0; i < n; i++) sink += close(-1);
    } else {
        fprintf(stderr, "unknown call %s\n", argv[1]);
        return 2;
    }
    long long elapsed = now_ns() - start;
    printf("%.2f\n", (double)elapsed / (double)n);
    return 0;
}
