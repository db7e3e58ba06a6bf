/* fork + exit + wait in a loop, N times (argv[1]); prints how many succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100, ok = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(i & 0x7f);
        int status;
        if (waitpid(pid, &status, 0) == pid && WEXITSTATUS(status) == (i & 0x7f))
            ok++;
    }
    printf("ok=%d\n", ok);
    return 0;
}
