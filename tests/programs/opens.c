/* open() and close() as a program sees them: numbers, errors, sharing, directories,
 * FIFOs, locks, limits, threads, opens for writing and creating. Lind serves plain
 * opens in the trampoline and the rest in the microvisor; the two must hand out
 * numbers and files as one kernel does. Compared with the gcc build line by line; relative paths only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s (errno %d)\n", what, errno);
        failures++;
    }
}

static void put(const char *name, const char *text)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), name);
    close(fd);
}

static const char *err(int r)
{
    static char text[32];
    snprintf(text, sizeof text, "errno %d", errno);   /* C libraries word them apart */
    return r >= 0 ? "ok" : text;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void numbers(void)
{
    int a = open("one", O_RDONLY), b = open("two", O_RDONLY | O_CLOEXEC), c = open("one", O_RDONLY);
    printf("numbers: %d %d %d\n", a, b, c);
    close(b);
    int p[2];
    check(pipe(p) == 0, "pipe");
    printf("pipe took the freed number: %d %d\n", p[0], p[1]);
    int d = open("two", O_RDONLY);
    printf("next open: %d\n", d);
    int e = dup(a);
    printf("dup of an opened fd: %d\n", e);
    char buf[8] = {0};
    check(read(e, buf, 3) == 3, "read through dup");
    char more[8] = {0};
    check(read(a, more, 3) == 3, "read through original");
    printf("shared offset: %s|%s\n", buf, more);
    printf("cloexec: a=%d d=%d\n", fcntl(a, F_GETFD), fcntl(d, F_GETFD));
    int fl = fcntl(a, F_GETFL);
    printf("flags: access=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_NONBLOCK));
    int n = open("one", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fl = fcntl(n, F_GETFL);
    printf("O_NONBLOCK kept: %d cloexec=%d\n", !!(fl & O_NONBLOCK), fcntl(n, F_GETFD));
    check(dup2(p[1], c) == c, "dup2 over an opened fd");
    check(write(c, "x", 1) == 1, "write to the pipe at the old number");
    printf("through the pipe: %zd\n", read(p[0], buf, 1));
    struct stat st, by_name;
    check(fstat(d, &st) == 0, "fstat");
    printf("fstat: regular=%d size=%lld mine=%d\n", S_ISREG(st.st_mode), (long long)st.st_size,
           st.st_uid == geteuid() && st.st_gid == getegid());
    check(stat("sub/../two", &by_name) == 0, "stat");   /* through the microvisor: a `..` */
    printf("fstat and stat agree: %d\n", st.st_dev == by_name.st_dev &&
           st.st_ino == by_name.st_ino && st.st_mode == by_name.st_mode &&
           st.st_nlink == by_name.st_nlink && st.st_uid == by_name.st_uid &&
           st.st_gid == by_name.st_gid && st.st_size == by_name.st_size &&
           st.st_blksize == by_name.st_blksize && st.st_blocks == by_name.st_blocks &&
           st.st_mtim.tv_sec == by_name.st_mtim.tv_sec &&
           st.st_mtim.tv_nsec == by_name.st_mtim.tv_nsec &&
           st.st_ctim.tv_nsec == by_name.st_ctim.tv_nsec);
    check(fstat(p[0], &st) == 0, "fstat of a pipe");
    printf("fstat of a pipe: fifo=%d\n", S_ISFIFO(st.st_mode));
    printf("fstat of a closed fd: %s\n", err(fstat(40, &st)));
    printf("raw fstat into a bad pointer: %s\n", err(syscall(SYS_fstat, d, -256L)));
    check(lseek(d, 2, SEEK_SET) == 2, "lseek");
    check(pread(d, buf, 2, 0) == 2, "pread");
    memset(buf, 0, sizeof buf);
    check(read(d, buf, 3) == 3, "read after lseek");
    printf("read after lseek: %s\n", buf);
    for (int fd = 3; fd < 16; fd++)
        close(fd);
    printf("all closed, next: %d\n", open("one", O_RDONLY));
    close(3);
}

static void errors(void)
{
    printf("missing: %s\n", err(open("missing", O_RDONLY)));
    printf("below a file: %s\n", err(open("one/x", O_RDONLY)));
    printf("file as directory: %s\n", err(open("one", O_RDONLY | O_DIRECTORY)));
    printf("trailing slash on a file: %s\n", err(open("one/", O_RDONLY)));
    printf("empty: %s\n", err(open("", O_RDONLY)));
    printf("symlink, O_NOFOLLOW: %s\n", err(open("link", O_RDONLY | O_NOFOLLOW)));
    int l = open("link", O_RDONLY);
    char buf[8] = {0};
    printf("symlink followed: %s %zd\n", err(l), read(l, buf, 3));
    close(l);
    printf("dotted path: %s\n", err(l = open(".//sub/.//inner", O_RDONLY)));
    close(l);
    printf("dot-dot path: %s\n", err(l = open("sub/../one", O_RDONLY)));
    close(l);
    printf("dot-dot through a file: %s\n", err(open("one/../two", O_RDONLY)));
    printf("bad pointer: %s\n", err(open((const char *)-64L, O_RDONLY)));
    static char longest[5000];
    memset(longest, 'a', sizeof longest - 1);
    printf("too long: %s\n", err(open(longest, O_RDONLY)));
    int once = open("one", O_RDONLY);
    close(once);
    printf("close twice: %s\n", err(close(once)));
    printf("close of a never-opened fd: %s\n", err(close(900)));
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
           a->st_nlink == b->st_nlink && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void stats(void)
{
    struct stat a, b;
    const char *r = err(stat("one", &a));
    printf("stat: %s regular=%d size=%lld mine=%d\n", r, S_ISREG(a.st_mode),
           (long long)a.st_size, a.st_uid == geteuid());
    check(stat("./sub/../one", &b) == 0, "stat with ..");
    printf("stat agrees with the microvisor's: %d\n", same_file(&a, &b));
    r = err(stat("link", &a));
    printf("stat through a link: %s %d\n", r, S_ISREG(a.st_mode));
    r = err(lstat("link", &b));
    printf("lstat of a link: %s %d size=%lld\n", r, S_ISLNK(b.st_mode), (long long)b.st_size);
    r = err(lstat("one", &b));
    printf("lstat of a file: %s %d\n", r, S_ISREG(b.st_mode));
    r = err(stat("sub", &a));
    printf("stat of a directory: %s %d\n", r, S_ISDIR(a.st_mode));
    check(stat("sub/", &b) == 0, "stat with a slash");
    printf("with a trailing slash, the same: %d\n", same_file(&a, &b));
    r = err(stat("/", &a));
    printf("stat of the root: %s %d\n", r, S_ISDIR(a.st_mode));
    printf("stat missing: %s\n", err(stat("missing", &a)));
    printf("stat below a file: %s\n", err(stat("one/x", &a)));
    printf("stat empty: %s\n", err(stat("", &a)));
    printf("raw stat into a bad pointer: %s\n",
           err(syscall(SYS_newfstatat, AT_FDCWD, "one", -256L, 0)));
    printf("raw stat from a bad path: %s\n",
           err(syscall(SYS_newfstatat, AT_FDCWD, -256L, &a, 0)));
    printf("fstatat from a directory fd: %s\n", err(fstatat(open("sub", O_RDONLY), "inner", &a, 0)));
    close(3);
}

static void directories(void)
{
    int d = open("sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    printf("directory: %s %d\n", err(d), fstat(d, &st) == 0 && S_ISDIR(st.st_mode));
    int f = openat(d, "inner", O_RDONLY);
    char buf[16] = {0};
    printf("openat from it: %s %zd %s\n", err(f), read(f, buf, 5), buf);
    close(f);
    close(d);
    DIR *dir = opendir("sub");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)) && n < 16)
        names[n++] = strdup(e->d_name);
    closedir(dir);
    qsort(names, n, sizeof *names, cmp);
    printf("listing:");
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
    check(chdir("sub") == 0, "chdir");
    f = open("inner", O_RDONLY);
    printf("relative to a new cwd: %s\n", err(f));
    close(f);
    check(chdir("..") == 0, "chdir back");
}

static void forked(void)
{
    int fd = open("one", O_RDONLY);
    char buf[8] = {0};
    check(read(fd, buf, 2) == 2, "read before fork");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char mine[8] = {0};
        ssize_t r = read(fd, mine, 2);
        int other = open("two", O_RDONLY);
        printf("child read %zd %s, opens at %d\n", r, mine, other);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    memset(buf, 0, sizeof buf);
    check(read(fd, buf, 2) == 2, "read after fork");
    printf("parent after the child: %s, next open %d\n", buf, open("two", O_RDONLY));
    close(fd);
    close(fd + 1);
}

static void fifos(void)
{
    check(mkfifo("fifo", 0600) == 0, "mkfifo");
    int r = open("fifo", O_RDONLY | O_NONBLOCK);
    int w = open("fifo", O_WRONLY | O_NONBLOCK);
    printf("fifo ends: %s %s\n", err(r), err(w));
    check(write(w, "ping", 4) == 4, "fifo write");
    char buf[8] = {0};
    printf("fifo read: %zd %s\n", read(r, buf, 4), buf);
    close(r);
    close(w);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int cw = open("fifo", O_WRONLY);   /* waits for the reader */
        write(cw, "pong", 4);
        _exit(0);
    }
    r = open("fifo", O_RDONLY);            /* waits for the writer */
    memset(buf, 0, sizeof buf);
    ssize_t got = 0;
    while (got < 4) {
        ssize_t k = read(r, buf + got, 4 - got);
        if (k <= 0)
            break;
        got += k;
    }
    printf("blocking fifo read: %zd %s\n", got, buf);
    waitpid(pid, NULL, 0);
    close(r);
    unlink("fifo");
}

