/* Attack: as many POSIX timers as it may have, each expiring every microsecond with a
 * signal that cannot be taken (blocked: "blocked", or ignored: "ignored"), then sleeps
 * for three seconds using no CPU of its own. Each expiry woke the host's timer thread:
 * the Lind process spent a whole CPU outside the cage's CPU time (RLIMIT_CPU did not see
 * it). Prints how many timers it made and whether they were still armed at the end. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int ignored = argc > 1 && strcmp(argv[1], "ignored") == 0;
	if (ignored) {
		signal(SIGRTMIN, SIG_IGN);
	} else {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN);
		sigprocmask(SIG_BLOCK, &set, NULL);
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
