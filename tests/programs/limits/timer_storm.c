/* Attack: as many POSIX timers as it may have, each expiring every microsecond with a
 * signal that cannot be taken (blocked: "blocked", or ignored: "ignored"), or
 * ITIMER_REAL every microsecond with SIGALRM blocked ("itimer"), then sleeps for three
 * seconds using no CPU of its own. Each expiry woke a host thread of Lind's: the Lind
 * process spent a whole CPU outside the cage's CPU time (RLIMIT_CPU did not see it).
 * Prints how many timers it made and whether they were still armed at the end. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "blocked";
	int sig = strcmp(how, "itimer") == 0 ? SIGALRM : SIGRTMIN;
	if (strcmp(how, "ignored") == 0) {
		signal(sig, SIG_IGN);
	} else {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	if (sig == SIGALRM) {
		struct itimerval every_us = {{0, 1}, {0, 1}}, now;
		setitimer(ITIMER_REAL, &every_us, NULL);
		sleep(3);
		getitimer(ITIMER_REAL, &now);
		printf("1 timers, armed %d\n", now.it_interval.tv_usec == 1);
		return 0;
	}
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	struct itimerspec every_us = {{0, 1000}, {0, 1000}};
	timer_t first = 0, t;
	int made = 0;
	while (timer_create(CLOCK_MONOTONIC, &ev, &t) == 0) {
		if (!made)
			first = t;
		timer_settime(t, 0, &every_us, NULL);
		made++;
	}
	sleep(3);
	struct itimerspec now;
	timer_gettime(first, &now);
	printf("%d timers, armed %d\n", made, now.it_interval.tv_nsec == 1000);
	return 0;
}
