/* Clocks, sleeping (poll_oneoff with clock subscriptions) and randomness. */
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static int64_t ns(clockid_t c) {
    struct timespec t;
    if (clock_gettime(c, &t) != 0)
        return -1;
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(void) {
    struct timespec res;
    int64_t now = ns(CLOCK_REALTIME);
    printf("realtime plausible=%d\n", now / 1000000000 > 1700000000);
    printf("time() plausible=%d\n", time(NULL) > 1700000000);
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    printf("monotonic res ok=%d\n", res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK(clock_getres(CLOCK_REALTIME, &res) == 0);

    int64_t a = ns(CLOCK_MONOTONIC), b = ns(CLOCK_MONOTONIC);
    printf("monotonic nondecreasing=%d\n", a > 0 && b >= a);

    struct timespec req = {0, 30 * 1000000};
    a = ns(CLOCK_MONOTONIC);
    CHECK(nanosleep(&req, NULL) == 0);
    b = ns(CLOCK_MONOTONIC);
    printf("nanosleep 30ms slept enough=%d\n", b - a >= 30 * 1000000);

    a = ns(CLOCK_MONOTONIC);
    CHECK(usleep(20000) == 0);
    b = ns(CLOCK_MONOTONIC);
    printf("usleep 20ms slept enough=%d\n", b - a >= 20 * 1000000);

    a = ns(CLOCK_MONOTONIC);
    CHECK(poll(NULL, 0, 25) == 0);
    b = ns(CLOCK_MONOTONIC);
    printf("poll timeout 25ms slept enough=%d\n", b - a >= 25 * 1000000);

    struct timespec abs;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &abs) == 0);
    abs.tv_nsec += 20 * 1000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
    printf("absolute sleep reached=%d\n", ns(CLOCK_MONOTONIC) >=
           (int64_t)abs.tv_sec * 1000000000 + abs.tv_nsec);
    req.tv_nsec = 0;
    CHECK(nanosleep(&req, NULL) == 0);
    CHECK(sched_yield() == 0);

    unsigned char r1[64], r2[64];
    memset(r1, 0, sizeof r1);
    memset(r2, 0, sizeof r2);
    CHECK(getentropy(r1, sizeof r1) == 0);
    CHECK(getentropy(r2, sizeof r2) == 0);
    int nonzero = 0;
    for (size_t i = 0; i < sizeof r1; i++)
        nonzero |= r1[i];
    printf("entropy nonzero=%d differs=%d\n", nonzero != 0, memcmp(r1, r2, sizeof r1) != 0);
    uint32_t x = arc4random(), y = arc4random();
    uint32_t u = arc4random_uniform(10);
    printf("arc4random differs=%d uniform<10=%d\n", x != y, u < 10);
    printf("done\n");
    return 0;
}
