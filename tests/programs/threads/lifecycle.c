/* How a threaded program ends, by argv[1]:
 *   thread-exit    a thread calls exit(3) while main waits in pthread_join: status 3
 *   main-leaves    main calls pthread_exit; the others print and end: status 0
 *   last-status    main calls pthread_exit, the last thread ends with the raw
 *                  exit(2) system call and status 7: the process's status is 7
 *   trap           a thread dereferences NULL: the process ends with SIGSEGV
 *   exec-from-thread      a thread execs this program (mode exec'd) while main
 *                         waits in pthread_join: the new program has the same
 *                         pid and its status (4) is the process's
 *   exec-after-main-left  the same after main has left with pthread_exit
 *   spin           two threads spin forever (for a timeout or a kill from outside)
 *   printf         8 threads print 200 lines each at once
 *   nproc          RLIMIT_NPROC 3: threads are created until pthread_create fails
 *                  (Lind counts a cage's threads; Linux a user's, and not for root) */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *exits(void *arg)
{
	usleep(20000);
	exit(3);
	return arg;
}

/* Turns, so the lines come in one order however the threads are scheduled: main's
 * first, then worker 1's, worker 2's, the raw exit's. */
static sem_t turn[4];

static void *prints_later(void *arg)
{
	long i = (long)arg;
	sem_wait(&turn[i - 1]);
	printf("worker %ld still running after main left\n", i);
	sem_post(&turn[i]);
	return arg;
}

static pthread_t workers[3];

static void *exits_raw(void *arg)
{
	sem_wait(&turn[2]);
	pthread_join(workers[1], NULL);
	pthread_join(workers[2], NULL);
	usleep(100000);    /* and past their last system call, the exit(2) after the join */
	printf("the last thread ends with exit(2)\n");
	syscall(SYS_exit, 7);
	return arg;
}

static char self[4096], pid_text[16];

static void *execs(void *arg)
{
	usleep(20000);
	char *args[] = {self, "exec'd", pid_text, NULL};
	execv(self, args);
	printf("execv failed\n");
	return arg;
}

static void *faults(void *arg)
{
	usleep(20000);
	return (void *)(long)*(volatile int *)arg;
}

static volatile unsigned long sink;
static void *spins(void *arg)
{
	for (;;)
		sink++;
	return arg;
}

static void *prints(void *arg)
{
	for (int i = 0; i < 200; i++)
		printf("thread %ld line %d of a line long enough to be torn if stdout were not locked\n",
		       (long)arg, i);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[8];
	const char *mode = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "thread-exit")) {
		pthread_create(&t[0], NULL, exits, NULL);
		pthread_join(t[0], NULL);
		printf("not reached\n");
		return 0;
	}
	if (!strcmp(mode, "main-leaves") || !strcmp(mode, "last-status")) {
		for (int i = 0; i < 4; i++)
			sem_init(&turn[i], 0, 0);
		for (long i = 1; i <= 2; i++)
			pthread_create(&workers[i], NULL, prints_later, (void *)i);
		if (!strcmp(mode, "last-status"))
			pthread_create(&t[3], NULL, exits_raw, NULL);
		printf("main leaves\n");
		sem_post(&turn[0]);
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "exec-from-thread") || !strcmp(mode, "exec-after-main-left")) {
		snprintf(self, sizeof self, "%s", argv[0]);
		snprintf(pid_text, sizeof pid_text, "%d", (int)getpid());
		pthread_create(&t[0], NULL, execs, NULL);
		printf("main waits\n");
		if (!strcmp(mode, "exec-after-main-left"))
			pthread_exit(NULL);
		pthread_join(t[0], NULL);
		printf("not reached\n");
		return 0;
	}
	if (!strcmp(mode, "exec'd")) {
		printf("exec'd from a thread, same pid: %d\n", argc > 2 && atoi(argv[2]) == getpid());
		return 4;
	}
	if (!strcmp(mode, "trap")) {
		pthread_create(&t[0], NULL, faults, NULL);
		pthread_join(t[0], NULL);
		printf("not reached\n");
		return 0;
	}
	if (!strcmp(mode, "spin")) {
		pthread_create(&t[0], NULL, spins, NULL);
		pthread_create(&t[1], NULL, spins, NULL);
		printf("spinning\n");
		pthread_join(t[0], NULL);
		return 0;
	}
	if (!strcmp(mode, "nproc")) {
		struct rlimit three = {3, 3};
		int created = 0, err = 0;
		setrlimit(RLIMIT_NPROC, &three);
		while (created < 8 && !(err = pthread_create(&t[created], NULL, spins, NULL)))
			created++;
		printf("created %d threads, then error %d\n", created, err);
		exit(0);
	}
	if (!strcmp(mode, "printf")) {
		for (long i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, prints, (void *)i);
		for (int i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	fprintf(stderr, "usage: lifecycle MODE\n");
	return 2;
}
