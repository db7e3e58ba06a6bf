/* Writes a file in its private /tmp and /dev/shm (the host directories Lind makes for
 * a run without a root), says so on stdout, then waits until its stdin ends. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fill(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "scratch\n", 8) != 8 || close(fd) != 0) {
        perror(path);
        exit(1);
    }
}

int main(void) {
    fill("/tmp/scratch");
    fill("/dev/shm/scratch");
    puts("written");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0)
        ;
    if (access("/tmp/scratch", F_OK) != 0 || access("/dev/shm/scratch", F_OK) != 0) {
        puts("lost");
        return 1;
    }
    puts("kept");
    return 0;
}
