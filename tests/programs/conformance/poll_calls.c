/* poll and select as Linux answers them: the trampoline polls up to 64 mirrored fds
 * itself (pipes, sockets, files) beside the cage's wake fd, and leaves the rest to the
 * microvisor (more entries, fds it does not mirror, arrays it cannot write, pselect's
 * signal mask); both must give the same revents, bits, counts, timeouts, EINTR, EBADF,
 * EINVAL and EFAULT. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, int r)
{
    printf("%-44s %d", what, r);
    if (r < 0) printf(" errno %d", errno);
    printf("\n");
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void show(const char *what, struct pollfd *p, int n, int r)
{
    say(what, r);
    for (int i = 0; i < n; i++)
        printf("  [%d] fd %s events %#x revents %#x\n", i, p[i].fd < 0 ? "<0" : "ok",
               (unsigned)(unsigned short)p[i].events, (unsigned)(unsigned short)p[i].revents);
}

static void show_sets(const char *what, int r, fd_set *rs, fd_set *ws, fd_set *es, int n)
{
    say(what, r);
    printf("  bits:");
    for (int fd = 0; fd < n; fd++) {
        int bits = (rs && FD_ISSET(fd, rs)) | (ws && FD_ISSET(fd, ws)) << 1 |
                   (es && FD_ISSET(fd, es)) << 2;
        if (bits)
            printf(" %d:%d", fd, bits);
    }
    printf("\n");
}

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static int late_writer_fd;
static void *late_writer(void *arg)
{
    (void)arg;
    usleep(30000);
    write(late_writer_fd, "t", 1);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int a[2], b[2], s[2];
    pipe(a);
    pipe(b);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    int file = open("plain.txt", O_CREAT | O_RDWR, 0600);

    /* negative fds are skipped and their revents cleared; duplicates answer each */
    write(a[1], "x", 1);
    struct pollfd mix[] = {
        {a[0], POLLIN, 0x7fff}, {-1, POLLIN, 0x7fff}, {a[0], POLLOUT, 0}, {a[1], POLLOUT, 0},
        {b[0], POLLIN | POLLPRI, 0}, {s[0], POLLIN | POLLOUT, 0}, {file, POLLIN | POLLOUT, 0},
        {-42, 0, 3},
    };
    show("mixed, 0 ms", mix, 8, poll(mix, 8, 0));

    /* a reader gone, a writer gone */
    close(b[0]);
    struct pollfd broken = {b[1], POLLOUT, 0};
    show("write end, reader closed", &broken, 1, poll(&broken, 1, 0));
    char c;
    read(a[0], &c, 1);
    close(a[1]);
    struct pollfd hup = {a[0], POLLIN, 0};
    show("read end, writer closed", &hup, 1, poll(&hup, 1, 100));
    close(a[0]);
    pipe(a);

    /* 64 entries (the trampoline's) and 65 (the microvisor's) alike */
    struct pollfd many[65];
    for (int n = 63; n <= 65; n++) {
        for (int i = 0; i < n; i++)
            many[i] = (struct pollfd){i % 3 ? a[1] : a[0], i % 3 ? POLLOUT : POLLIN, 0};
        int r = poll(many, n, 0);
        int out = 0, in = 0;
        for (int i = 0; i < n; i++) {
            out += !!(many[i].revents & POLLOUT);
            in += !!(many[i].revents & POLLIN);
        }
        printf("%d entries: %d ready, %d writable, %d readable\n", n, r, out, in);
    }

    /* timeouts: nothing ready, and no entries at all */
    struct pollfd empty = {a[0], POLLIN, 0};
    double t = now_ms();
    int r = poll(&empty, 1, 60);
    printf("empty pipe, 60 ms: %d, waited enough %d\n", r, now_ms() - t >= 59);
    t = now_ms();
    r = poll(NULL, 0, 40);
    printf("no entries, 40 ms: %d, waited enough %d\n", r, now_ms() - t >= 39);

    /* woken by another thread's write */
    late_writer_fd = a[1];
    pthread_t th;
    pthread_create(&th, NULL, late_writer, NULL);
    t = now_ms();
    r = poll(&empty, 1, 5000);
    printf("thread writes: %d revents %#x, before the timeout %d\n", r, empty.revents,
           now_ms() - t < 4000);
    pthread_join(th, NULL);
    read(a[0], &c, 1);

    /* a caught signal ends the wait with EINTR, SA_RESTART or not */
    for (int restart = 0; restart < 2; restart++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sa.sa_flags = restart ? SA_RESTART : 0;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {{0, 0}, {0, 30000}};
        setitimer(ITIMER_REAL, &it, NULL);
        errno = 0;
        r = poll(&empty, 1, 5000);
        printf("signal, SA_RESTART %d: %d errno %d, handler ran %d\n", restart, r, errno, alarms);
    }

    /* select: every set, fds past what the trampoline takes, a timeout, a signal */
    write(a[1], "s", 1);
    for (int top = 0; top < 2; top++) {
        int high = top ? dup2(a[0], 70) : a[0];
        fd_set rs, ws, es;
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_ZERO(&es);
        FD_SET(high, &rs);
        FD_SET(a[1], &rs);
        FD_SET(a[1], &ws);
        FD_SET(s[0], &rs);
        FD_SET(s[0], &ws);
        FD_SET(s[0], &es);
        FD_SET(file, &rs);
        FD_SET(file, &es);
        struct timeval tv = {0, 0};
        int n = (high > file ? high : file) + 1;
        show_sets(top ? "select, fd 70" : "select, 0 ms", select(n, &rs, &ws, &es, &tv), &rs,
                  &ws, &es, n);
        if (top) close(70);
    }
    /* 64 fds set, then 65 (past what the trampoline takes), spread over 100..227; the
     * highest fd a set holds, 1023; a bit past n, which no one looks at */
    for (int count = 64; count <= 65; count++) {
        fd_set rs, ws;
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        for (int i = 0; i < count; i++) {
            int fd = dup2(i % 2 ? a[1] : a[0], 100 + 2 * i);
            FD_SET(fd, i % 2 ? &ws : &rs);
        }
        struct timeval tv = {0, 0};
        show_sets(count == 64 ? "select, 64 fds" : "select, 65 fds",
                  select(100 + 2 * count, &rs, &ws, NULL, &tv), &rs, &ws, NULL, 100 + 2 * count);
        for (int i = 0; i < count; i++)
            close(100 + 2 * i);
    }
    {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(dup2(a[0], 1023), &rs);
        FD_SET(dup2(a[0], 70), &rs);
        struct timeval tv = {0, 0};
        show_sets("select, fd 1023", select(1024, &rs, NULL, NULL, &tv), &rs, NULL, NULL, 1024);
        FD_ZERO(&rs);
        FD_SET(a[0], &rs);
        FD_SET(70, &rs);
        show_sets("select, fd 70 past n 66", select(66, &rs, NULL, NULL, &tv), &rs, NULL, NULL,
                  71);
        close(1023);
        close(70);
    }
    read(a[0], &c, 1);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(a[0], &rs);
    struct timeval tv = {0, 70000};
    t = now_ms();
    r = select(a[0] + 1, &rs, NULL, NULL, &tv);
    printf("select, empty pipe, 70 ms: %d, waited enough %d, still set %d\n", r,
           now_ms() - t >= 69, FD_ISSET(a[0], &rs));
    {
        /* a readable fd asked about for writing only; no read set at all */
        write(s[1], "d", 1);
        fd_set only_read, only_write;
        FD_ZERO(&only_read);
        FD_ZERO(&only_write);
        FD_SET(s[0], &only_write);
        struct timeval zero = {0, 0};
        show_sets("select, readable fd in the write set", select(s[0] + 1, &only_read,
                  &only_write, NULL, &zero), &only_read, &only_write, NULL, s[0] + 1);
        show_sets("select, no read set", select(s[0] + 1, NULL, &only_write, NULL, &zero),
                  NULL, &only_write, NULL, s[0] + 1);
        fd_set only_except;
        FD_ZERO(&only_read);
        FD_ZERO(&only_write);
        FD_ZERO(&only_except);
        FD_SET(s[0], &only_except);
        show_sets("select, readable fd in the except set", select(s[0] + 1, &only_read,
                  &only_write, &only_except, &zero), &only_read, &only_write, &only_except,
                  s[0] + 1);
        FD_ZERO(&only_write);
        char d;
        read(s[0], &d, 1);
        /* pselect6's timespec: out of reach, negative, a second of nanoseconds */
        struct timespec bad;
        memset(&bad, 0, sizeof bad);
        bad.tv_sec = -1;
        FD_SET(a[1], &only_write);
        say("pselect6, timeout out of reach", syscall(SYS_pselect6, a[1] + 1, NULL, &only_write,
                                                     NULL, (void *)(uintptr_t)0xFFFFFFF0u, NULL));
        say("pselect6, negative seconds",
            syscall(SYS_pselect6, a[1] + 1, NULL, &only_write, NULL, &bad, NULL));
        bad.tv_sec = 0;
        bad.tv_nsec = 1000000000;
        say("pselect6, 1e9 nanoseconds",
            syscall(SYS_pselect6, a[1] + 1, NULL, &only_write, NULL, &bad, NULL));
    }
    tv = (struct timeval){0, 30000};
    t = now_ms();
    r = select(0, NULL, NULL, NULL, &tv);
    printf("select, no fds, 30 ms: %d, waited enough %d\n", r, now_ms() - t >= 29);
    pthread_create(&th, NULL, late_writer, NULL);
    FD_SET(a[0], &rs);
    r = select(a[0] + 1, &rs, NULL, NULL, NULL);
    printf("select, thread writes: %d isset %d\n", r, FD_ISSET(a[0], &rs));
    pthread_join(th, NULL);
    read(a[0], &c, 1);
    struct itimerval soon = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    FD_SET(a[0], &rs);
    errno = 0;
    r = select(a[0] + 1, &rs, NULL, NULL, NULL);
    printf("select, signal: %d errno %d, handler ran %d\n", r, errno, alarms);
    FD_ZERO(&rs);
    FD_SET(5, &rs);     /* b[0], closed */
    tv = (struct timeval){0, 0};
    say("select, closed fd", select(6, &rs, NULL, NULL, &tv));
    tv = (struct timeval){0, -1};
    FD_SET(a[0], &rs);
    say("select, negative timeout", select(a[0] + 1, &rs, NULL, NULL, &tv));
    tv = (struct timeval){0, 0};
    say("select, n -1", select(-1, &rs, NULL, NULL, &tv));
    {
        struct timespec zero = {0, 0};
        FD_ZERO(&rs);
        FD_SET(a[1], &rs);
        say("pselect6, mask argument out of reach",
            syscall(SYS_pselect6, a[1] + 1, &rs, NULL, NULL, &zero, (void *)(uintptr_t)0xFFFFFFF0u));
    }
    sigset_t none;
    sigemptyset(&none);
    struct timespec ts = {0, 0};
    /* pselect's mask holds during the wait: the alarm waits until it returns */
    sigset_t alarm_blocked;
    sigemptyset(&alarm_blocked);
    sigaddset(&alarm_blocked, SIGALRM);
    int before = alarms;
    soon = (struct itimerval){{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    FD_ZERO(&rs);
    FD_SET(a[0], &rs);
    struct timespec wait = {0, 80000000};
    errno = 0;
    r = pselect(a[0] + 1, &rs, NULL, NULL, &wait, &alarm_blocked);
    int during = alarms - before;
    usleep(1000);
    printf("pselect, SIGALRM masked: %d errno %d, handler during %d, after %d\n", r, errno,
           during, alarms - before);
    FD_ZERO(&rs);
    FD_SET(a[1], &rs);
    fd_set ws;
    FD_ZERO(&ws);
    FD_SET(a[1], &ws);
    show_sets("pselect with a mask", pselect(a[1] + 1, &rs, &ws, NULL, &ts, &none), &rs, &ws,
              NULL, a[1] + 1);
    int hung[2];
    pipe(hung);
    close(hung[1]);
    FD_ZERO(&rs);
    FD_SET(hung[0], &rs);
    tv = (struct timeval){0, 0};
    show_sets("select, writer gone", select(hung[0] + 1, &rs, NULL, NULL, &tv), &rs, NULL, NULL,
              hung[0] + 1);
    close(hung[0]);
    tv = (struct timeval){0, 0};
    say("select, sets at address 8", select(a[1] + 1, (fd_set *)8, NULL, NULL, &tv));
    fd_set *ro_sets = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FD_SET(a[1], ro_sets);
    mprotect(ro_sets, 4096, PROT_READ);
    say("select, read-only sets", select(a[1] + 1, NULL, ro_sets, NULL, &tv));

    /* fd 0 (here a pipe with data), and numbers past what the trampoline mirrors */
    int saved_stdin = dup(0);
    dup2(a[0], 0);
    write(a[1], "0", 1);
    struct pollfd edge[] = {{0, POLLIN, 0}, {1023, POLLIN, 0}, {1024, POLLIN, 0}, {5000, POLLIN, 0}};
    show("fd 0, 1023, 1024, 5000", edge, 4, poll(edge, 4, 0));
    read(0, &c, 1);
    dup2(saved_stdin, 0);
    close(saved_stdin);

    /* bad arguments */
    struct rlimit lim = {8, 8};
    setrlimit(RLIMIT_NOFILE, &lim);
    struct pollfd nine[9];
    for (int i = 0; i < 9; i++)
        nine[i] = (struct pollfd){a[1], POLLOUT, 0};
    say("9 entries, RLIMIT_NOFILE 8", poll(nine, 9, 0));
    say("8 entries, RLIMIT_NOFILE 8", poll(nine, 8, 0));
    say("array at address 8", poll((struct pollfd *)8, 1, 0));
    struct pollfd *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = (struct pollfd){a[1], POLLOUT, 0};
    mprotect(ro, 4096, PROT_READ);
    say("read-only array", poll(ro, 1, 0));
    struct pollfd closed = {99, POLLIN, 0};
    show("closed fd", &closed, 1, poll(&closed, 1, 0));
    unlink("plain.txt");
    return 0;
}
