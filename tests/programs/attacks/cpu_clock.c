/* A cage's CPU-time clocks are its own: sleeping half a second, its process and thread
 * clocks (and getrusage) must not move by what other tenants of the same Lind process
 * burn meanwhile. Prints how much each moved, as "under 100 ms" or "100 ms or more". */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static long long ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long rusage_ns(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000000LL +
	       (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1000LL;
}

static const char *moved(long long delta)
{
	return delta < 100000000 ? "under 100 ms" : "100 ms or more";
}

int main(void)
{
	long long process = ns(CLOCK_PROCESS_CPUTIME_ID), thread = ns(CLOCK_THREAD_CPUTIME_ID);
	long long usage = rusage_ns();
	struct timespec half = {0, 500000000};
	nanosleep(&half, NULL);
	printf("process clock: %s\n", moved(ns(CLOCK_PROCESS_CPUTIME_ID) - process));
	printf("thread clock: %s\n", moved(ns(CLOCK_THREAD_CPUTIME_ID) - thread));
	printf("getrusage: %s\n", moved(rusage_ns() - usage));
	return 0;
}
