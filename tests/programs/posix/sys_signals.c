/* sigtimedwait/sigwaitinfo/sigwait, sigqueue and rt_sigqueueinfo, sigaltstack: results
 * as numbers and errnos, the same in a cage and natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BAD ((void *)0xfff00000)

static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 errno %d\n", what, errno);
    else printf("%s = %ld\n", what, r);
}

static volatile int handled;
static void count(int sig) { handled = sig; }

static char *alt;
static size_t alt_size;
static volatile int on_alt, flags_inside, eperm_inside;
static void on_stack(int sig) {
    char local;
    on_alt = &local >= alt && &local < alt + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    stack_t other = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
    eperm_inside = sigaltstack(&other, NULL) < 0 ? errno : 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t set, usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr, NULL);
    signal(SIGUSR1, count);

    /* nothing pending: the timeout */
    siginfo_t si;
    struct timespec zero = {0, 0}, short_wait = {0, 20000000};
    show("sigtimedwait zero", sigtimedwait(&usr, &si, &zero));
    show("sigtimedwait 20ms", sigtimedwait(&usr, &si, &short_wait));
    struct timespec bad = {0, 1000000000};
    show("sigtimedwait bad timeout", sigtimedwait(&usr, &si, &bad));
    show("sigtimedwait efault set", syscall(SYS_rt_sigtimedwait, BAD, &si, &zero, 8));
    show("sigtimedwait bad size", syscall(SYS_rt_sigtimedwait, &usr, &si, &zero, 4));

    /* a pending signal is taken, its handler does not run */
    kill(getpid(), SIGUSR1);
    memset(&si, 0, sizeof si);
    show("sigwaitinfo", sigwaitinfo(&usr, &si));
    printf("signo %d code %d pid ok %d handled %d\n", si.si_signo, si.si_code, si.si_pid == getpid(),
           handled);
    sigset_t pending;
    sigpending(&pending);
    printf("still pending %d\n", sigismember(&pending, SIGUSR1));
    kill(getpid(), SIGUSR2);
    int got = 0;
    show("sigwait", sigwait(&usr, &got));
    printf("sigwait got %d\n", got);
    raise(SIGUSR2);
    raise(SIGUSR1);
    show("lowest first", sigtimedwait(&usr, NULL, &zero));
    show("then", sigtimedwait(&usr, NULL, &zero));

    /* another signal's handler ends the wait: EINTR (the raw call: musl's wrapper retries) */
    signal(SIGALRM, count);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec two = {5, 0};
    handled = 0;
    show("interrupted", syscall(SYS_rt_sigtimedwait, &usr, &si, &two, 8));
    printf("handled %d\n", handled);

    /* sigqueue: to itself and to a child, with a value */
    union sigval v = {.sival_int = 42};
    show("sigqueue self", sigqueue(getpid(), SIGUSR1, v));
    memset(&si, 0, sizeof si);
    show("taken", sigwaitinfo(&usr, &si));
    printf("code %d value %d pid ok %d uid ok %d\n", si.si_code, si.si_value.sival_int,
           si.si_pid == getpid(), si.si_uid == getuid());
    pid_t pid = fork();
    if (pid == 0) {
        siginfo_t ci;
        sigwaitinfo(&usr, &ci);
        printf("child: signo %d code %d value %d from parent %d\n", ci.si_signo, ci.si_code,
               ci.si_value.sival_int, ci.si_pid == getppid());
        _exit(0);
    }
    v.sival_int = 7;
    long queued = sigqueue(pid, SIGUSR2, v);
    waitpid(pid, NULL, 0);
    show("sigqueue child", queued);
    siginfo_t forged;
    memset(&forged, 0, sizeof forged);
    forged.si_code = SI_USER;
    pid = fork();
    if (pid == 0) { pause(); _exit(0); }
    show("rt_sigqueueinfo SI_USER to other", syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &forged));
    forged.si_code = SI_TKILL;
    show("rt_sigqueueinfo SI_TKILL to other", syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &forged));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    forged.si_code = SI_USER;
    show("rt_sigqueueinfo SI_USER to self", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &forged));
    memset(&si, 0, sizeof si);
    sigwaitinfo(&usr, &si);
    printf("code %d\n", si.si_code);
    forged.si_code = SI_QUEUE;
    show("rt_sigqueueinfo bad sig", syscall(SYS_rt_sigqueueinfo, getpid(), 99, &forged));
    show("rt_sigqueueinfo esrch", syscall(SYS_rt_sigqueueinfo, 99999, SIGUSR1, &forged));
    show("rt_sigqueueinfo efault", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, BAD));
    show("rt_sigqueueinfo sig 0", syscall(SYS_rt_sigqueueinfo, getpid(), 0, &forged));
    show("rt_tgsigqueueinfo", syscall(SYS_rt_tgsigqueueinfo, getpid(), getpid(), SIGUSR2, &forged));
    show("taken", sigtimedwait(&usr, NULL, &zero));

    /* sigaltstack */
    stack_t ss, old;
    show("query", sigaltstack(NULL, &old));
    printf("disabled %d size %zu\n", old.ss_flags == SS_DISABLE, old.ss_size);
    alt_size = SIGSTKSZ;
    alt = malloc(alt_size);
    ss.ss_sp = alt;
    ss.ss_size = 1024;
    ss.ss_flags = 0;
    show("too small", sigaltstack(&ss, NULL));
    ss.ss_size = alt_size;
    ss.ss_flags = 0x40;
    show("bad flags", syscall(SYS_sigaltstack, &ss, NULL));
    ss.ss_flags = 0;
    show("set", sigaltstack(&ss, NULL));
    show("query", sigaltstack(NULL, &old));
    printf("same sp %d size ok %d flags %d\n", old.ss_sp == alt, old.ss_size == alt_size, old.ss_flags);
    show("efault", syscall(SYS_sigaltstack, BAD, NULL));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stack;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGWINCH, &sa, NULL);
    raise(SIGWINCH);
    printf("SA_ONSTACK: on alt %d flags inside %d eperm %d\n", on_alt, flags_inside, eperm_inside);
    sa.sa_flags = 0;
    sigaction(SIGWINCH, &sa, NULL);
    raise(SIGWINCH);
    printf("no SA_ONSTACK: on alt %d flags inside %d\n", on_alt, flags_inside);
    pid = fork();
    if (pid == 0) {
        stack_t c;
        sigaltstack(NULL, &c);
        printf("child keeps it %d\n", c.ss_sp == alt && c.ss_flags == 0);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    ss.ss_flags = SS_DISABLE;
    show("disable", sigaltstack(&ss, &old));
    sigaltstack(NULL, &old);
    printf("disabled %d\n", old.ss_flags == SS_DISABLE);
    return 0;
}
