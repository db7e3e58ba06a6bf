/* Setting the clock needs CAP_SYS_TIME: an unprivileged process gets EPERM once its
 * arguments are good, EINVAL for bad ones or a clock that cannot be set. (Run natively
 * only as an unprivileged user: as root it would set the machine's clock.) A cage had
 * no such calls (ENOSYS). */
#include <errno.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static void show(const char *what, int r)
{
	printf("%s: %d errno %d\n", what, r, r ? errno : 0);
}

int main(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec bad = {now.tv_sec, 1000000000};
	show("clock_settime realtime", clock_settime(CLOCK_REALTIME, &now));
	show("clock_settime monotonic", clock_settime(CLOCK_MONOTONIC, &now));
	show("clock_settime bad nsec", clock_settime(CLOCK_REALTIME, &bad));
	show("clock_settime bad clock", clock_settime(99, &now));
	struct timeval tv = {now.tv_sec, 0}, badtv = {now.tv_sec, 1000000};
	show("settimeofday", settimeofday(&tv, NULL));
	show("settimeofday bad usec", settimeofday(&badtv, NULL));
	return 0;
}
