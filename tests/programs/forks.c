/* fork, wait, exit statuses, pipes between cages, exec of another program. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int counter = 100;

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child-exec")) {
        printf("exec'd with %s, pid matches: %d\n", argv[2], atoi(argv[3]) == getpid());
        return 7;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    /* 1. fork: memory is copied, both return, statuses reach the parent. */
    pid_t pid = fork();
    if (pid == 0) {
        counter += 1;
        printf("child: counter=%d ppid-ok=%d\n", counter, getppid() > 0);
        _exit(3);
    }
    int status = 0;
    pid_t got = waitpid(pid, &status, 0);
    printf("parent: counter=%d waited-right=%d exited=%d code=%d\n", counter, got == pid,
           WIFEXITED(status), WEXITSTATUS(status));
    int none = wait(NULL);
    printf("wait with no children: %d ECHILD=%d\n", none, errno == ECHILD);

    /* 2. A pipe between parent and child, EOF when the writer closes. */
    int fds[2];
    pipe(fds);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < 3; i++)
            dprintf(fds[1], "message %d\n", i);
        _exit(0);
    }
    close(fds[1]);
    char buf[256];
    int total = 0, n;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - total)) > 0)
        total += n;
    buf[total] = 0;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    printf("from pipe:\n%s", buf);

    /* 3. Several children, reaped in any order. */
    for (int i = 0; i < 4; i++)
        if (fork() == 0)
            _exit(10 + i);
    int sum = 0;
    for (int i = 0; i < 4; i++) {
        wait(&status);
        sum += WEXITSTATUS(status);
    }
    printf("sum of statuses=%d\n", sum);

    /* 4. WNOHANG before the child is done. */
    int gate[2];
    pipe(gate);
    pid = fork();
    if (pid == 0) {
        char c;
        read(gate[0], &c, 1);
        _exit(5);
    }
    printf("WNOHANG: %d\n", waitpid(pid, &status, WNOHANG));
    write(gate[1], "x", 1);
    waitpid(pid, &status, 0);
    printf("then: %d\n", WEXITSTATUS(status));

    /* 5. exec: same pid, new program image, status comes back. */
    pid = fork();
    if (pid == 0) {
        char pidbuf[16];
        snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
        execl(argv[0], argv[0], "child-exec", "hello", pidbuf, (char *)NULL);
        perror("execl");
        _exit(127);
    }
    waitpid(pid, &status, 0);
    printf("exec child status=%d\n", WEXITSTATUS(status));

    /* 6. exec of something that is not a program. */
    pid = fork();
    if (pid == 0) {
        execl("/no/such/program", "x", (char *)NULL);
        printf("execl missing: %s\n", strerror(errno));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
