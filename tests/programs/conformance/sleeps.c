/* nanosleep and clock_nanosleep: their errors (nanosleep sets errno, clock_nanosleep
 * returns it), relative and absolute sleeps on each clock lasting at least as asked,
 * an absolute time already past, and signals: a sleep cut short reports the time
 * truly left, so a program sleeping on after each EINTR ends when it meant to even
 * with a timer firing every 5 ms; an absolute one leaves `rem` alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define MS 1000000LL

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static long long now(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct timespec span(long long ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

static void timer_every(long long ns)
{
	struct itimerval every = {{0, ns / 1000}, {0, ns / 1000}};
	setitimer(ITIMER_REAL, &every, NULL);
}

static void errors(void)
{
	struct timespec bad_ns = {0, 1000000000L}, negative = {-1, 0}, zero = {0, 0};
	int r = nanosleep(&bad_ns, NULL);
	printf("nanosleep nsec 1e9: %d errno %d\n", r, errno);
	r = nanosleep(&negative, NULL);
	printf("nanosleep -1 s: %d errno %d\n", r, errno);
	printf("nanosleep 0: %d\n", nanosleep(&zero, NULL));
	printf("clock_nanosleep nsec 1e9: %d\n", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad_ns, NULL));
	printf("clock_nanosleep bad clock: %d\n", clock_nanosleep(12345, 0, &zero, NULL));
}

static void lengths(void)
{
	static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
	static const char *names[] = {"realtime", "monotonic", "boottime"};
	for (int i = 0; i < 3; i++) {
		struct timespec d = span(15 * MS), rem = {7, 7};
		long long start = now(CLOCK_MONOTONIC);
		int r = clock_nanosleep(clocks[i], 0, &d, &rem);
		long long took = now(CLOCK_MONOTONIC) - start;
		printf("%s relative 15 ms: %d, at least: %d, under 1 s: %d, rem untouched: %d\n",
		       names[i], r, took >= 15 * MS, took < 1000 * MS, rem.tv_sec == 7 && rem.tv_nsec == 7);
		struct timespec at = span(now(clocks[i]) + 15 * MS);
		r = clock_nanosleep(clocks[i], TIMER_ABSTIME, &at, NULL);
		printf("%s absolute +15 ms: %d, reached: %d\n", names[i], r,
		       now(clocks[i]) >= at.tv_sec * 1000000000LL + at.tv_nsec);
		at = span(now(clocks[i]) - 1000 * MS);
		start = now(CLOCK_MONOTONIC);
		r = clock_nanosleep(clocks[i], TIMER_ABSTIME, &at, NULL);
		printf("%s absolute in the past: %d, at once: %d\n", names[i], r,
		       now(CLOCK_MONOTONIC) - start < 500 * MS);
	}
	struct timespec d = span(15 * MS);
	long long start = now(CLOCK_MONOTONIC);
	int r = nanosleep(&d, NULL);
	printf("nanosleep 15 ms: %d, at least: %d\n", r, now(CLOCK_MONOTONIC) - start >= 15 * MS);
}

static void interrupted(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	/* one alarm 30 ms into a 300 ms sleep: EINTR, with about 270 ms left */
	struct itimerval once = {{0, 0}, {0, 30000}};
	setitimer(ITIMER_REAL, &once, NULL);
	struct timespec d = span(300 * MS), rem = {0, 0};
	int r = nanosleep(&d, &rem);
	long long left = rem.tv_sec * 1000000000LL + rem.tv_nsec;
	printf("nanosleep cut short: %d errno %d, left 150..280 ms: %d\n", r, errno,
	       left >= 150 * MS && left <= 280 * MS);

	/* sleeping on after each EINTR with an alarm every 5 ms ends on time */
	alarms = 0;
	timer_every(5 * MS);
	long long start = now(CLOCK_MONOTONIC);
	d = span(120 * MS);
	int cuts = 0;
	while (nanosleep(&d, &d) == -1 && errno == EINTR)
		cuts++;
	long long took = now(CLOCK_MONOTONIC) - start;
	timer_every(0);
	printf("sleeping on after EINTR: cut short: %d, 120 ms at least: %d, under 1 s: %d\n",
	       cuts > 3, took >= 120 * MS, took < 1000 * MS);

	/* the same with clock_nanosleep and the time left */
	timer_every(5 * MS);
	start = now(CLOCK_MONOTONIC);
	d = span(120 * MS);
	cuts = 0;
	while ((r = clock_nanosleep(CLOCK_MONOTONIC, 0, &d, &d)) == EINTR)
		cuts++;
	took = now(CLOCK_MONOTONIC) - start;
	timer_every(0);
	printf("clock_nanosleep on after EINTR: %d, cut short: %d, 120 ms at least: %d, "
	       "under 1 s: %d\n", r, cuts > 3, took >= 120 * MS, took < 1000 * MS);

	/* absolute: EINTR, rem not written; then to the end */
	setitimer(ITIMER_REAL, &once, NULL);
	struct timespec at = span(now(CLOCK_REALTIME) + 200 * MS), untouched = {5, 5};
	r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, &untouched);
	printf("absolute cut short: %d, rem untouched: %d\n", r,
	       untouched.tv_sec == 5 && untouched.tv_nsec == 5);
	while ((r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL)) == EINTR)
		;
	printf("absolute to the end: %d, reached: %d\n", r,
	       now(CLOCK_REALTIME) >= at.tv_sec * 1000000000LL + at.tv_nsec);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	errors();
	lengths();
	interrupted();
	return 0;
}
