/* Reads through a mount and tries to write to it; argv[1] says whether it is read-only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    char buf[64] = {0};
    int fd = open("/data/in.txt", O_RDONLY);
    printf("read: %s", fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 ? buf : "failed\n");
    close(fd);
    fd = open("/data/out.txt", O_CREAT | O_WRONLY, 0644);
    printf("create: %s\n", fd >= 0 ? "ok" : strerror(errno));
    if (fd >= 0) {
        write(fd, "written\n", 8);
        close(fd);
    }
    fd = open("/data/in.txt", O_WRONLY | O_APPEND);
    printf("append: %s\n", fd >= 0 ? "ok" : strerror(errno));
    printf("mkdir: %s\n", mkdir("/data/sub", 0755) == 0 ? "ok" : strerror(errno));
    printf("unlink: %s\n", unlink("/data/in.txt") == 0 ? "ok" : strerror(errno));
    printf("rename out: %s\n", rename("/data/in.txt", "/moved.txt") == 0 ? "ok" : strerror(errno));
    fd = open("/root-file.txt", O_CREAT | O_WRONLY, 0644);
    printf("root write: %s\n", fd >= 0 ? "ok" : strerror(errno));
    return 0;
}
