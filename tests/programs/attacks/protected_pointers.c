/* Pages mprotect made PROT_NONE or PROT_READ, handed to the host: every host access to
 * a cage's memory must be checked (EFAULT) or caught by Lind's fault handler (the cage
 * gets SIGSEGV), never a fault that ends the Lind process.
 * "calls": system calls of every family given pointers into such pages (buffers,
 * iovec arrays and the buffers they name, paths, structs the host reads or fills);
 * prints "WHAT RESULT ERRNO" for each, then "calls done", then copies out of a PROT_NONE
 * page with memcpy (Wasmtime's memory.copy: host code) and must die of SIGSEGV.
 * "hold KIDS SECONDS": protects every other page of a large mapping until refused
 * ("protected COUNT ERRNO"), forks KIDS children that inherit it and protect more,
 * prints "holding" and holds it all SECONDS (host mappings are one table per process).
 * "race SECONDS": see race() below. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static void step(const char *what, const char *kind, long r)
{
    printf("%s_%s %ld %d\n", what, kind, r < 0 ? -1L : r, r < 0 ? errno : 0);
    fflush(stdout);
}

/* Every call given `bad` (a page that is PROT_NONE or PROT_READ) where it reads or
 * writes memory. */
static void calls(char *bad, const char *kind)
{
    int fds[2], sv[2];
    pipe(fds);
    write(fds[1], "0123456789", 10);
    int file = open("/scratch", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(file, "0123456789", 10);
    char fine[256];
    struct iovec v[2] = {{fine, 2}, {bad, 4}};          /* one buffer of it */
    /* raw system calls: libc's wrappers would read some of these in the cage first */
    step("read", kind, syscall(SYS_read, fds[0], bad, 4));
    step("write", kind, syscall(SYS_write, fds[1], bad, 4));
    step("pread", kind, syscall(SYS_pread64, file, bad, 8, 0));
    step("pwrite", kind, syscall(SYS_pwrite64, file, bad, 8, 0));
    step("readv_array", kind, syscall(SYS_readv, fds[0], bad, 2));
    step("writev_array", kind, syscall(SYS_writev, fds[1], bad, 2));
    step("readv_buffer", kind, syscall(SYS_readv, fds[0], v, 2));
    step("writev_buffer", kind, syscall(SYS_writev, fds[1], v, 2));
    step("preadv", kind, syscall(SYS_preadv, file, v, 2, 0, 0));
    step("pwritev", kind, syscall(SYS_pwritev, file, v, 2, 0, 0));
    step("stat_path", kind, syscall(SYS_stat, bad, fine));
    step("stat_buf", kind, syscall(SYS_stat, "/", bad));
    step("lstat_buf", kind, syscall(SYS_lstat, "/scratch", bad));
    step("fstat_buf", kind, syscall(SYS_fstat, file, bad));
    step("fstat_pipe", kind, syscall(SYS_fstat, fds[0], bad));
    step("newfstatat", kind, syscall(SYS_newfstatat, AT_FDCWD, "/scratch", bad, 0));
    step("statx", kind, syscall(SYS_statx, AT_FDCWD, "/scratch", 0, 0x7ff, bad));
    step("open_path", kind, syscall(SYS_open, bad, O_RDONLY));
    step("openat_path", kind, syscall(SYS_openat, AT_FDCWD, bad, O_RDONLY));
    step("access_path", kind, syscall(SYS_access, bad, F_OK));
    step("mkdir_path", kind, syscall(SYS_mkdir, bad, 0700));
    step("unlink_path", kind, syscall(SYS_unlink, bad));
    step("rename_path", kind, syscall(SYS_rename, "/scratch", bad));
    step("readlink_buf", kind, syscall(SYS_readlink, "/proc/self/exe", bad, 64));
    step("getcwd", kind, syscall(SYS_getcwd, bad, 64));
    step("uname", kind, syscall(SYS_uname, bad));
    step("pipe", kind, syscall(SYS_pipe2, bad, 0));
    step("getrandom", kind, syscall(SYS_getrandom, bad, 16, 0));
    step("clock_gettime", kind, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad));
    step("clock_gettime_cpu", kind, syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, bad));
    step("clock_getres", kind, syscall(SYS_clock_getres, CLOCK_MONOTONIC, bad));
    step("gettimeofday", kind, syscall(SYS_gettimeofday, bad, NULL));
    step("nanosleep", kind, syscall(SYS_nanosleep, bad, NULL));
    step("nanosleep_rem", kind, syscall(SYS_nanosleep, &(struct timespec){0, 1000}, bad));
    step("getrlimit", kind, syscall(SYS_getrlimit, RLIMIT_NOFILE, bad));
    step("prlimit", kind, syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, bad, bad));
    step("getrusage", kind, syscall(SYS_getrusage, RUSAGE_SELF, bad));
    step("sysinfo", kind, syscall(SYS_sysinfo, bad));
    step("times", kind, syscall(SYS_times, bad));
    step("sigaction_act", kind, syscall(SYS_rt_sigaction, SIGUSR1, bad, NULL, 8));
    step("sigaction_old", kind, syscall(SYS_rt_sigaction, SIGUSR1, NULL, bad, 8));
    step("sigprocmask_set", kind, syscall(SYS_rt_sigprocmask, SIG_BLOCK, bad, NULL, 8));
    step("sigprocmask_old", kind, syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, bad, 8));
    step("sigpending", kind, syscall(SYS_rt_sigpending, bad, 8));
    step("sigaltstack", kind, syscall(SYS_sigaltstack, bad, bad));
    step("poll", kind, syscall(SYS_poll, bad, 2, 0));
    step("ppoll", kind, syscall(SYS_ppoll, bad, 2, bad, NULL, 8));
    step("select", kind, syscall(SYS_select, 8, bad, NULL, NULL, &(struct timeval){0, 0}));
    step("select_timeout", kind, syscall(SYS_select, 8, NULL, NULL, NULL, bad));
    step("pselect", kind, syscall(SYS_pselect6, 8, bad, bad, bad, bad, NULL));
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    step("getdents", kind, syscall(SYS_getdents64, dir, bad, 4096));
    int ep = epoll_create1(0);
    step("epoll_ctl", kind, syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[0], bad));
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
    step("epoll_wait", kind, syscall(SYS_epoll_pwait, ep, bad, 4, 0, NULL, 8));
    step("socketpair", kind, syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, bad));
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    send(sv[1], "abcdefgh", 8, 0);
    step("sendto", kind, syscall(SYS_sendto, sv[0], bad, 4, 0, NULL, 0));
    step("recvfrom", kind, syscall(SYS_recvfrom, sv[1], bad, 4, MSG_DONTWAIT, NULL, NULL));
    socklen_t len = sizeof(struct sockaddr_un);
    step("recvfrom_addr", kind, syscall(SYS_recvfrom, sv[1], fine, 4, MSG_DONTWAIT, bad, &len));
    step("getsockname", kind, syscall(SYS_getsockname, sv[0], bad, &len));
    step("getsockname_len", kind, syscall(SYS_getsockname, sv[0], fine, bad));
    step("getpeername", kind, syscall(SYS_getpeername, sv[0], bad, &len));
    step("getsockopt", kind, syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_TYPE, bad, &len));
    step("setsockopt", kind, syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_RCVBUF, bad, 4));
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    step("bind", kind, syscall(SYS_bind, udp, bad, sizeof(struct sockaddr_in)));
    step("connect", kind, syscall(SYS_connect, udp, bad, sizeof(struct sockaddr_in)));
    step("sendto_addr", kind, syscall(SYS_sendto, udp, "x", 1, 0, bad, sizeof(struct sockaddr_in)));
    step("sendmsg_header", kind, syscall(SYS_sendmsg, sv[0], bad, 0));
    step("recvmsg_header", kind, syscall(SYS_recvmsg, sv[1], bad, MSG_DONTWAIT));
    struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
    step("sendmsg_buffer", kind, syscall(SYS_sendmsg, sv[0], &m, 0));
    step("recvmsg_buffer", kind, syscall(SYS_recvmsg, sv[1], &m, MSG_DONTWAIT));
    struct iovec *array = (struct iovec *)bad;
    struct msghdr m2 = {.msg_iov = array, .msg_iovlen = 2};
    step("sendmsg_array", kind, syscall(SYS_sendmsg, sv[0], &m2, 0));
    step("futex_wait", kind, syscall(SYS_futex, bad, 0 /* WAIT */, 0x12345678, NULL, NULL, 0));
    step("futex_wake", kind, syscall(SYS_futex, bad, 1 /* WAKE */, 1, NULL, NULL, 0));
    step("wait4_status", kind, syscall(SYS_wait4, -1, bad, WNOHANG, NULL));
    step("execve_path", kind, syscall(SYS_execve, bad, (char *[]){NULL}, (char *[]){NULL}));
    step("execve_argv", kind, syscall(SYS_execve, "/nothing", bad, bad));
    step("write_stdout", kind, syscall(SYS_write, 1, bad, 0));
    step("ioctl", kind, syscall(SYS_ioctl, 1, 0x5401 /* TCGETS */, bad));
    step("fcntl_lock", kind, syscall(SYS_fcntl, file, F_GETLK, bad));
    step("timerfd", kind, syscall(SYS_timerfd_settime, syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0), 0, bad, bad));
    step("setitimer", kind, syscall(SYS_setitimer, ITIMER_REAL, bad, bad));
    step("madvise", kind, syscall(SYS_madvise, (long)bad & ~(PAGE - 1), PAGE, MADV_DONTNEED));
}

