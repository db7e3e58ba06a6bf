/* readlink and readlinkat as Linux answers them: the trampoline reads a link
 * whose path it resolves itself, the microvisor the rest (a dirfd, a name ending in
 * '/', /proc); both must give the same text, truncation and errors. Natively the
 * program becomes uid 1000 in a directory of its own (a cage is uid 1000 already), so
 * a directory it may not search says EACCES in both. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as_user_1000.h"

static void show(const char *what, ssize_t n, const char *buf)
{
    if (n < 0)
        printf("%-28s -1 errno %d\n", what, errno);
    else
        printf("%-28s %zd [%.*s]\n", what, n, (int)(n > 60 ? 60 : n), buf);
}

static void read_link(const char *path, size_t size)
{
    char buf[5000], what[80];
    memset(buf, '#', sizeof buf);
    errno = 0;
    ssize_t n = readlink(path, buf, size);
    snprintf(what, sizeof what, "%.20s, %zu", path, size);
    show(what, n, buf);
    if (n >= 0 && (size_t)n < sizeof buf && buf[n] != '#')
        printf("  wrote past the text\n");
}

int main(void)
{
    become_user_1000();
    char long_target[4001];
    memset(long_target, 't', sizeof long_target - 1);
    long_target[sizeof long_target - 1] = 0;
    close(open("file", O_CREAT | O_WRONLY, 0644));
    mkdir("dir", 0755);
    mkdir("dir/sub", 0755);
    close(open("dir/sub/deep", O_CREAT | O_WRONLY, 0644));
    symlink("file", "to_file");
    symlink("/somewhere/absolute/x", "absolute");
    symlink("dir/sub", "to_sub");
    symlink("../../dir/sub/deep", "dir/sub/up_and_down");
    symlink("missing", "dangling");
    symlink("loop2", "loop1");
    symlink("loop1", "loop2");
    symlink(long_target, "long");
    symlink("to_sub", "chain");
    mkdir("shut", 0755);
    symlink("file", "shut/link");
    chmod("shut", 0600);

    static const char *const paths[] = {
        "to_file", "absolute", "to_sub", "dir/sub/up_and_down", "dangling", "loop1", "long",
        "chain", "to_sub/deep", "chain/deep", "file", "dir", ".", "missing", "file/x",
        "to_sub/", "to_file/", "shut/link", "./to_file", "dir/../to_file", "/", "",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        read_link(paths[i], 4500);
    read_link("to_file", 2);
    read_link("to_file", 1);
    read_link("to_file", 0);
    read_link("long", 4000);
    read_link("long", 3999);
    errno = 0;
    show("size -1", readlink("to_file", long_target, (size_t)-1), long_target);

    char buf[100];
    int dir = open("dir", O_RDONLY | O_DIRECTORY);
    errno = 0;
    show("readlinkat dirfd", readlinkat(dir, "sub/up_and_down", buf, sizeof buf), buf);
    errno = 0;
    show("readlinkat AT_FDCWD", readlinkat(AT_FDCWD, "to_sub", buf, sizeof buf), buf);
    close(dir);

    errno = 0;
    show("buffer at address 8", readlink("to_file", (char *)8, 10), "");
    /* (mprotect: a cage's mmap does not apply its own prot, as README says) */
    char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(ro, 4096, PROT_READ);
    errno = 0;
    show("read-only buffer", readlink("to_file", ro, 10), "");
    errno = 0;
    show("read-only buffer, no link", readlink("file", ro, 10), "");

    chmod("shut", 0755);
    return 0;
}
