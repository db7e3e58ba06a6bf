/* A shell-like pipeline, ROUNDS times: `pipeline gen N | pipeline square | pipeline sum`,
 * each stage a process made with fork and execve (of this program, /proc/self/exe),
 * joined by pipes, waited for; what a shell script running many short commands does.
 *   pipeline ROUNDS          prints the sum of every round's result */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const self = "/proc/self/exe";

static pid_t stage(const char *role, const char *arg, int in, int out)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (in != 0) {
            dup2(in, 0);
            close(in);
        }
        if (out != 1) {
            dup2(out, 1);
            close(out);
        }
        execl(self, self, role, arg, (char *)NULL);
        perror("execl");
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "gen")) {
        for (long i = 1, n = atol(argv[2]); i <= n; i++)
            printf("%ld\n", i);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "square")) {
        long v;
        while (scanf("%ld", &v) == 1)
            printf("%ld\n", v * v % 1000003);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "sum")) {
        long v, sum = 0;
        while (scanf("%ld", &v) == 1)
            sum += v;
        printf("%ld\n", sum);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s ROUNDS\n", argv[0]);
        return 2;
    }
    long rounds = atol(argv[1]), total = 0;
    for (long r = 0; r < rounds; r++) {
        int a[2], b[2], c[2];
        if (pipe(a) || pipe(b) || pipe(c)) {
            perror("pipe");
            return 1;
        }
        char count[16];
        snprintf(count, sizeof count, "%ld", 200 + r % 50);
        stage("gen", count, 0, a[1]);
        close(a[1]);
        stage("square", "-", a[0], b[1]);
        close(a[0]);
        close(b[1]);
        stage("sum", "-", b[0], c[1]);
        close(b[0]);
        close(c[1]);
        char line[32];
        size_t have = 0;
        ssize_t got;
        while (have < sizeof line - 1 && (got = read(c[0], line + have, sizeof line - 1 - have)) > 0)
            have += (size_t)got;
        close(c[0]);
        line[have] = 0;
        total += atol(line);
        int status;
        for (int i = 0; i < 3; i++)
            if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
                fprintf(stderr, "a stage failed\n");
                return 1;
            }
    }
    printf("%ld rounds, total %ld\n", rounds, total);
    return 0;
}
