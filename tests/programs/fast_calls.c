/* poll, select, access, readlink, unlink, rmdir and rename of what the C trampoline
 * serves (pipes, files and links of the cage's tree), and the *at calls from directory
 * fds (opened by the trampoline, listed by the microvisor, opened O_PATH by it), 200
 * times each,
 * errors among them:
 * tests/test_trampolines.py counts that none reached the Python handler, and compares
 * what they answered with gcc's build. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    int p[2];
    if (pipe(p))
        return 1;
    close(open("file", O_CREAT | O_WRONLY, 0644));
    symlink("file", "link");
    long answers[13] = {0};
    int high_read = dup2(p[0], 1023), high_write = dup2(p[1], 65);   /* n = 1024 */
    mkdir("dir", 0755);
    close(open("dir/in", O_CREAT | O_WRONLY, 0644));
    int here = open("dir", O_RDONLY | O_DIRECTORY);       /* opened in C, never adopted */
    DIR *listed = opendir("dir");
    while (readdir(listed) != NULL)
        ;                                                   /* listed: the microvisor's */
    int path_only = open("dir", O_PATH | O_DIRECTORY);     /* opened by the microvisor */
    int dirs[3] = {here, dirfd(listed), path_only};
    struct pollfd many[64];     /* as many entries as the trampoline takes */
    for (int i = 0; i < 64; i++)
        many[i] = (struct pollfd){i % 2 ? p[1] : p[0], i % 2 ? POLLOUT : POLLIN, 0};
    for (int i = 0; i < 200; i++) {
        if (i % 2)
            write(p[1], "x", 1);
        struct pollfd both[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
        answers[0] += poll(both, 3, 0) * 10 + both[0].revents;
        fd_set rs, ws;
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_SET(p[0], &rs);
        FD_SET(p[1], &ws);
        struct timeval tv = {0, 0};
        answers[1] += select(p[1] + 1, &rs, &ws, NULL, &tv) * 10 + FD_ISSET(p[0], &rs);
        answers[2] += access("file", i % 4 == 0 ? F_OK : i % 4 == 1 ? R_OK : i % 4 == 2 ? W_OK
                                                                              : X_OK);
        answers[3] += faccessat(AT_FDCWD, i % 2 ? "missing" : "link", R_OK, 0);
        char text[16];
        answers[4] += readlink(i % 2 ? "link" : "file", text, sizeof text);
        answers[5] += readlinkat(AT_FDCWD, "link", text, 2) + (text[0] == 'f');
        answers[6] += poll(many, 64, 0);
        struct timeval none = {0, 0};
        answers[7] += select(0, NULL, NULL, NULL, &none);     /* no fds: a sleep of 0 */
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_SET(high_read, &rs);
        FD_SET(high_write, &ws);
        FD_SET(p[0], &ws);
        answers[8] += select(high_read + 1, &rs, &ws, NULL, &none) * 100 +
                      FD_ISSET(high_read, &rs) * 10 + FD_ISSET(high_write, &ws);
        close(open("m1", O_CREAT | O_WRONLY, 0644));
        mkdir("dd", 0755);
        answers[9] += rename("m1", "m2");
        answers[9] += renameat(AT_FDCWD, "m2", AT_FDCWD, "dd/m3") * 2;
        answers[9] += rename("missing", "m4") * 4;
        answers[9] += (errno == ENOENT) * 8;
        answers[10] += unlinkat(AT_FDCWD, "dd/m3", 0);
        answers[10] += unlink("dd/m3") * 2;
        answers[10] += (errno == ENOENT) * 4;
        answers[10] += unlinkat(AT_FDCWD, "file", AT_REMOVEDIR) * 8;
        answers[10] += (errno == ENOTDIR) * 16;
        answers[10] += rmdir("dd") * 32;
        int at = dirs[i % 3];
        struct stat st;
        answers[11] += fstatat(at, "in", &st, 0) + fstatat(at, "none", &st, 0) * 2;
        int opened = openat(at, "in", O_RDONLY);
        answers[11] += (opened >= 0) * 4 + faccessat(at, "in", R_OK | W_OK, 0) * 8;
        close(opened);
        answers[12] += readlinkat(at, "in", text, sizeof text);
        answers[12] += (errno == EINVAL) * 2;
        answers[12] += renameat(at, "in", at, "out") * 4 + renameat(at, "out", at, "in") * 8;
        answers[12] += unlinkat(at, "none", 0) * 16;
        if (i % 2) {
            char c;
            read(p[0], &c, 1);
        }
    }
    for (int k = 0; k < 13; k++)
        printf("%ld ", answers[k]);
    printf("\n");
    return 0;
}
