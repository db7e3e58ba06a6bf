/* A cage grows the program file it was started from (in its root, so its to write),
 * then execs it: the host must not read what it grew into its own memory. Prints
 * "exec RESULT ERRNO" (exec of a 300 MiB "program" fails: ENOEXEC). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1)
        return 0;
    int fd = open(argv[0], O_WRONLY);
    if (fd < 0 || ftruncate(fd, 300L << 20) != 0) {
        perror("grow");
        return 1;
    }
    close(fd);
    char *again[] = {argv[0], "again", NULL};
    errno = 0;
    int r = execv(argv[0], again);
    printf("exec %d %d\n", r, errno);
    return 0;
}
