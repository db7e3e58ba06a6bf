/* poll as Linux answers it: the trampoline polls up to 64 mirrored fds itself (pipes,
 * sockets, files) beside the cage's wake fd, and leaves the rest to the microvisor
 * (more entries, fds it does not mirror, arrays it cannot write); both must give the
 * same revents, counts, timeouts, EINTR, EINVAL and EFAULT. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