/* "race SECONDS": one thread flips pages between PROT_NONE, PROT_READ and read-write
 * (and splits and joins ranges) while two others hand them to system calls and
 * memset over them: whatever the host sees half changed, it must not fault. */
static char *volatile racing;
static volatile int race_over;
static volatile int faults;     /* SIGSEGVs the host owed (they come at a system call) */

static void count_fault(int sig)
{
    faults++;
}

static void *flipper(void *unused)
{
    for (unsigned i = 0; !race_over; i++) {
        int prot = i % 3 == 0 ? PROT_NONE : i % 3 == 1 ? PROT_READ : PROT_READ | PROT_WRITE;
        mprotect(racing + (i % 7) * PAGE, (1 + i % 3) * PAGE, prot);
    }
    return NULL;
}

static void *caller(void *unused)
{
    int fds[2];
    pipe(fds);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    struct iovec v[2] = {{racing + PAGE - 8, 16}, {racing + 3 * PAGE, 64}};
    for (unsigned i = 0; !race_over; i++) {
        syscall(SYS_write, fds[1], racing + (i % 8) * PAGE, 100);
        syscall(SYS_read, fds[0], racing + (i % 8) * PAGE + 10, 100);
        syscall(SYS_writev, fds[1], v, 2);
        syscall(SYS_readv, fds[0], v, 2);
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, racing + (i % 8) * PAGE);
        syscall(SYS_stat, racing + PAGE - 2, racing + 2 * PAGE);
        syscall(SYS_uname, racing + (i % 8) * PAGE + 100);
    }
    return NULL;
}

