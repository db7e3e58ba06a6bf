/* Creates POSIX timers until refused, each armed to fire every millisecond with a
 * signal the program ignores, and prints how many it got and why it stopped; then
 * ends with all of them live (the host must delete them and close their fds). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(void)
{
	signal(SIGUSR1, SIG_IGN);
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	struct itimerspec every_ms = {{0, 1000000}, {0, 1000000}};
	int made = 0;
	timer_t t;
	while (made < 100000 && timer_create(CLOCK_MONOTONIC, &ev, &t) == 0) {
		timer_settime(t, 0, &every_ms, NULL);
		made++;
	}
	printf("%d %s\n", made, errno == EAGAIN ? "EAGAIN" : strerror(errno));
	return 0;
}
