/* Races the host threads that send timer signals. "attack SECONDS": forks workers one
 * after another for SECONDS, each with SIGALRM ignored and blocked, a POSIX timer
 * sending SIGUSR2 every 20 us, two threads re-arming a 1 us one-shot ITIMER_REAL without
 * end, two raising SIGALRM and unblocking it for an instant, and one changing a
 * disposition; prints "workers N died D" (a worker that did not exit 0). The one-shot
 * timer armed again just as its last expiry was being handled was parked as if it were
 * periodic, and the next look at it (the cage taking or dropping SIGALRM, on whatever
 * thread did that: the host thread sending the POSIX timer's signals too) divided by its
 * interval of 0: the worker ended on an internal error, or that host thread did, and no
 * POSIX timer of any cage of the process fired again. "victim": an alarm and a POSIX
 * timer, each to a handler; prints "alarm N timer N" (1: delivered). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static volatile sig_atomic_t got;

static void caught(int sig)
{
	(void)sig;
	got = 1;
}

static void *rearm(void *unused)
{
	(void)unused;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, 0);      /* the POSIX timer's signal lands here */
	struct itimerval once = {{0, 0}, {0, 1}};
	while (!stop)
		setitimer(ITIMER_REAL, &once, 0);
	return 0;
}

static void *flicker(void *unused)
{
	(void)unused;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	while (!stop) {
		pthread_sigmask(SIG_UNBLOCK, &set, 0);
		pthread_sigmask(SIG_BLOCK, &set, 0);
		kill(getpid(), SIGALRM);            /* pending: blocked by all, though ignored */
	}
	return 0;
}

static void *churn(void *unused)
{
	(void)unused;
	struct sigaction act = {.sa_handler = caught};
	while (!stop)
		sigaction(SIGUSR1, &act, 0);
	return 0;
}

static int worker(int seconds)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN}, handle = {.sa_handler = caught};
	sigaction(SIGALRM, &ignore, 0);
	sigaction(SIGUSR2, &handle, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, 0);
	timer_t timer;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
	struct itimerspec often = {{0, 20000}, {0, 20000}};
	if (timer_create(CLOCK_MONOTONIC, &ev, &timer) || timer_settime(timer, 0, &often, 0))
		return 2;
	void *(*roles[])(void *) = {rearm, rearm, flicker, flicker, churn};
	pthread_t threads[5];
	for (int i = 0; i < 5; i++)
		pthread_create(&threads[i], 0, roles[i], 0);
	sleep(seconds);
	stop = 1;
	for (int i = 0; i < 5; i++)
		pthread_join(threads[i], 0);
	return 0;
}

static int victim(void)
{
	struct sigaction handle = {.sa_handler = caught};
	sigaction(SIGALRM, &handle, 0);
	struct timespec wait = {2, 0};
	alarm(1);
	nanosleep(&wait, 0);
	int alarmed = got;
	got = 0;
	timer_t timer;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
	struct itimerspec soon = {{0, 0}, {0, 100000000}};
	timer_create(CLOCK_MONOTONIC, &ev, &timer);
	timer_settime(timer, 0, &soon, 0);
	nanosleep(&wait, 0);
	printf("alarm %d timer %d\n", alarmed, (int)got);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "victim"))
		return victim();
	int seconds = argc > 2 ? atoi(argv[2]) : 12, workers = 0, died = 0;
	time_t end = time(0) + seconds;
	while (time(0) < end) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(worker(3));
		int status;
		waitpid(pid, &status, 0);
		workers++;
		died += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	printf("workers %d died %d\n", workers, died);
	return 0;
}