static void race(int seconds)
{
    signal(SIGSEGV, count_fault);
    racing = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(racing, '/', 8 * PAGE);
    pthread_t t[3];
    pthread_create(&t[0], NULL, flipper, NULL);
    pthread_create(&t[1], NULL, caller, NULL);
    pthread_create(&t[2], NULL, caller, NULL);
    printf("racing\n");
    fflush(stdout);
    sleep(seconds);
    race_over = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    mprotect(racing, 8 * PAGE, PROT_READ | PROT_WRITE);
    printf("race done\n");
    fflush(stdout);
    int before = faults;
    for (int round = 0; round < 200; round++) {       /* bulk instructions: the handler */
        mprotect(racing + PAGE, PAGE, PROT_NONE);
        memset(racing, round, 2 * PAGE);
    }
    mprotect(racing + PAGE, PAGE, PROT_READ | PROT_WRITE);
    printf("bulk faults %d\n", faults - before);
}

static void hold(int kids, int seconds)
{
    size_t n = 8192;
    char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t i = 0;
    for (; i < n; i += 2)
        if (mprotect(p + i * PAGE, PAGE, PROT_NONE) != 0)
            break;
    printf("protected %zu %d\n", i / 2, i < n ? errno : 0);
    fflush(stdout);
    for (int k = 0; k < kids; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            size_t j = 1;
            for (; j < n; j += 2)
                if (mprotect(p + j * PAGE, PAGE, PROT_READ) != 0)
                    break;
            printf("child_protected %zu %d\n", j / 2, j < n ? errno : 0);
            fflush(stdout);
            sleep(seconds + 1);
            _exit(0);
        }
        printf("forked %d %d\n", pid < 0 ? -1 : 0, pid < 0 ? errno : 0);
        fflush(stdout);
    }
    sleep(1);
    printf("holding\n");
    fflush(stdout);
    sleep(seconds);
    while (wait(NULL) > 0)
        ;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "race")) {
        race(atoi(argv[2]));
        return 0;
    }
    if (argc > 3 && !strcmp(argv[1], "hold")) {
        hold(atoi(argv[2]), atoi(argv[3]));
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "calls"))
        return 2;
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0x41, 4 * PAGE);
    mprotect(p + PAGE, PAGE, PROT_NONE);
    mprotect(p + 3 * PAGE, PAGE, PROT_READ);
    calls(p + PAGE, "none");
    calls(p + 3 * PAGE, "readonly");
    calls(p + PAGE - 2, "straddling");
    printf("calls done\n");
    fflush(stdout);
    char out[64];
    volatile size_t n = 2 * PAGE;
    char *copy = malloc(n);
    memcpy(copy, p, n);                  /* memory.copy reading the PROT_NONE page */
    printf("not reached %d %c\n", out[0], copy[PAGE]);
    return 0;
}
