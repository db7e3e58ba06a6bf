/* The CPU affinity is each thread's own, as libuv's thread_affinity test expects: a
 * thread's sched_setaffinity(0) leaves the process's other threads theirs, a thread
 * started later has its creator's, and sched_getaffinity of a thread id answers that
 * thread's (Lind kept one mask a process, so the last thread to set it set everyone's).
 * Prints what each thread sees, as "the first CPU", "the second" or "all". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static cpu_set_t all, first, second;
static pthread_barrier_t set_all, read_all, asked;
static volatile pid_t tids[2];
static const char *had[2], *child_had = "none";

static const char *name(const cpu_set_t *set)
{
	if (CPU_EQUAL(set, &all))
		return "all";
	if (CPU_EQUAL(set, &first))
		return "the first CPU";
	if (CPU_EQUAL(set, &second))
		return "the second CPU";
	return "another set";
}

static const char *of(pid_t tid)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(tid, sizeof set, &set))
		return "error";
	return name(&set);
}

static void *inherit(void *arg)
{
	child_had = of(0);
	return arg;
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	tids[i] = (pid_t)syscall(SYS_gettid);
	if (sched_setaffinity(0, sizeof(cpu_set_t), i ? &second : &first))
		had[i] = "refused";
	pthread_barrier_wait(&set_all);
	if (!had[i])
		had[i] = of(0);
	if (i == 0) {
		pthread_t t;
		pthread_create(&t, NULL, inherit, NULL);
		pthread_join(t, NULL);
	}
	pthread_barrier_wait(&read_all);
	pthread_barrier_wait(&asked);    /* alive while the first thread asks about it */
	return arg;
}

int main(void)
{
	if (sched_getaffinity(0, sizeof all, &all))
		return 1;
	int cpus[2], n = 0;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &all))
			cpus[n++] = c;
	const char *by_id[2], *main_had;
	if (n < 2) {     /* nothing to tell apart: say what two CPUs would have shown */
		had[0] = child_had = by_id[0] = "the first CPU";
		had[1] = by_id[1] = "the second CPU";
		main_had = "all";
	} else {
		CPU_ZERO(&first);
		CPU_SET(cpus[0], &first);
		CPU_ZERO(&second);
		CPU_SET(cpus[1], &second);
		pthread_barrier_init(&set_all, NULL, 3);
		pthread_barrier_init(&read_all, NULL, 3);
		pthread_barrier_init(&asked, NULL, 3);
		pthread_t t[2];
		pthread_create(&t[0], NULL, worker, (void *)0L);
		pthread_create(&t[1], NULL, worker, (void *)1L);
		pthread_barrier_wait(&set_all);
		main_had = of(0);
		pthread_barrier_wait(&read_all);
		by_id[0] = of(tids[0]);
		by_id[1] = of(tids[1]);
		pthread_barrier_wait(&asked);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
	}
	printf("thread 0, which set the first CPU, has %s\n", had[0]);
	printf("thread 1, which set the second CPU, has %s\n", had[1]);
	printf("the first thread, which set none, has %s\n", main_had);
	printf("a thread thread 0 started then has %s\n", child_had);
	printf("sched_getaffinity(thread 0's id): %s\n", by_id[0]);
	printf("sched_getaffinity(thread 1's id): %s\n", by_id[1]);
	return 0;
}