static void lock_seen_by_child(const char *when)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("one", O_RDWR);
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        fcntl(fd, F_GETLK, &q);
        printf("%s closing another fd: %s\n", when, q.l_type == F_UNLCK ? "unlocked" : "locked");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void locks(void)
{
    int w = open("one", O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    check(fcntl(w, F_SETLK, &fl) == 0, "lock");
    lock_seen_by_child("before");
    close(open("one", O_RDONLY));   /* any close of the file drops the process's locks */
    lock_seen_by_child("after");
    close(w);
}

static void limit(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {8, 8};
        check(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
        int last = -1, fd;
        while ((fd = open("one", O_RDONLY)) >= 0)
            last = fd;
        printf("opened up to %d, then %s\n", last, err(-1));
        close(5);
        printf("a freed number: %d\n", open("two", O_RDONLY));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void *opener(void *arg)
{
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        int fd = open((i & 1) ? "one" : "two", O_RDONLY);
        char c;
        if (fd < 0 || read(fd, &c, 1) != 1 || c != ((i & 1) ? 'o' : 't'))
            bad++;
        if (close(fd) != 0)
            bad++;
    }
    return (void *)bad;
}

static void threads(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, opener, NULL);
    long bad = 0;
    for (int i = 0; i < 500; i++) {    /* numbers handed out by the microvisor meanwhile */
        int p[2];
        if (pipe(p) != 0 || write(p[1], "z", 1) != 1)
            bad++;
        int d = dup(p[0]);
        char c = 0;
        if (d < 0 || read(d, &c, 1) != 1 || c != 'z')
            bad++;
        close(p[0]);
        close(p[1]);
        close(d);
    }
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("threads: %ld bad, next open %d\n", bad, open("one", O_RDONLY));
    close(3);
}

static long long size_of(const char *name)
{
    struct stat st;
    return stat(name, &st) == 0 ? (long long)st.st_size : -1;
}

static void show(const char *name)
{
    char buf[128] = {0};
    int fd = open(name, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s holds %zd bytes: %s", name, n, buf);
}

/* Writes under RLIMIT_FSIZE 10, to a file opened before the limit was set (`early`) and
 * to one opened after it: cut short at the limit, then EFBIG. Told through `report`
 * (stdout, a file here, is past the limit too). */
static void size_limited(int early, int report)
{
    struct rlimit lim = {10, 10};
    check(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    int late = open("big", O_WRONLY);
    char line[160];
    ssize_t a = write(early, "0123456789abcdef", 16);
    ssize_t b = write(early, "x", 1);
    int len = snprintf(line, sizeof line, "limited, opened before: %zd then %zd (errno %d)\n",
                       a, b, errno);
    check(ftruncate(late, 0) == 0, "truncate");
    a = write(late, "0123456789abcdef", 16);
    b = write(late, "x", 1);
    len += snprintf(line + len, sizeof line - len, "limited, opened after: %zd then %zd (errno %d)\n",
                    a, b, errno);
    check(write(report, line, (size_t)len) == len, "report");
}

static unsigned mode_of(const char *name)
{
    struct stat st;
    return lstat(name, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void creates(void)
{
    umask(0);
    int a = open("made0", O_WRONLY | O_CREAT, 0666);
    umask(077);
    int b = open("made1", O_RDONLY | O_CREAT | O_EXCL, 0644);
    int c = open("made2", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 01755);
    umask(022);
    printf("created: %s %s %s, modes %o %o %o, sizes %lld %lld\n", err(a), err(b), err(c),
           mode_of("made0"), mode_of("made1"), mode_of("made2"), size_of("made0"), size_of("made1"));
    printf("write to one created read-only: %s\n", err((int)write(b, "x", 1)));
    check(write(a, "made\n", 5) == 5 && write(c, "made\n", 5) == 5, "write to created files");
    close(a);
    close(b);
    close(c);
    printf("O_EXCL on a file there: %s\n", err(open("made0", O_WRONLY | O_CREAT | O_EXCL, 0600)));
    int again = open("made0", O_RDWR | O_CREAT, 0600);
    printf("O_CREAT on a file there: %s, size %lld, mode %o\n", err(again), size_of("made0"),
           mode_of("made0"));
    close(again);
    check(symlink("made_by_link", "dangling") == 0, "symlink");
    printf("O_CREAT | O_EXCL through a dangling link: %s\n",
           err(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0600)));
    int l = open("dangling", O_WRONLY | O_CREAT, 0640);
    printf("O_CREAT through a dangling link: %s, made %lld bytes, mode %o\n", err(l),
           size_of("made_by_link"), mode_of("made_by_link"));
    close(l);
    printf("O_CREAT | O_NOFOLLOW on a link: %s\n",
           err(open("link", O_WRONLY | O_CREAT | O_NOFOLLOW, 0600)));
    printf("O_CREAT in a missing directory: %s\n", err(open("nodir/x", O_WRONLY | O_CREAT, 0600)));
    printf("O_CREAT below a file: %s\n", err(open("one/x", O_WRONLY | O_CREAT, 0600)));
    printf("O_CREAT of a directory there: %s\n", err(open("sub", O_WRONLY | O_CREAT, 0600)));
    printf("O_CREAT of a directory there, to read: %s\n", err(open("sub", O_RDONLY | O_CREAT, 0600)));
    check(symlink("sub", "sublink") == 0, "symlink to a directory");
    printf("O_CREAT through a link to a directory, to read: %s\n",
           err(open("sublink", O_RDONLY | O_CREAT, 0600)));
    printf("O_CREAT | O_DIRECTORY: %s\n", err(open("newdir", O_RDONLY | O_CREAT | O_DIRECTORY, 0700)));
    printf("O_EXCL without O_CREAT: %s\n", err(l = open("made0", O_RDONLY | O_EXCL)));
    close(l);
    int n = 0, first = -1;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "many%02d", i);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (i == 0)
            first = fd;
        n += fd >= 0 && fd == first;
        close(fd);
    }
    printf("40 created, each at the number the first got: %d\n", n);
}

static void writes(void)
{
    int w = open("one", O_WRONLY | O_TRUNC);
    printf("write-only, truncated: %s, size %lld\n", err(w), size_of("one"));
    check(write(w, "first\n", 6) == 6, "write");
    char buf[32] = {0};
    printf("read of a write-only fd: %s\n", err(read(w, buf, 1)));
    int rw = open("one", O_RDWR);
    check(read(rw, buf, 6) == 6, "read back");
    printf("read-write: %s, read back %.6s", err(rw), buf);
    check(write(rw, "second\n", 7) == 7, "write after read");
    int a = open("one", O_WRONLY | O_APPEND);
    check(write(a, "third\n", 6) == 6, "append");
    check(lseek(a, 0, SEEK_SET) == 0 && write(a, "fourth\n", 7) == 7, "append after a seek");
    check(pwrite(a, "fifth\n", 6, 0) == 6, "pwrite of an O_APPEND fd");
    printf("numbers %d %d %d; F_GETFL access %d %d %d, O_APPEND %d\n", w, rw, a,
           fcntl(w, F_GETFL) & O_ACCMODE, fcntl(rw, F_GETFL) & O_ACCMODE,
           fcntl(a, F_GETFL) & O_ACCMODE, !!(fcntl(a, F_GETFL) & O_APPEND));
    close(w);
    close(rw);
    close(a);
    show("one");
    int l = open("link", O_WRONLY | O_APPEND);
    check(write(l, "through the link\n", 17) == 17, "write through a link");
    close(l);
    show("two");
    printf("directory for writing: %s\n", err(open("sub", O_WRONLY)));
    printf("directory read-write: %s\n", err(open("sub", O_RDWR)));
    printf("missing for writing: %s\n", err(open("missing", O_WRONLY)));
    printf("symlink for writing, O_NOFOLLOW: %s\n", err(open("link", O_WRONLY | O_NOFOLLOW)));
    printf("three as access mode: %s\n", err(open("one", 3)));
    int t = open("two", O_RDONLY | O_TRUNC);
    printf("read-only with O_TRUNC: %s, size %lld\n", err(t), size_of("two"));
    close(t);
    check(mkfifo("wfifo", 0600) == 0, "mkfifo");
    printf("fifo without a reader, O_NONBLOCK writer: %s\n",
           err(open("wfifo", O_WRONLY | O_NONBLOCK)));
    unlink("wfifo");
    put("big", "");
    int early = open("big", O_WRONLY);
    int report[2];
    check(pipe(report) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        size_limited(early, report[1]);
        _exit(0);
    }
    close(report[1]);
    char told[160] = {0};
    ssize_t got = 0, k;
    while ((k = read(report[0], told + got, sizeof told - 1 - got)) > 0)
        got += k;
    printf("%s", told);
    int status;
    waitpid(pid, &status, 0);
    close(report[0]);
    close(early);
    printf("limited child: %d, big holds %lld bytes\n", status, size_of("big"));
}

int main(void)
{
    put("one", "one file\n");
    put("two", "two file\n");
    mkdir("sub", 0755);
    put("sub/inner", "inner\n");
    put("sub/other", "other\n");
    symlink("two", "link");
    numbers();
    errors();
    stats();
    directories();
    forked();
    fifos();
    locks();
    limit();
    threads();
    writes();
    creates();
    printf("failures: %d\n", failures);
    return failures != 0;
}
