/* Time: clocks move forward, sleeps last at least as long as asked. */
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
    return 0;
}
