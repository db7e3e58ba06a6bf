/* posix_spawn, what system() and popen() start processes with; prints ns per operation.
 *   spawn_loop spawn N    posix_spawn(self, "exit") + waitpid
 * A program of its own: one that forks is instrumented by Asyncify, this one is not. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "loop.h"

extern char **environ;

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "exit"))
        return 0;
    if (argc < 3 || strcmp(argv[1], "spawn")) {
        fprintf(stderr, "usage: %s spawn N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    char *args[] = {argv[0], "exit", NULL};
    long long start = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, argv[0], NULL, NULL, args, environ) != 0)
            return 3;
        waitpid(pid, NULL, 0);
    }
    printf("%.2f\n", (double)(now_ns() - start) / (double)n);
    return 0;
}
