/* The program file a cage was started from lies in its root: the cage replaces it with
 * a symbolic link to a host file outside the root (argv[1], argv[2]: a file, a program)
 * and execs it. The host resolved the link itself: it read the file outside, and ran
 * the program outside in the cage. Like any link in the root, it must lead inside it
 * (ENOENT there). First, a child execs the program once as it is (even without its
 * execute bits): "again" (it runs). Prints "exec TARGET RESULT ERRNO" per link. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "again")) {
        printf("again\n");
        return 0;
    }
    if (argc < 3)
        return 2;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char *again[] = {argv[0], "again", NULL};
        execv(argv[0], again);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    for (int i = 1; i < 3; i++) {
        unlink(argv[0]);
        if (symlink(argv[i], argv[0])) {
            perror("symlink");
            return 1;
        }
        char *again[] = {argv[0], "again", NULL};
        errno = 0;
        int r = execv(argv[0], again);
        printf("exec %s %d %d\n", i == 1 ? "file" : "program", r, errno);
    }
    return 0;
}
