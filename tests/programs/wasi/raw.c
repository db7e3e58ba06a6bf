/* The preview-1 calls themselves, without libc in between: preopens, renumber,
 * readdir cookies and short buffers, poll_oneoff, fdstat, errno values. */
#include <stdint.h>
#include <stdlib.h>
#include <wasi/api.h>
#include "check.h"

#define RIGHTS_RW (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | \
                   __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                              __wasi_rights_t rights, __wasi_fd_t *fd) {
    return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, rights,
                            rights, 0, fd);
}

int main(void) {
    __wasi_prestat_t pre;
    char name[16] = {0};
    printf("prestat 3: %d", __wasi_fd_prestat_get(3, &pre));
    printf(" tag=%d len=%lu\n", pre.tag, (unsigned long)pre.u.dir.pr_name_len);
    printf("dir name: %d", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, sizeof name));
    printf(" [%s]\n", name);
    printf("prestat 0: %d\n", __wasi_fd_prestat_get(0, &pre));
    printf("prestat 7: %d\n", __wasi_fd_prestat_get(7, &pre));

    __wasi_fdstat_t fst;
    CHECK(__wasi_fd_fdstat_get(3, &fst) == 0);
    printf("fd 3 filetype=%d can open=%d readdir=%d\n", fst.fs_filetype,
           !!(fst.fs_rights_base & __WASI_RIGHTS_PATH_OPEN),
           !!(fst.fs_rights_base & __WASI_RIGHTS_FD_READDIR));
    printf("fdstat 77: %d\n", __wasi_fd_fdstat_get(77, &fst));

    __wasi_fd_t fd = 0, dfd = 0;
    CHECK(__wasi_path_create_directory(3, "d") == 0);
    printf("create existing dir: %d\n", __wasi_path_create_directory(3, "d"));
    CHECK(open_at(3, "d", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR |
                  __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_CREATE_FILE, &dfd) == 0);
    CHECK(__wasi_fd_fdstat_get(dfd, &fst) == 0);
    printf("opened dir filetype=%d\n", fst.fs_filetype);
    CHECK(open_at(dfd, "a.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RIGHTS_RW, &fd) == 0);
    CHECK(__wasi_fd_fdstat_get(fd, &fst) == 0);
    printf("file filetype=%d read=%d write=%d seek=%d flags=%d\n", fst.fs_filetype,
           !!(fst.fs_rights_base & __WASI_RIGHTS_FD_READ),
           !!(fst.fs_rights_base & __WASI_RIGHTS_FD_WRITE),
           !!(fst.fs_rights_base & __WASI_RIGHTS_FD_SEEK), fst.fs_flags);
    __wasi_ciovec_t out = {(const uint8_t *)"0123456789", 10};
    __wasi_size_t n = 0;
    CHECK(__wasi_fd_write(fd, &out, 1, &n) == 0 && n == 10);
    __wasi_filesize_t pos = 0;
    CHECK(__wasi_fd_tell(fd, &pos) == 0);
    printf("tell=%llu\n", (unsigned long long)pos);
    CHECK(__wasi_fd_seek(fd, -4, __WASI_WHENCE_END, &pos) == 0);
    printf("seek end-4=%llu\n", (unsigned long long)pos);
    __wasi_filestat_t fs;
    CHECK(__wasi_fd_filestat_get(fd, &fs) == 0);
    printf("filestat type=%d size=%llu nlink=%llu\n", fs.filetype, (unsigned long long)fs.size,
           (unsigned long long)fs.nlink);
    CHECK(__wasi_fd_filestat_set_size(fd, 3) == 0);
    CHECK(__wasi_path_filestat_get(dfd, 0, "a.txt", &fs) == 0);
    printf("after set_size: %llu\n", (unsigned long long)fs.size);
    printf("filestat missing: %d\n", __wasi_path_filestat_get(3, 0, "d/none", &fs));

    /* renumber onto another open fd: it is replaced, the old number is gone */
    __wasi_fd_t other = 0;
    CHECK(open_at(dfd, "b.txt", __WASI_OFLAGS_CREAT, RIGHTS_RW, &other) == 0);
    CHECK(__wasi_fd_renumber(fd, other) == 0);
    printf("old fd after renumber: %d\n", __wasi_fd_fdstat_get(fd, &fst));
    char back[8] = {0};
    __wasi_iovec_t in = {(uint8_t *)back, 3};
    CHECK(__wasi_fd_pread(other, &in, 1, 0, &n) == 0 && n == 3);
    printf("read via the new number: %s\n", back);
    printf("renumber bad fd: %d\n", __wasi_fd_renumber(55, 56));
    CHECK(__wasi_fd_close(other) == 0);
    printf("close again: %d\n", __wasi_fd_close(other));

    /* absolute paths and climbing out are not paths beneath a directory fd */
    printf("open absolute: %d\n", open_at(3, "/d", 0, RIGHTS_RW, &fd));
    printf("open escaping: %d\n", open_at(dfd, "../../x", 0, RIGHTS_RW, &fd));
    printf("open missing: %d\n", open_at(3, "nope", 0, RIGHTS_RW, &fd));
    printf("excl existing: %d\n",
           open_at(dfd, "a.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_RW, &fd));
    printf("dir flag on file: %d\n", open_at(dfd, "a.txt", __WASI_OFLAGS_DIRECTORY, 0, &fd));

    /* readdir with cookies, and a buffer too small for even one entry */
    for (int i = 0; i < 20; i++) {
        char p[32];
        snprintf(p, sizeof p, "f%02d", i);
        CHECK(open_at(dfd, p, __WASI_OFLAGS_CREAT, RIGHTS_RW, &fd) == 0);
        CHECK(__wasi_fd_close(fd) == 0);
    }
    uint8_t buf[4096];
    __wasi_size_t used = 0;
    CHECK(__wasi_fd_readdir(dfd, buf, 10, 0, &used) == 0);
    printf("tiny readdir buffer used=%lu\n", (unsigned long)used);
    /* walk with a 64-byte buffer: each call yields at most a couple of whole entries */
    __wasi_dircookie_t cookie = 0;
    int count = 0, calls = 0;
    for (;;) {
        CHECK(__wasi_fd_readdir(dfd, buf, 64, cookie, &used) == 0);
        calls++;
        size_t at = 0;
        int whole = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t e;
            memcpy(&e, buf + at, sizeof e);
            if (at + sizeof e + e.d_namlen > used)
                break;
            whole++;
            cookie = e.d_next;
            at += sizeof e + e.d_namlen;
        }
        count += whole;
        if (used < 64)
            break;
        CHECK(whole > 0);
    }
    printf("readdir by cookie: %d entries in more than 10 calls=%d\n", count, calls > 10);
    /* fails (Lind says notdir as Linux and POSIX's fdopendir do; Wasmtime says badf) */
    __wasi_fd_t f2;
    CHECK(open_at(dfd, "f00", 0, RIGHTS_RW, &f2) == 0);
    printf("readdir on a file fails: %d\n", __wasi_fd_readdir(f2, buf, sizeof buf, 0, &used) != 0);
    CHECK(__wasi_fd_close(f2) == 0);

    /* renames, links, removal */
    CHECK(__wasi_path_rename(dfd, "f00", 3, "moved") == 0);
    printf("renamed away: %d\n", __wasi_path_filestat_get(dfd, 0, "f00", &fs));
    CHECK(__wasi_path_link(3, 0, "moved", dfd, "hard") == 0);
    CHECK(__wasi_path_filestat_get(3, 0, "moved", &fs) == 0);
    printf("nlink=%llu\n", (unsigned long long)fs.nlink);
    CHECK(__wasi_path_symlink("moved", 3, "sym") == 0);
    char target[32] = {0};
    CHECK(__wasi_path_readlink(3, "sym", (uint8_t *)target, sizeof target, &used) == 0);
    printf("readlink=%.*s used=%lu\n", (int)used, target, (unsigned long)used);
    CHECK(__wasi_path_filestat_get(3, 0, "sym", &fs) == 0);
    printf("nofollow type=%d\n", fs.filetype);
    CHECK(__wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sym", &fs) == 0);
    printf("follow type=%d\n", fs.filetype);
    printf("unlink a dir: %d\n", __wasi_path_unlink_file(3, "d") != 0);
    printf("remove non-empty dir: %d\n", __wasi_path_remove_directory(3, "d"));
    CHECK(__wasi_path_unlink_file(3, "sym") == 0);
    printf("unlink missing: %d\n", __wasi_path_unlink_file(3, "sym"));

    /* poll_oneoff: the earlier of two clocks fires first */
    __wasi_subscription_t subs[2];
    __wasi_event_t ev[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 111;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 2000 * 1000000ull;
    subs[1] = subs[0];
    subs[1].userdata = 222;
    subs[1].u.u.clock.timeout = 10 * 1000000ull;
    __wasi_timestamp_t t0, t1;
    CHECK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0) == 0);
    CHECK(__wasi_poll_oneoff(subs, ev, 2, &n) == 0);
    CHECK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1) == 0);
    printf("poll: %lu event(s), first userdata=%llu type=%d error=%d quick=%d\n",
           (unsigned long)n, (unsigned long long)ev[0].userdata, ev[0].type, ev[0].error,
           t1 - t0 < 1500 * 1000000ull && t1 - t0 >= 10 * 1000000ull);
    subs[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    subs[0].u.u.clock.timeout = t1 - 1;
    CHECK(__wasi_poll_oneoff(subs, ev, 1, &n) == 0);
    printf("past deadline: %lu event(s) userdata=%llu\n", (unsigned long)n,
           (unsigned long long)ev[0].userdata);
    CHECK(__wasi_random_get((uint8_t *)buf, 0) == 0);
    CHECK(__wasi_sched_yield() == 0);
    __wasi_size_t argc = 0, argv_size = 0;
    CHECK(__wasi_args_sizes_get(&argc, &argv_size) == 0);
    printf("args: %lu, %lu bytes\n", (unsigned long)argc, (unsigned long)argv_size);
    printf("done\n");
    return 0;
}
