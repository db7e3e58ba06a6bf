/* A process's CPU time is all its threads' (clock_gettime(CLOCK_PROCESS_CPUTIME_ID),
 * clock(), getrusage(RUSAGE_SELF), times()), ended ones included; a thread's own
 * (CLOCK_THREAD_CPUTIME_ID, getrusage(RUSAGE_THREAD)) is its alone. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#define SPIN 0.3     /* CPU seconds each worker burns */

static double clock_seconds(clockid_t clock) {
    struct timespec t;
    if (clock_gettime(clock, &t) != 0) {
        perror("clock_gettime");
        return -1;
    }
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double rusage_seconds(int who) {
    struct rusage r;
    if (getrusage(who, &r) != 0) {
        perror("getrusage");
        return -1;
    }
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static volatile unsigned long sink;

static void burn(double seconds) {
    double start = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    while (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - start < seconds)
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i * 2654435761u;
}

static void *worker(void *arg) {
    (void)arg;
    burn(SPIN);
    return NULL;
}

static atomic_int stop;

static void *spinner(void *arg) {
    (void)arg;
    while (!atomic_load(&stop))
        sink++;
    return NULL;
}

int main(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    double process = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    double own = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    double self = rusage_seconds(RUSAGE_SELF), thread = rusage_seconds(RUSAGE_THREAD);
    struct tms tms;
    times(&tms);
    double tms_seconds = (double)(tms.tms_utime + tms.tms_stime) / (double)sysconf(_SC_CLK_TCK);
    double clock_s = (double)clock() / CLOCKS_PER_SEC;
    double both = 2 * SPIN * 0.9;
    printf("process clock counts the ended threads: %d\n", process >= both);
    printf("the main thread's clock does not: %d\n", own < SPIN / 2);
    printf("getrusage(RUSAGE_SELF) counts them: %d\n", self >= both);
    printf("getrusage(RUSAGE_THREAD) does not: %d\n", thread >= 0 && thread < SPIN / 2);
    printf("times() counts them: %d\n", tms_seconds >= both - 0.05);
    printf("clock() counts them: %d\n", clock_s >= both);

    /* a thread still running counts as it runs, while this one sleeps */
    pthread_t s;
    pthread_create(&s, NULL, spinner, NULL);
    double before = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), waited = 0;
    struct timespec nap = {0, 10 * 1000 * 1000};
    while (clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - before < 0.2 && waited < 20) {
        nanosleep(&nap, NULL);
        waited += 0.01;
    }
    printf("a running thread counts: %d\n", waited < 20);
    atomic_store(&stop, 1);
    pthread_join(s, NULL);
    printf("the main thread's clock still does not: %d\n",
           clock_seconds(CLOCK_THREAD_CPUTIME_ID) < SPIN / 2);
    return 0;
}
