/* A tiny shell: runs "prog1 | prog2 | prog3" with fork, pipe, dup2 and exec,
 * where each stage is this same program in a filter role. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int filter(const char *role) {
    char line[256];
    int n = 0;
    if (!strcmp(role, "gen")) {
        for (int i = 1; i <= 5; i++)
            printf("line %d of the stream\n", i);
        return 0;
    }
    while (fgets(line, sizeof line, stdin)) {
        if (!strcmp(role, "upper")) {
            for (char *p = line; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            fputs(line, stdout);
        } else if (!strcmp(role, "number")) {
            printf("%d: %s", ++n, line);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1)
        return filter(argv[1]);
    const char *roles[] = {"gen", "upper", "number"};
    int in = -1;
    pid_t pids[3];
    for (int i = 0; i < 3; i++) {
        int fds[2] = {-1, -1};
        if (i < 2)
            pipe(fds);
        pids[i] = fork();
        if (pids[i] == 0) {
            if (in >= 0) {
                dup2(in, 0);
                close(in);
            }
            if (i < 2) {
                dup2(fds[1], 1);
                close(fds[0]);
                close(fds[1]);
            }
            execl(argv[0], argv[0], roles[i], (char *)NULL);
            _exit(127);
        }
        if (in >= 0)
            close(in);
        if (i < 2) {
            close(fds[1]);
            in = fds[0];
        }
    }
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    fprintf(stderr, "stages ok: %d\n", ok);
    return ok == 3 ? 0 : 1;
}
