/* The CPU clocks clock_getcpuclockid and pthread_getcpuclockid name (negative clock
 * ids: the process's or a thread's, by pid or tid): readable with clock_gettime and
 * clock_getres, moving as the process or thread runs, a process's slept on with
 * clock_nanosleep (to a time passed: the sleeper alone would not move it), set with
 * nothing (EPERM). A cage answered EINVAL for all of them
 * (clock_getcpuclockid said ESRCH for the caller itself). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile double sink;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int phase;

static void burn(void)
{
	for (int i = 0; i < 20000000; i++)
		sink += i;
}

static long long ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void reads(const char *what, clockid_t clock)
{
	struct timespec a, b, res;
	errno = 0;
	int r1 = clock_gettime(clock, &a);
	int e1 = errno;
	burn();
	int r2 = clock_gettime(clock, &b);
	int r3 = clock_getres(clock, &res);
	printf("%s: gettime %d/%d errno %d, moved %d, getres %d (positive %d)\n", what, r1, r2,
	       e1, r1 == 0 && ns(b) > ns(a), r3, r3 == 0 && ns(res) > 0);
}

static void *worker(void *arg)
{
	(void)arg;
	burn();
	pthread_mutex_lock(&lock);
	phase = 1;
	pthread_cond_signal(&cond);
	while (phase != 2)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(void)
{
	clockid_t clock;
	printf("clock_getcpuclockid(0): %d\n", clock_getcpuclockid(0, &clock));
	reads("process, pid 0", clock);
	struct timespec tiny = {0, 1000000}, now;
	clock_gettime(clock, &now);     /* a time already passed: no wait for CPU time */
	printf("clock_nanosleep on it: %d\n", clock_nanosleep(clock, TIMER_ABSTIME, &now, NULL));
	errno = 0;
	int set = clock_settime(clock, &tiny);
	printf("clock_settime: %d errno %d\n", set, errno);
	printf("clock_getcpuclockid(getpid()): %d\n", clock_getcpuclockid(getpid(), &clock));
	reads("process, own pid", clock);
	printf("clock_getcpuclockid(no such pid): %d\n", clock_getcpuclockid(99999, &clock));

	printf("pthread_getcpuclockid(self): %d\n", pthread_getcpuclockid(pthread_self(), &clock));
	reads("own thread", clock);
	printf("clock_nanosleep on a thread's: %d\n", clock_nanosleep(clock, 0, &tiny, NULL));

	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_mutex_lock(&lock);
	while (phase != 1)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	printf("pthread_getcpuclockid(other): %d\n", pthread_getcpuclockid(t, &clock));
	struct timespec used;
	errno = 0;
	int r = clock_gettime(clock, &used);
	printf("other thread: gettime %d errno %d, has run %d\n", r, errno, r == 0 && ns(used) > 0);
	pthread_mutex_lock(&lock);
	phase = 2;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);

	errno = 0;
	r = clock_gettime((clockid_t)(~0 << 3 | 3), &used);    /* a clock fd's kind */
	printf("clock fd kind: %d errno %d\n", r, errno);
	return 0;
}
