/* File I/O: create, write, read back, seek, positional and vector I/O, truncate, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); return 1; } } while (0)

int main(void) {
    int fd = open("data.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello world\n", 12) == 12);
    struct iovec iov[2] = {{"abc", 3}, {"defgh\n", 6}};
    CHECK(writev(fd, iov, 2) == 9);
    CHECK(pwrite(fd, "HELLO", 5, 0) == 5);
    CHECK(close(fd) == 0);
    CHECK(close(fd) == -1 && errno == EBADF);

    struct stat st;
    CHECK(stat("data.txt", &st) == 0);
    printf("size=%lld regular=%d mode=%o\n", (long long)st.st_size, S_ISREG(st.st_mode), st.st_mode & 0777);

    char buf[64] = {0};
    fd = open("data.txt", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, buf, 5) == 5);
    printf("first=%s\n", buf);
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf - 1) == 15);
    printf("rest=%s", buf);
    CHECK(read(fd, buf, 10) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 3, 12) == 3);
    printf("pread=%s\n", buf);
    char a[4] = {0}, b[4] = {0};
    struct iovec riov[2] = {{a, 3}, {b, 3}};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(readv(fd, riov, 2) == 6);
    printf("readv=%s|%s\n", a, b);
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 21);
    int fd2 = dup(fd);
    CHECK(fd2 > fd);
    CHECK(lseek(fd2, 0, SEEK_CUR) == 6);
    CHECK(dup2(fd, 10) == 10);
    CHECK(fcntl(10, F_GETFD) == 0);
    CHECK(fcntl(10, F_SETFD, FD_CLOEXEC) == 0 && fcntl(10, F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    close(fd); close(fd2); close(10);

    CHECK(open("data.txt", O_CREAT | O_EXCL | O_WRONLY, 0600) == -1 && errno == EEXIST);
    CHECK(open("missing.txt", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(open("data.txt/x", O_RDONLY) == -1 && errno == ENOTDIR);

    fd = open("data.txt", O_WRONLY | O_APPEND);
    CHECK(write(fd, "tail\n", 5) == 5);
    CHECK(ftruncate(fd, 8) == 0);
    close(fd);
    CHECK(truncate("data.txt", 4) == 0);
    CHECK(stat("data.txt", &st) == 0 && st.st_size == 4);
    CHECK(rename("data.txt", "moved.txt") == 0);
    CHECK(access("data.txt", F_OK) == -1 && errno == ENOENT);
    CHECK(access("moved.txt", R_OK | W_OK) == 0);
    CHECK(link("moved.txt", "hard.txt") == 0);
    CHECK(stat("hard.txt", &st) == 0 && st.st_nlink == 2);
    CHECK(unlink("moved.txt") == 0 && unlink("hard.txt") == 0);
    CHECK(unlink("hard.txt") == -1 && errno == ENOENT);

    FILE *f = fopen("lines.txt", "w");
    for (int i = 0; i < 1000; i++)
        fprintf(f, "line %d\n", i);
    fclose(f);
    f = fopen("lines.txt", "r");
    char line[32];
    long sum = 0;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        int v;
        sscanf(line, "line %d", &v);
        sum += v;
        n++;
    }
    fclose(f);
    printf("lines=%d sum=%ld\n", n, sum);
    mode_t old = umask(077);
    fd = open("private.txt", O_CREAT | O_WRONLY, 0666);
    fstat(fd, &st);
    printf("umask old=%o newfile=%o\n", old, st.st_mode & 0777);
    close(fd);
    unlink("private.txt");
    unlink("lines.txt");
    puts("files ok");
    return 0;
}
