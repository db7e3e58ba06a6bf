/* File system calls beyond the basics: each result printed as a number or errno, so
 * the output in a cage equals the output natively (run in an empty directory). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#define BAD ((void *)0xfffffff0)

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 errno %d\n", what, errno);
    else printf("%s = %ld\n", what, r);
}

static void contents(const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s holds %zd [%s]\n", path, n, buf);
}

int main(void) {
    int fd = open("a", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdef", 16);

    /* times: utime/utimes/futimesat and the raw calls */
    struct utimbuf ub = {1000000000, 1100000000};
    show("utime", utime("a", &ub));
    struct stat st;
    stat("a", &st);
    printf("atime %lld mtime %lld\n", (long long)st.st_atime, (long long)st.st_mtime);
    struct timeval tv[2] = {{1200000000, 5}, {1300000000, 7}};
    show("utimes", utimes("a", tv));
    stat("a", &st);
    printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atime, st.st_atim.tv_nsec,
           (long long)st.st_mtime, st.st_mtim.tv_nsec);
    show("SYS_utime", syscall(SYS_utime, "a", &ub));
    show("SYS_utimes", syscall(SYS_utimes, "a", tv));
    show("SYS_futimesat", syscall(SYS_futimesat, AT_FDCWD, "a", tv));
    stat("a", &st);
    printf("mtime %lld\n", (long long)st.st_mtime);
    struct timeval badtv[2] = {{1, 1000000}, {1, 0}};
    show("SYS_utimes bad usec", syscall(SYS_utimes, "a", badtv));
    show("SYS_utimes efault", syscall(SYS_utimes, "a", BAD));
    show("SYS_utime missing", syscall(SYS_utime, "missing", NULL));

    /* statx: the fields stat has, the same values */
    struct statx sx;
    show("statx", statx(AT_FDCWD, "a", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
    stat("a", &st);
    printf("basic %x size %lld mode %o nlink %u own %d ino %d mtime %d.%d dev %d blksize %d\n",
           sx.stx_mask & STATX_BASIC_STATS, (long long)sx.stx_size, sx.stx_mode, sx.stx_nlink,
           sx.stx_uid == getuid() && sx.stx_gid == getgid(), sx.stx_ino == st.st_ino,
           sx.stx_mtime.tv_sec == st.st_mtime, sx.stx_mtime.tv_nsec == st.st_mtim.tv_nsec,
           makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev, sx.stx_blksize == st.st_blksize);
    show("statx empty path", statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
    printf("size %lld\n", (long long)sx.stx_size);
    show("statx dir", statx(AT_FDCWD, ".", 0, STATX_TYPE, &sx));
    printf("dir %d\n", S_ISDIR(sx.stx_mode));
    show("statx missing", statx(AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx));
    show("statx bad flags", statx(AT_FDCWD, "a", 0x1, STATX_BASIC_STATS, &sx));
    show("statx both syncs", statx(AT_FDCWD, "a", 0x6000, STATX_BASIC_STATS, &sx));
    show("statx reserved", statx(AT_FDCWD, "a", 0, 0x80000000U, &sx));
    show("statx efault", syscall(SYS_statx, AT_FDCWD, "a", 0, STATX_BASIC_STATS, BAD));

    /* statfs */
    struct statfs sf;
    show("statfs", statfs(".", &sf));
    printf("bsize>0 %d blocks>=bfree %d bfree>=bavail %d namelen %ld\n", sf.f_bsize > 0,
           sf.f_blocks >= sf.f_bfree, sf.f_bfree >= sf.f_bavail, (long)sf.f_namelen);
    struct statfs sf2;
    show("fstatfs", fstatfs(fd, &sf2));
    printf("same type %d type %lx\n", sf.f_type == sf2.f_type, (long)sf.f_type);
    show("statfs missing", statfs("missing", &sf));
    show("statfs efault", syscall(SYS_statfs, ".", BAD));
    show("fstatfs ebadf", fstatfs(99, &sf));
    int p[2];
    pipe(p);
    show("fstatfs pipe", fstatfs(p[0], &sf));
    printf("pipefs %d\n", sf.f_type == 0x50495045);

    /* sendfile: with an offset pointer (file position untouched) and without */
    int out = open("b", O_RDWR | O_CREAT | O_TRUNC, 0644);
    off_t off = 4;
    show("sendfile off", sendfile(out, fd, &off, 5));
    printf("off now %lld pos %lld\n", (long long)off, (long long)lseek(fd, 0, SEEK_CUR));
    lseek(fd, 10, SEEK_SET);
    show("sendfile pos", sendfile(out, fd, NULL, 100));
    printf("pos %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    contents("b");
    show("sendfile to pipe", sendfile(p[1], fd, (off = 0, &off), 3));
    char pb[8] = {0};
    read(p[0], pb, 3);
    printf("pipe got [%s]\n", pb);
    show("sendfile from pipe", sendfile(out, p[0], NULL, 3));
    show("sendfile ebadf", sendfile(out, 99, NULL, 3));
    int ro = open("a", O_RDONLY);
    show("sendfile to read-only", sendfile(ro, fd, NULL, 3));
    show("sendfile efault", sendfile(out, fd, BAD, 3));
    close(ro);

    /* copy_file_range across two files, at offsets and at the positions */
    int c = open("c", O_RDWR | O_CREAT | O_TRUNC, 0644);
    loff_t in_off = 2, out_off = 3;
    show("copy_file_range offs", copy_file_range(fd, &in_off, c, &out_off, 4, 0));
    printf("in_off %lld out_off %lld\n", (long long)in_off, (long long)out_off);
    lseek(fd, 12, SEEK_SET);
    lseek(c, 0, SEEK_SET);
    show("copy_file_range pos", copy_file_range(fd, NULL, c, NULL, 2, 0));
    printf("pos in %lld out %lld\n", (long long)lseek(fd, 0, SEEK_CUR), (long long)lseek(c, 0, SEEK_CUR));
    char cb[16] = {0};
    pread(c, cb, sizeof cb - 1, 0);
    printf("c: %02x %02x %02x %02x %c%c%c%c\n", cb[0], cb[1], cb[2], cb[3], cb[3], cb[4], cb[5], cb[6]);
    show("copy_file_range flags", copy_file_range(fd, NULL, c, NULL, 2, 1));
    show("copy_file_range pipe", copy_file_range(p[0], NULL, c, NULL, 2, 0));
    in_off = 0; out_off = 2;
    show("copy_file_range overlap", copy_file_range(fd, &in_off, fd, &out_off, 4, 0));
    show("copy_file_range ebadf", copy_file_range(99, NULL, c, NULL, 2, 0));
    show("copy_file_range at eof", copy_file_range(fd, (in_off = 100, &in_off), c, NULL, 2, 0));

    /* flushing and advice */
    sync();
    printf("sync done\n");
    show("syncfs", syncfs(fd));
    show("syncfs ebadf", syncfs(99));
    show("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    show("sync_file_range flags", sync_file_range(fd, 0, 0, 8));
    show("sync_file_range neg", sync_file_range(fd, -1, 0, 0));
    show("sync_file_range pipe", sync_file_range(p[0], 0, 0, 0));
    printf("fadvise %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    printf("fadvise bad %d\n", posix_fadvise(fd, 0, 0, 99));
    printf("fadvise pipe %d\n", posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL));
    printf("fadvise ebadf %d\n", posix_fadvise(99, 0, 0, POSIX_FADV_NORMAL));
    show("readahead", readahead(fd, 0, 4096));
    show("readahead pipe", readahead(p[0], 0, 4096));
    int wo = open("a", O_WRONLY);
    show("readahead write-only", readahead(wo, 0, 10));
    close(wo);

    /* preadv/pwritev and the v2 forms */
    char x[4] = {0}, y[5] = {0};
    struct iovec iov[2] = {{x, 3}, {y, 4}};
    show("preadv", preadv(fd, iov, 2, 5));
    printf("[%s][%s] pos %lld\n", x, y, (long long)lseek(fd, 0, SEEK_CUR));
    struct iovec wv[2] = {{"AB", 2}, {"CD", 2}};
    show("pwritev", pwritev(c, wv, 2, 1));
    contents("c");
    lseek(fd, 1, SEEK_SET);
    show("preadv2 -1", preadv2(fd, iov, 2, -1, 0));
    printf("[%s][%s] pos %lld\n", x, y, (long long)lseek(fd, 0, SEEK_CUR));
    show("preadv2 at 9 hipri", preadv2(fd, iov, 2, 9, RWF_HIPRI));
    printf("[%s][%s]\n", x, y);
    show("pwritev2 dsync", pwritev2(c, wv, 1, 0, RWF_DSYNC));
    show("pwritev2 bad flag", pwritev2(c, wv, 1, 0, 0x100000));
    show("preadv neg", preadv(fd, iov, 2, -5));
    show("preadv pipe", preadv(p[0], iov, 2, 0));
    struct iovec badv[1] = {{BAD, 4}};
    show("preadv efault", preadv(fd, badv, 1, 0));
    show("preadv iov efault", preadv(fd, BAD, 1, 0));
    show("pwritev read-only", pwritev(open("a", O_RDONLY), wv, 2, 0));
    contents("c");

    /* close_range */
    int d1 = dup(fd), d2 = dup(fd), d3 = dup(fd);
    show("close_range cloexec", syscall(SYS_close_range, d1, d2, 4));
    printf("cloexec %d %d %d\n", fcntl(d1, F_GETFD), fcntl(d2, F_GETFD), fcntl(d3, F_GETFD));
    show("close_range", syscall(SYS_close_range, d1, d3, 0));
    show("fcntl after", fcntl(d2, F_GETFD));
    show("close_range bad", syscall(SYS_close_range, 5, 4, 0));
    show("close_range flags", syscall(SYS_close_range, 5, 6, 1));
    show("close_range none open", syscall(SYS_close_range, 500, ~0U, 0));

    /* mknod */
    show("mknod reg", mknod("r", S_IFREG | 0640, 0));
    stat("r", &st);
    printf("r mode %o size %lld\n", st.st_mode, (long long)st.st_size);
    show("mknod plain", mknod("r2", 0600, 0));
    show("mknod exists", mknod("r", S_IFREG | 0600, 0));
    show("mknod chr", mknod("dev", S_IFCHR | 0600, 0x0103));
    show("mknod blk", mknod("blk", S_IFBLK | 0600, 0x0801));
    show("mknod dir", mknod("d", S_IFDIR | 0700, 0));
    show("mknodat fifo", mknodat(AT_FDCWD, "f", S_IFIFO | 0666, 0));
    lstat("f", &st);
    printf("f fifo %d perm %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
    show("mkfifo exists", mkfifo("f", 0600));
    show("mknod efault", syscall(SYS_mknod, BAD, S_IFREG | 0600, 0));
    int nb = open("f", O_WRONLY | O_NONBLOCK);
    printf("nonblocking writer, no reader: %d errno %d\n", nb, errno);
    int rd = open("f", O_RDONLY | O_NONBLOCK);
    printf("nonblocking reader %d\n", rd >= 0);
    close(rd);

    /* a FIFO between a forked writer and a reader: both opens wait for each other */
    pid_t pid = fork();
    if (pid == 0) {
        int w = open("f", O_WRONLY);
        write(w, "through the fifo", 16);
        close(w);
        _exit(0);
    }
    int r = open("f", O_RDONLY);
    char fb[32] = {0};
    ssize_t got = 0, n;
    while ((n = read(r, fb + got, sizeof fb - 1 - got)) > 0) got += n;
    printf("reader got %zd [%s]\n", got, fb);
    close(r);
    int status;
    waitpid(pid, &status, 0);
    printf("writer status %d\n", status);
    pid = fork();
    if (pid == 0) {
        int rr = open("f", O_RDONLY);
        char b[8] = {0};
        read(rr, b, 7);
        printf("child read [%s]\n", b);
        _exit(0);
    }
    int w = open("f", O_WRONLY);
    write(w, "reverse", 7);
    close(w);
    waitpid(pid, &status, 0);
    fflush(stdout);
    printf("reader status %d\n", status);

    /* a blocking FIFO open ends with EINTR when a handler (without SA_RESTART) runs */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    show("open fifo interrupted", open("f", O_RDONLY));
    printf("alarms %d\n", alarms);

    /* memfd_create */
    int m = memfd_create("scratch", MFD_CLOEXEC);
    printf("memfd ok %d cloexec %d\n", m >= 0, fcntl(m, F_GETFD));
    write(m, "in memory", 9);
    fstat(m, &st);
    printf("memfd size %lld reg %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    ftruncate(m, 8192);
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    printf("mapped [%.9s]\n", map);
    map[0] = 'I';
    msync(map, 8192, MS_SYNC);   /* a cage's shared file pages reach the file here */
    char mb[10] = {0};
    pread(m, mb, 9, 0);
    printf("through the fd [%s]\n", mb);
    show("memfd flags", memfd_create("x", 0x100));
    show("memfd efault", syscall(SYS_memfd_create, BAD, 0));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    show("memfd long name", memfd_create(longname, 0));
    return 0;
}
