/* Directories: mkdir, readdir, chdir/getcwd, rmdir, symlinks, *at calls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s (errno %d)\n", __LINE__, #x, errno); return 1; } } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *path) {
    DIR *d = opendir(path);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void) {
    char start[256], cwd[256];
    CHECK(getcwd(start, sizeof start) != NULL);
    CHECK(mkdir("top", 0755) == 0);
    CHECK(mkdir("top", 0755) == -1 && errno == EEXIST);
    CHECK(mkdir("top/a", 0700) == 0 && mkdir("top/b", 0755) == 0);
    int fd = open("top/file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(symlink("file", "top/link") == 0);
    CHECK(symlink("/nowhere/at/all", "top/dangling") == 0);
    list("top");
    char target[64] = {0};
    CHECK(readlink("top/link", target, sizeof target) == 4);
    printf("readlink=%s\n", target);
    struct stat st;
    CHECK(lstat("top/link", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat("top/link", &st) == 0 && S_ISREG(st.st_mode));
    CHECK(stat("top/dangling", &st) == -1 && errno == ENOENT);
    CHECK(stat("top/a", &st) == 0 && S_ISDIR(st.st_mode));
    printf("a mode=%o\n", st.st_mode & 0777);
    CHECK(rmdir("top") == -1 && errno == ENOTEMPTY);
    mode_t old = umask(0);
    CHECK(mkdir("wide", 0777) == 0 && stat("wide", &st) == 0);
    printf("umask 0 mkdir 0777: %o\n", st.st_mode & 0777);
    CHECK(rmdir("wide") == 0);
    umask(022);
    CHECK(mkdir("wide", 0777) == 0 && stat("wide", &st) == 0);
    printf("umask 022 mkdir 0777: %o\n", st.st_mode & 0777);
    CHECK(rmdir("wide") == 0);
    umask(old);
    CHECK(chdir("top/a") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("cwd ends with top/a: %d\n", strlen(cwd) > 5 && strcmp(cwd + strlen(cwd) - 5, "top/a") == 0);
    CHECK(chdir("..") == 0);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(mkdirat(dfd, "c", 0755) == 0);
    fd = openat(dfd, "c/inner.txt", O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "x", 1) == 1 && close(fd) == 0);
    CHECK(fstatat(dfd, "c/inner.txt", &st, 0) == 0 && st.st_size == 1);
    CHECK(renameat(dfd, "c/inner.txt", dfd, "b/inner.txt") == 0);
    CHECK(unlinkat(dfd, "b/inner.txt", 0) == 0);
    CHECK(unlinkat(dfd, "c", AT_REMOVEDIR) == 0);
    CHECK(chdir("/") == 0 && fchdir(dfd) == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("fchdir back: %d\n", strcmp(cwd + strlen(cwd) - 3, "top") == 0);
    close(dfd);
    CHECK(chdir(start) == 0);
    list("top");
    CHECK(chdir("top/file") == -1 && errno == ENOTDIR);
    CHECK(opendir("nope") == NULL && errno == ENOENT);
    CHECK(unlink("top/link") == 0 && unlink("top/dangling") == 0 && unlink("top/file") == 0);
    CHECK(rmdir("top/a") == 0 && rmdir("top/b") == 0 && rmdir("top") == 0);
    puts("dirs ok");
    return 0;
}
