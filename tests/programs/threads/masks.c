/* Masks that change while signals come (Lind's trampoline changes a mask without the
 * microvisor while its cage has nothing pending; a signal that comes meanwhile must be
 * neither lost nor delivered while blocked):
 *   - a process signal goes to the thread that does not block it, as each thread's
 *     mask changes back and forth;
 *   - a thread toggles its mask in a tight loop while another sends it signals one at a
 *     time, each awaited with the toggler spinning unblocked in between (no system
 *     call): every one is handled, none while blocked;
 *   - a set or old-set pointer outside memory is EFAULT, SIGKILL and SIGSTOP stay
 *     unblocked. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 300

static volatile sig_atomic_t got, got_blocked;
static volatile pid_t taker;
static volatile int stop, toggling;
static pthread_t toggler_thread;

static void on_usr1(int sig)
{
    (void)sig;
    taker = (pid_t)syscall(SYS_gettid);
    got++;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static sigset_t usr1;

static void *waits_unblocked(void *arg)
{
    pid_t *tid = arg;
    *tid = (pid_t)syscall(SYS_gettid);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    while (!stop)
        usleep(1000);
    return NULL;
}

/* The toggler: block, unblock, and between the two a volatile flag read; it never
 * runs the handler while SIGUSR1 is blocked (got_blocked counts any that would). */
static volatile int blocked_now;
static void on_usr1_toggled(int sig)
{
    (void)sig;
    if (blocked_now)
        got_blocked++;
    got++;
}

static void *toggles(void *arg)
{
    (void)arg;
    toggling = 1;
    while (!stop) {
        pthread_sigmask(SIG_BLOCK, &usr1, NULL);
        blocked_now = 1;
        blocked_now = 0;
        pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
        for (volatile int spin = 0; spin < 200; spin++)
            ;
    }
    return NULL;
}

int main(void)
{
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    /* 1. the process signal goes where it is not blocked */
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pid_t other = 0;
    pthread_t t;
    pthread_create(&t, NULL, waits_unblocked, &other);
    while (!other)
        usleep(1000);
    usleep(20000);
    kill(getpid(), SIGUSR1);
    double until = seconds() + 5;
    while (!got && seconds() < until)
        usleep(1000);
    printf("blocked in main: taken by the thread %d\n", got == 1 && taker == other);
    stop = 1;
    pthread_join(t, NULL);
    stop = 0;
    got = 0;
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    raise(SIGUSR1);
    printf("unblocked in main: taken by main %d\n", got == 1 && taker == getpid());

    /* 2. signals sent one at a time to a thread that toggles its mask */
    sa.sa_handler = on_usr1_toggled;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);     /* only the toggler may take them */
    got = 0;
    pthread_create(&toggler_thread, NULL, toggles, NULL);
    while (!toggling)
        usleep(1000);
    int handled = 0;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_kill(toggler_thread, SIGUSR1);
        until = seconds() + 10;
        while (got <= i && seconds() < until)
            ;
        if (got > i)
            handled++;
        else
            break;
    }
    stop = 1;
    pthread_join(toggler_thread, NULL);
    printf("toggling thread: %d of %d handled, %d while blocked\n", handled, ROUNDS,
           (int)got_blocked);

    /* 3. bad pointers and the signals no mask holds */
    long r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)(uintptr_t)-16, NULL, 8);
    printf("set outside memory: %ld %s\n", r, r ? strerror(errno) : "");
    sigset_t was;
    r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, (void *)(uintptr_t)-4, 8);
    printf("old set outside memory: %ld %s\n", r, r ? strerror(errno) : "");
    sigset_t all;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &was, 8);
    printf("all blocked: SIGKILL %d SIGSTOP %d SIGUSR2 %d\n", sigismember(&was, SIGKILL),
           sigismember(&was, SIGSTOP), sigismember(&was, SIGUSR2));
    return 0;
}
