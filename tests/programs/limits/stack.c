/* How deep a program may recurse: as deep as in Linux's default 8 MiB stack, and no
 * deeper than RLIMIT_STACK says when the program starts (execve).
 *
 *   stack limits          RLIMIT_STACK as the program sees it
 *   stack deep N          recursion N deep, each frame an array in memory
 *   stack calls N         recursion N deep, each frame only in registers and spills
 *   stack fork N          the same as deep, in a child
 *   stack limit KIB N     lower RLIMIT_STACK to KIB KiB, then exec "stack deep N"
 *   stack wide N KIB      recursion N deep, each frame KIB KiB in memory (few frames, much stack)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int __attribute__((noinline)) deep(int n)
{
    volatile char frame[64];
    frame[n & 63] = (char)n;
    if (n == 0)
        return 0;
    int below = deep(n - 1);
    return below + 1 + (frame[n & 63] - (char)n);
}

static int __attribute__((noinline)) wide(int n, size_t bytes)
{
    volatile char frame[bytes];
    frame[0] = (char)n;
    frame[bytes - 1] = (char)n;
    if (n == 0)
        return 0;
    int below = wide(n - 1, bytes);
    return below + 1 + (frame[0] - (char)n) + (frame[bytes - 1] - (char)n);
}

static int __attribute__((noinline)) calls(int n, int *odd)
{
    if (n == 0)
        return 0;
    int below = calls(n - 1, odd);
    *odd += n & 1;
    return below + 1;
}

static void show(rlim_t v)
{
    if (v == RLIM_INFINITY)
        printf("unlimited");
    else
        printf("%llu", (unsigned long long)v);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "limits")) {
        struct rlimit r;
        if (getrlimit(RLIMIT_STACK, &r) != 0)
            return 1;
        printf("soft ");
        show(r.rlim_cur);
        printf(" hard ");
        show(r.rlim_max);
        printf("\n");
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "deep")) {
        int n = atoi(argv[2]);
        printf("deep %d\n", deep(n));
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "calls")) {
        int n = atoi(argv[2]), odd = 0;
        int depth = calls(n, &odd);
        printf("calls %d odd %d\n", depth, odd);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "fork")) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            printf("child deep %d\n", deep(atoi(argv[2])));
            return 0;
        }
        int status;
        if (waitpid(child, &status, 0) != child)
            return 1;
        printf("child %s %d\n", WIFEXITED(status) ? "exited" : "killed by",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "wide")) {
        printf("wide %d\n", wide(atoi(argv[2]), (size_t)atoi(argv[3]) << 10));
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "limit")) {
        struct rlimit r;
        getrlimit(RLIMIT_STACK, &r);
        r.rlim_cur = (rlim_t)atoi(argv[2]) << 10;
        if (setrlimit(RLIMIT_STACK, &r) != 0) {
            printf("setrlimit %s\n", strerror(errno));
            return 1;
        }
        fflush(stdout);
        char *args[] = {argv[0], "deep", argv[3], NULL};
        execv("/proc/self/exe", args);
        printf("execv %s\n", strerror(errno));
        return 1;
    }
    fprintf(stderr, "usage: stack limits | deep N | calls N | fork N | limit KIB N | wide N KIB\n");
    return 2;
}
