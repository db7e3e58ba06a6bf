/* POSIX timers: a signal with the timer's value and SI_TIMER, a periodic timer read
 * with sigwaitinfo, overruns while its signal is blocked, SIGEV_THREAD's notify
 * function, SIGEV_NONE with timer_gettime, an absolute time, a timer whose signal was
 * ignored or pending from kill() signalling again, ITIMER_REAL's blocked, the errors,
 * a fork's child, which has no timers, and exec, which deletes them. Prints what does
 * not depend on the machine's speed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught, caught_value, caught_code;
static volatile int notified;

static void on_signal(int sig, siginfo_t *si, void *context)
{
	caught++;
	caught_value = si->si_value.sival_int;
	caught_code = si->si_code;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

static void on_notify(union sigval v)
{
	__atomic_add_fetch(&notified, v.sival_int, __ATOMIC_SEQ_CST);
}

static struct itimerspec every(long first_ms, long period_ms)
{
	struct itimerspec t = {{period_ms / 1000, period_ms % 1000 * 1000000},
	                       {first_ms / 1000, first_ms % 1000 * 1000000}};
	return t;
}

static const char *err(int r)
{
	return r == 0 ? "0" : errno == EINVAL ? "EINVAL" : strerror(errno);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct itimerspec now;
	if (argc > 1) {          /* exec'd with a timer the program before it had */
		timer_t had = (timer_t)(intptr_t)atoi(argv[1]);
		printf("gone after exec: %d\n", timer_gettime(had, &now) != 0);
		return 0;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);

	/* one shot, caught by a handler */
	timer_t t;
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 1;
	ev.sigev_value.sival_int = 42;
	printf("create: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t)));
	struct itimerspec once = every(10, 0);
	printf("arm: %s\n", err(timer_settime(t, 0, &once, NULL)));
	while (!caught)
		usleep(1000);
	printf("caught %d value %d SI_TIMER %d\n", (int)caught, (int)caught_value,
	       caught_code == SI_TIMER);

	/* periodic, taken with sigwaitinfo; then overruns while it stays blocked */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct itimerspec periodic = every(5, 5);
	timer_settime(t, 0, &periodic, NULL);
	int taken = 0;
	siginfo_t si;
	for (int i = 0; i < 3; i++)
		taken += sigwaitinfo(&set, &si) == SIGRTMIN + 1 && si.si_value.sival_int == 42;
	printf("sigwaitinfo took %d\n", taken);
	usleep(60000);
	sigwaitinfo(&set, &si);
	printf("overruns while blocked: %s\n", timer_getoverrun(t) >= 3 ? "several" : "too few");
	timer_gettime(t, &now);
	printf("still periodic: %d\n", now.it_interval.tv_nsec == 5000000);
	struct itimerspec off = every(0, 0), previous;
	timer_settime(t, 0, &off, &previous);
	printf("disarmed, was periodic: %d\n", previous.it_interval.tv_nsec == 5000000);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	int deleted = timer_delete(t);
	printf("delete: %d, again fails: %d\n", deleted, timer_delete(t) != 0);

	/* SIGEV_THREAD: the notify function runs on a thread of its own */
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = on_notify;
	ev.sigev_value.sival_int = 1;
	printf("thread timer: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &t)));
	timer_settime(t, 0, &periodic, NULL);
	while (__atomic_load_n(&notified, __ATOMIC_SEQ_CST) < 5)
		usleep(1000);
	printf("notified at least 5 times\n");
	printf("delete: %s\n", err(timer_delete(t)));

	/* SIGEV_NONE: it runs, and says how long is left */
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_NONE;
	timer_create(CLOCK_REALTIME, &ev, &t);
	struct itimerspec long_one = every(5000, 0);
	timer_settime(t, 0, &long_one, NULL);
	timer_gettime(t, &now);
	printf("SIGEV_NONE: left between 4 and 5 s: %d\n",
	       now.it_value.tv_sec == 4 || (now.it_value.tv_sec == 5 && now.it_value.tv_nsec == 0));

	/* an absolute time on CLOCK_MONOTONIC, already past: it fires at once */
	timer_t abs_timer;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 1;
	ev.sigev_value.sival_int = 7;
	timer_create(CLOCK_MONOTONIC, &ev, &abs_timer);
	struct itimerspec past = every(0, 0);
	past.it_value.tv_sec = 1;
	caught = 0;
	printf("absolute: %s\n", err(timer_settime(abs_timer, TIMER_ABSTIME, &past, NULL)));
	while (!caught)
		usleep(1000);
	printf("caught value %d\n", (int)caught_value);

	/* its signal ignored, the timer sends nothing; caught again, it signals again */
	timer_t quiet;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 2;
	signal(SIGRTMIN + 2, SIG_IGN);
	timer_create(CLOCK_MONOTONIC, &ev, &quiet);
	struct itimerspec fast = every(1, 1);
	timer_settime(quiet, 0, &fast, NULL);
	usleep(20000);
	caught = 0;
	sigaction(SIGRTMIN + 2, &sa, NULL);
	for (int i = 0; i < 2000 && caught < 3; i++)
		usleep(1000);
	printf("signals again once caught: %d\n", caught >= 3);
	timer_delete(quiet);

	/* blocked, the same signal pending from kill(): signals again once unblocked */
	sigset_t rt2;
	sigemptyset(&rt2);
	sigaddset(&rt2, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &rt2, NULL);
	timer_create(CLOCK_MONOTONIC, &ev, &quiet);
	kill(getpid(), SIGRTMIN + 2);
	timer_settime(quiet, 0, &fast, NULL);
	usleep(20000);
	caught = 0;
	sigprocmask(SIG_UNBLOCK, &rt2, NULL);
	for (int i = 0; i < 2000 && caught < 3; i++)
		usleep(1000);
	printf("signals again once unblocked: %d\n", caught >= 3);
	timer_delete(quiet);

	/* ITIMER_REAL: a one-shot expiry while SIGALRM is pending (from kill) is lost in it */
	struct sigaction al;
	memset(&al, 0, sizeof al);
	al.sa_handler = on_alarm;
	sigaction(SIGALRM, &al, NULL);
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	kill(getpid(), SIGALRM);
	struct itimerval one_shot = {{0, 0}, {0, 5000}};
	setitimer(ITIMER_REAL, &one_shot, NULL);
	usleep(30000);
	alarms = 0;
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	for (int i = 0; i < 30; i++)
		usleep(1000);
	printf("one-shot while pending: %d SIGALRM\n", (int)alarms);

	/* periodic: blocked a while, then caught on its beat again */
	struct itimerval every2 = {{0, 2000}, {0, 2000}}, itimer_off = {{0, 0}, {0, 0}};
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	setitimer(ITIMER_REAL, &every2, NULL);
	usleep(30000);
	alarms = 0;
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	for (int i = 0; i < 2000 && alarms < 5; i++)
		usleep(1000);
	printf("periodic, after blocked: %d\n", alarms >= 5);
	/* (one that expires while SIGALRM is ignored stops for good on Linux 6.18, not on
	 * older kernels: not compared) */
	setitimer(ITIMER_REAL, &itimer_off, NULL);

	/* errors */
	timer_t bad;
	printf("bad clock: %s\n", err(timer_create(12345, NULL, &bad)));
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 1000;
	printf("bad signal: %s\n", err(timer_create(CLOCK_MONOTONIC, &ev, &bad)));
	struct itimerspec nsec = every(0, 0);
	nsec.it_value.tv_nsec = 1000000000;
	printf("bad nsec: %s\n", err(timer_settime(t, 0, &nsec, NULL)));
	printf("other flags ignored: %s\n", err(timer_settime(t, 8, &long_one, NULL)));

	/* a realtime signal's: queued beside one sigqueue sent, not counted as an overrun */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 4);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	timer_t queued;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 4;
	ev.sigev_value.sival_int = 77;
	timer_create(CLOCK_MONOTONIC, &ev, &queued);
	sigqueue(getpid(), SIGRTMIN + 4, (union sigval){.sival_int = 5});
	struct itimerspec soon = every(1, 0);
	timer_settime(queued, 0, &soon, NULL);
	usleep(50000);
	siginfo_t got;
	struct timespec none = {0, 0};
	while (sigtimedwait(&rt, &got, &none) > 0)
		printf("realtime: %s value %d\n", got.si_code == SI_TIMER ? "SI_TIMER"
		       : got.si_code == SI_QUEUE ? "SI_QUEUE" : "other", got.si_value.sival_int);
	timer_delete(queued);
	sigprocmask(SIG_UNBLOCK, &rt, NULL);

	/* a fork's child has none of its parent's timers */
	pid_t pid = fork();
	if (pid == 0) {
		int r = timer_gettime(t, &now);
		_exit(r < 0 && errno == EINVAL ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child without timers: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("parent's still there: %s\n", err(timer_gettime(t, &now)));
	timer_delete(t);
	char id[16];
	snprintf(id, sizeof id, "%d", (int)(intptr_t)abs_timer);
	execl("/proc/self/exe", "posix_timers", id, (char *)NULL);
	printf("exec: %s\n", strerror(errno));
	return 1;
}
