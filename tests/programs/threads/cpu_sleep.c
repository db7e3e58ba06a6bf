/* clock_nanosleep on the process's CPU clock, relative and absolute, while another
 * thread computes: it ends once the process has used that much CPU (a cage slept wall
 * time, and an absolute one compared the target with the Lind process's clock, which
 * counts every tenant's, and woke early); on a thread's own CPU clock it is EINVAL. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static volatile int stop;

static void *spin(void *arg)
{
	while (!stop)
		;
	return arg;
}

static long long cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, spin, NULL);
	long long start = cpu_ns();
	struct timespec step = {0, 150000000};
	int r = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &step, NULL);
	printf("relative: %d, reached: %d\n", r, cpu_ns() - start >= 150000000);
	long long target = cpu_ns() + 150000000;
	struct timespec at = {target / 1000000000, target % 1000000000};
	r = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &at, NULL);
	printf("absolute: %d, reached: %d\n", r, cpu_ns() >= target);
	printf("a thread's own clock: %d\n", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &step, NULL));
	stop = 1;
	pthread_join(t, NULL);
	return 0;
}
