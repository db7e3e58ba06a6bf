/* Attack: 32 POSIX timers whose signal goes to one thread (SIGEV_THREAD_ID), each
 * firing every microsecond from 200 ms on; that thread then exits, and the cage sleeps
 * argv[1] seconds (3 by default) using no CPU of its own. A signal for a thread that
 * ended is lost, so the timers were never parked: each expiry woke Lind's timer thread,
 * which burnt a host CPU outside every cage's CPU time. As Linux, a timer whose signal
 * cannot be sent stops. Prints "timers N" and "armed" once it slept. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TIMERS 32

static timer_t timers[TIMERS];
static int made;

static void on_usr1(int sig) { (void)sig; }

static void *arm(void *arg)
{
	(void)arg;
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_notify_thread_id = syscall(SYS_gettid);
	struct itimerspec its = {{0, 1000}, {0, 200000000}};
	while (made < TIMERS && timer_create(CLOCK_MONOTONIC, &ev, &timers[made]) == 0)
		timer_settime(timers[made++], 0, &its, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	signal(SIGUSR1, on_usr1);
	pthread_t thread;
	if (pthread_create(&thread, NULL, arm, NULL) != 0 || pthread_join(thread, NULL) != 0) {
		perror("pthread");
		return 1;
	}
	printf("timers %d\n", made);
	fflush(stdout);
	sleep(argc > 1 ? atoi(argv[1]) : 3);
	printf("slept\n");
	return 0;
}
