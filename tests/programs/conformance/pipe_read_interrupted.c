/* A read of an empty pipe, blocked, ended by a signal: EINTR without SA_RESTART, the
 * read made again with it (and then the data a child writes later), for a signal from
 * a timer, from another thread and from another process; and a read that many signals
 * race with, each of which must either end it (EINTR) or leave it to the data: no
 * byte is lost and no read stays blocked. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
    (void)sig;
    handled++;
}

static void catch(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void in_ms(int ms)
{
    struct itimerval t = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &t, NULL);
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) && errno == EINTR)
        ;
}

static pthread_t reader;

static void *signal_reader(void *arg)
{
    (void)arg;
    sleep_ms(50);
    pthread_kill(reader, SIGUSR1);
    return NULL;
}

int main(void)
{
    int p[2];
    char c;
    if (pipe(p))
        return 1;

    catch(SIGALRM, 0);
    handled = 0;
    in_ms(50);
    ssize_t r = read(p[0], &c, 1);
    printf("timer, no SA_RESTART: read %zd errno %s, handled %d\n", r,
           r < 0 ? strerror(errno) : "-", (int)handled);

    catch(SIGALRM, SA_RESTART);
    handled = 0;
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(300);
        write(p[1], "x", 1);
        _exit(0);
    }
    in_ms(50);
    r = read(p[0], &c, 1);
    printf("timer, SA_RESTART: read %zd '%c', handled %d\n", r, r == 1 ? c : '?', (int)handled);
    waitpid(child, NULL, 0);

    catch(SIGUSR1, 0);
    handled = 0;
    reader = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, signal_reader, NULL);
    r = read(p[0], &c, 1);
    printf("thread's signal: read %zd errno %s, handled %d\n", r, r < 0 ? strerror(errno) : "-",
           (int)handled);
    pthread_join(t, NULL);

    handled = 0;
    pid_t parent = getpid();
    child = fork();
    if (child == 0) {
        sleep_ms(50);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    r = read(p[0], &c, 1);
    printf("process's signal: read %zd errno %s, handled %d\n", r, r < 0 ? strerror(errno) : "-",
           (int)handled);
    waitpid(child, NULL, 0);

    /* races: a child signals then writes, 300 times; each read either is ended by the
     * signal (then read again) or returns the byte, and every byte arrives (how many
     * reads were ended depends on timing: not printed) */
    int rounds = 300, bytes = 0;
    child = fork();
    if (child == 0) {
        for (int i = 0; i < rounds; i++) {
            kill(parent, SIGUSR1);
            write(p[1], "y", 1);
            sleep_ms(i % 3);
        }
        _exit(0);
    }
    while (bytes < rounds) {
        r = read(p[0], &c, 1);
        if (r == 1)
            bytes++;
        else if (r >= 0 || errno != EINTR)
            break;
    }
    waitpid(child, NULL, 0);
    printf("race: %d bytes of %d\n", bytes, rounds);
    return 0;
}
