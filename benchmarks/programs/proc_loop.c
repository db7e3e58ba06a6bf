/* Process benchmarks; each prints ns per operation.
 *   proc_loop fork N          fork + _exit + waitpid
 *   proc_loop forkexec N      fork + execve(self, "exit") + waitpid
 *   proc_loop pingpong SIZE N round trip of SIZE bytes between two processes over pipes
 *   proc_loop stream SIZE N   one-way: N writes of SIZE bytes into a pipe, read by a child
 *   proc_loop sort N          N qsorts of 4096 ints with a comparator: compute in a program
 *                             that can fork (Asyncify instruments what can reach fork) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "exit"))
        return 0;
    if (argc < 3) {
        fprintf(stderr, "usage: %s fork|forkexec|sort N | pingpong|stream SIZE N\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    long long start, elapsed;
    long n;
    if (!strcmp(mode, "sort")) {
        enum { COUNT = 4096 };
        static int v[COUNT];
        unsigned seed = 1;
        long long sum = 0;
        n = atol(argv[2]);
        start = now_ns();
        for (long i = 0; i < n; i++) {
            for (int j = 0; j < COUNT; j++)
                v[j] = (int)((seed = seed * 1103515245u + 12345u) >> 1);
            qsort(v, COUNT, sizeof v[0], compare_ints);
            sum += v[COUNT / 2] & 1;
        }
        elapsed = now_ns() - start;
        if (sum < 0)
            return 1;
    } else if (!strcmp(mode, "fork") || !strcmp(mode, "forkexec")) {
        n = atol(argv[2]);
        start = now_ns();
        for (long i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid == 0) {
                if (mode[4])
                    execl(argv[0], argv[0], "exit", (char *)NULL);
                _exit(0);
            }
            waitpid(pid, NULL, 0);
        }
        elapsed = now_ns() - start;
    } else {
        size_t size = (size_t)atol(argv[2]);
        n = atol(argv[3]);
        char *buf = calloc(1, size);
        int to_child[2], to_parent[2];
        pipe(to_child);
        pipe(to_parent);
        int stream = !strcmp(mode, "stream");
        pid_t pid = fork();
        if (pid == 0) {
            for (long i = 0; i < n; i++) {
                full(to_child[0], buf, size, 0);
                if (!stream)
                    full(to_parent[1], buf, size, 1);
            }
            if (stream)
                full(to_parent[1], buf, 1, 1);
            _exit(0);
        }
        start = now_ns();
        for (long i = 0; i < n; i++) {
            full(to_child[1], buf, size, 1);
            if (!stream)
                full(to_parent[0], buf, size, 0);
        }
        if (stream)
            full(to_parent[0], buf, 1, 0);
        elapsed = now_ns() - start;
        waitpid(pid, NULL, 0);
    }
    printf("%.2f\n", (double)elapsed / (double)n);
    return 0;
}
