/* The corners the official wasi-testsuite probes, through the raw preview-1 calls:
 * rights, absolute and dangling symlinks, renumbering to bad fds, trailing slashes,
 * fd_filestat_set_*, seeking a directory, sock_shutdown on a file. Every line prints
 * the errno number, so the reference runtime and Lind must agree call by call. */
#include <stdint.h>
#include <string.h>
#include <wasi/api.h>
#include "check.h"

#define RIGHTS_ALL ((__wasi_rights_t)0x1FFFFFFF)

static __wasi_fd_t fd_of(const char *what, __wasi_errno_t err, __wasi_fd_t fd)
{
    printf("%s: %d\n", what, err);
    return err ? (__wasi_fd_t)-1 : fd;
}

static __wasi_fd_t open_with(const char *path, __wasi_lookupflags_t look, __wasi_oflags_t oflags,
                             __wasi_rights_t rights, __wasi_fdflags_t fdflags, const char *what)
{
    __wasi_fd_t fd = 0;
    return fd_of(what, __wasi_path_open(3, look, path, oflags, rights, rights, fdflags, &fd), fd);
}

int main(void)
{
    __wasi_fd_t fd, dir;
    size_t n = 0;
    __wasi_filesize_t at = 0;
    uint8_t buf[16] = "abcdef";
    __wasi_ciovec_t out = {buf, 6};
    __wasi_iovec_t in = {buf, sizeof buf};
    __wasi_filestat_t st;

    /* rights: a file opened for reading cannot be written, and the reverse */
    fd = open_with("f", 0, __WASI_OFLAGS_CREAT, RIGHTS_ALL, 0, "create f");
    printf("write all rights: %d %zu\n", __wasi_fd_write(fd, &out, 1, &n), n);
    __wasi_fd_close(fd);
    fd = open_with("f", 0, 0, __WASI_RIGHTS_FD_READ, 0, "open f read-only rights");
    printf("write without FD_WRITE: %d\n", __wasi_fd_write(fd, &out, 1, &n));
    printf("read with FD_READ: %d %zu\n", __wasi_fd_read(fd, &in, 1, &n), n);
    printf("seek without FD_SEEK: %d\n", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &at));
    printf("set size without rights: %d\n", __wasi_fd_filestat_set_size(fd, 2));
    __wasi_fd_close(fd);
    fd = open_with("f", 0, 0, __WASI_RIGHTS_FD_WRITE, 0, "open f write-only rights");
    printf("read without FD_READ: %d\n", __wasi_fd_read(fd, &in, 1, &n));
    __wasi_fd_close(fd);

    /* fd_filestat_set_size and _times */
    fd = open_with("f", 0, 0, RIGHTS_ALL, 0, "open f all rights");
    printf("set size 3: %d\n", __wasi_fd_filestat_set_size(fd, 3));
    printf("get: %d", __wasi_fd_filestat_get(fd, &st));
    printf(" size %llu\n", (unsigned long long)st.size);
    printf("set size 10: %d\n", __wasi_fd_filestat_set_size(fd, 10));
    printf("set times mtim: %d\n", __wasi_fd_filestat_set_times(fd, 0, 2000000000000000000ull,
                                                                 __WASI_FSTFLAGS_MTIM));
    __wasi_fd_filestat_get(fd, &st);
    printf("mtim %llu size %llu\n", (unsigned long long)st.mtim, (unsigned long long)st.size);
    printf("set times both now and given: %d\n",
           __wasi_fd_filestat_set_times(fd, 5, 5, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    printf("path set times: %d\n", __wasi_path_filestat_set_times(
               3, 0, "f", 0, 1000000000000000000ull, __WASI_FSTFLAGS_MTIM));
    __wasi_path_filestat_get(3, 0, "f", &st);
    printf("path mtim %llu\n", (unsigned long long)st.mtim);

    /* fd_renumber */
    printf("renumber to 77: %d\n", __wasi_fd_renumber(fd, 77));
    printf("renumber from 77: %d\n", __wasi_fd_renumber(77, fd));
    printf("renumber to itself: %d\n", __wasi_fd_renumber(fd, fd));
    __wasi_fd_close(fd);

    /* sock_shutdown on a file, a directory, a bad fd */
    fd = open_with("f", 0, 0, RIGHTS_ALL, 0, "open f again");
    printf("sock_shutdown file: %d\n", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR));
    printf("sock_shutdown dir: %d\n", __wasi_sock_shutdown(3, __WASI_SDFLAGS_RD));
    printf("sock_shutdown bad fd: %d\n", __wasi_sock_shutdown(99, __WASI_SDFLAGS_RD));
    __wasi_fd_close(fd);

    /* seeking a directory */
    CHECK(__wasi_path_create_directory(3, "d") == 0);
    open_with("d", 0, __WASI_OFLAGS_DIRECTORY, RIGHTS_ALL, 0, "open d with write rights");
    dir = open_with("d", 0, __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
                    __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_READDIR, 0, "open d");
    __wasi_fdstat_t fst;
    __wasi_fd_fdstat_get(dir, &fst);
    printf("dir rights: seek %d\n", !!(fst.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
    printf("seek dir: %d\n", __wasi_fd_seek(dir, 0, __WASI_WHENCE_CUR, &at));
    printf("tell dir: %d\n", __wasi_fd_tell(dir, &at));
    printf("read dir as a file: %d\n", __wasi_fd_read(dir, &in, 1, &n));
    __wasi_fd_close(dir);

    /* trailing slashes */
    open_with("f/", 0, 0, RIGHTS_ALL, 0, "open f/");
    fd = open_with("d/", 0, 0, RIGHTS_ALL, 0, "open d/");
    if (fd != (__wasi_fd_t)-1)
        __wasi_fd_close(fd);
    open_with("new/", 0, __WASI_OFLAGS_CREAT, RIGHTS_ALL, 0, "create new/");
    printf("mkdir e/: %d\n", __wasi_path_create_directory(3, "e/"));
    printf("unlink f/: %d\n", __wasi_path_unlink_file(3, "f/"));
    /* rmdir "e/" is left out: runtimes differ, and the testsuite no longer tests it */
    printf("rmdir f/: %d\n", __wasi_path_remove_directory(3, "f/"));
    printf("rename f to g/: %d\n", __wasi_path_rename(3, "f", 3, "g/"));
    printf("rename d/ to d2/: %d\n", __wasi_path_rename(3, "d/", 3, "d2/"));
    printf("filestat f/: %d\n", __wasi_path_filestat_get(3, 0, "f/", &st));
    printf("link f to h/: %d\n", __wasi_path_link(3, 0, "f", 3, "h/"));
    printf("symlink f at s/: %d\n", __wasi_path_symlink("f", 3, "s/"));

    /* symlinks: absolute targets, dangling, loops, NOFOLLOW */
    printf("symlink absolute: %d\n", __wasi_path_symlink("/f", 3, "abs"));
    open_with("abs", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, RIGHTS_ALL, 0, "open abs following");
    printf("symlink dangling: %d\n", __wasi_path_symlink("nowhere", 3, "dangle"));
    open_with("dangle", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, RIGHTS_ALL, 0, "open dangle");
    open_with("dangle", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, __WASI_OFLAGS_CREAT, RIGHTS_ALL, 0,
              "create through dangle");
    printf("symlink loop: %d\n", __wasi_path_symlink("loop", 3, "loop"));
    open_with("loop", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, RIGHTS_ALL, 0, "open loop");
    open_with("loop", 0, 0, RIGHTS_ALL, 0, "open loop nofollow");
    printf("filestat abs nofollow: %d", __wasi_path_filestat_get(3, 0, "abs", &st));
    printf(" type %d\n", st.filetype);
    printf("symlink over file: %d\n", __wasi_path_symlink("x", 3, "d"));
    char target[32] = {0};
    printf("readlink abs: %d", __wasi_path_readlink(3, "abs", (uint8_t *)target, sizeof target, &n));
    printf(" %.*s\n", (int)n, target);
    printf("readlink short buffer: %d", __wasi_path_readlink(3, "dangle", (uint8_t *)target, 3, &n));
    printf(" %zu\n", n);
    printf("readlink file: %d\n", __wasi_path_readlink(3, "f", (uint8_t *)target, sizeof target, &n));
    printf("done\n");
    return 0;
}
