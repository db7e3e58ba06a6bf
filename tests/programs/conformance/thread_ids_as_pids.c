/* Scheduling calls given a thread's id, as glibc's and musl's pthread_*affinity_np,
 * pthread_*schedparam and libuv's uv_thread_*priority make them: each accepts it (Lind
 * answered ESRCH, knowing process ids only). Prints results and errnos. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_barrier_t ready, done;
static volatile pid_t worker_tid;

static void *worker(void *arg)
{
	worker_tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done);
	return arg;
}

static void say(const char *what, int r)
{
	printf("%s: %d %d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
	pthread_t t;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	pthread_barrier_wait(&ready);
	cpu_set_t set;
	CPU_ZERO(&set);
	printf("pthread_getaffinity_np: %d\n", pthread_getaffinity_np(t, sizeof set, &set));
	printf("  CPU 0 in it: %d\n", CPU_ISSET(0, &set));
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	printf("pthread_setaffinity_np CPU 0: %d\n", pthread_setaffinity_np(t, sizeof set, &set));
	say("sched_getaffinity(tid)", sched_getaffinity(worker_tid, sizeof set, &set) < 0 ? -1 : 0);
	int policy;   /* (what glibc fills in here differs from musl's: not compared) */
	struct sched_param param;
	printf("pthread_getschedparam: %d\n", pthread_getschedparam(t, &policy, &param));
	param.sched_priority = 0;
	printf("pthread_setschedparam SCHED_OTHER: %d\n", pthread_setschedparam(t, SCHED_OTHER, &param));
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, (id_t)worker_tid);
	printf("getpriority(tid): %d %d\n", prio, errno);
	say("setpriority(tid, 5)", setpriority(PRIO_PROCESS, (id_t)worker_tid, 5));
	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)worker_tid);
	printf("getpriority(tid) after: %d %d\n", prio, errno);
	say("setpriority(99999, 5)", setpriority(PRIO_PROCESS, 99999, 5));
	pthread_barrier_wait(&done);
	pthread_join(t, NULL);
	return 0;
}
