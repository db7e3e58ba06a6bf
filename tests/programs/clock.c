/* Time: clocks move forward, sleeps last at least as long as asked; every clock id is
 * read (the trampoline answers the ones every cage reads alike, Python the rest) and
 * an unknown one fails as on Linux (glibc's vDSO faults on a bad pointer: not compared). */
#include <errno.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec a, b, req = {0, 20 * 1000 * 1000}, res;
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("slept enough: %d\n", ns(b) - ns(a) >= 20000000);
    usleep(5000);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t now = time(NULL);
    printf("realtime plausible: %d\n", now > 1700000000 && tv.tv_sec >= now - 1 && tv.tv_sec <= now + 1);
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("res ok: %d\n", res.tv_sec == 0 && res.tv_nsec > 0);
    struct tm tm;
    time_t fixed = 1000000000;
    gmtime_r(&fixed, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    printf("gmtime=%s\n", buf);

    static const clockid_t clocks[] = {
        CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
        CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
    };
    for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        struct timespec first, last;
        int ok = clock_gettime(clocks[i], &first) == 0;
        for (int k = 0; k < 1000 && ok; k++) {
            ok = clock_gettime(clocks[i], &last) == 0 && ns(last) >= ns(first) &&
                 last.tv_nsec >= 0 && last.tv_nsec < 1000000000;
            first = last;
        }
        printf("clock %d reads, never backwards: %d\n", (int)clocks[i], ok);
    }
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    printf("realtime agrees with time(): %d\n", real.tv_sec >= now && real.tv_sec <= now + 5);
    errno = 0;
    int bad = clock_gettime(99, &a);
    printf("clock 99: %d errno %d\n", bad, errno);
    return 0;
}
