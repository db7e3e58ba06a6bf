/* Tries to leave the cage's root and to hand the microvisor bad pointers.
 * argv[1] is the host path of a secret file outside the root (the test plants it,
 * and plants symlinks to it inside the root). Every attempt must fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int tried, escaped;

static void attempt_open(const char *what, const char *path) {
    tried++;
    int fd = open(path, O_RDONLY);
    char buf[64] = {0};
    if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "SECRET")) {
        printf("ESCAPED via %s (%s)\n", what, path);
        escaped++;
    } else {
        printf("%s: %s\n", what, fd >= 0 ? "opened, no secret" : strerror(errno));
    }
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    const char *secret = argv[1];
    char path[512];
    attempt_open("host absolute path", secret);
    attempt_open("dotdot", "../secret.txt");
    attempt_open("many dotdots", "../../../../../../../../secret.txt");
    snprintf(path, sizeof path, "/../../../..%s", secret);
    attempt_open("rooted dotdots", path);
    attempt_open("planted absolute symlink", "/abs_link");
    attempt_open("planted relative symlink", "/rel_link");
    attempt_open("planted dir symlink", "/dir_link/secret.txt");
    unlink("/made_link");
    symlink("../secret.txt", "/made_link");
    attempt_open("symlink made in cage", "/made_link");
    unlink("/made_abs");
    symlink(secret, "/made_abs");
    attempt_open("absolute symlink made in cage", "/made_abs");
    chdir("/");
    chdir("..");
    attempt_open("chdir .. then open", "secret.txt");
    int dfd = open("/", O_RDONLY | O_DIRECTORY);
    tried++;
    int fd = openat(dfd, "../secret.txt", O_RDONLY);
    printf("openat dirfd ..: %s\n", fd >= 0 ? "opened" : strerror(errno));
    if (fd >= 0) {
        char buf[64] = {0};
        if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "SECRET")) escaped++;
    }

    /* Bad pointers and lengths: errors, never a crash of the host. */
    int out = open("/scratch", O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(out, "some bytes", 10);
    lseek(out, 0, SEEK_SET);
    errno = 0;
    long r = read(out, (void *)(uintptr_t)0xFFFFFF00u, 4096);
    printf("read into bad pointer: %ld %s\n", r, strerror(errno));
    errno = 0;
    r = write(out, (void *)(uintptr_t)0xFFFFFFF0u, 64);
    printf("write from bad pointer: %ld %s\n", r, strerror(errno));
    errno = 0;
    r = write(out, "x", 0x7FFFFFFF);
    printf("write huge length: %ld %s\n", r, strerror(errno));
    errno = 0;
    r = open((const char *)(uintptr_t)0xFFFFFFFEu, O_RDONLY);
    printf("open bad path pointer: %ld %s\n", r, strerror(errno));
    errno = 0;
    /* Raw call: musl's stat() converts from a kernel struct on its own stack, so the
     * bad pointer must be handed to the system call itself to reach the microvisor. */
    r = syscall(SYS_fstat, (long)dfd, (long)0xFFFFFFC0u);
    printf("stat into bad pointer: %ld %s\n", r, strerror(errno));
    static char longpath[8192];
    memset(longpath, 'a', sizeof longpath - 1);
    errno = 0;
    r = open(longpath, O_RDONLY);
    printf("open overlong path: %ld %s\n", r, strerror(errno));
    errno = 0;
    r = close(123456);
    printf("close bogus fd: %ld %s\n", r, strerror(errno));
    printf("tried=%d escaped=%d\n", tried, escaped);
    return escaped ? 99 : 0;
}
