/* Signals while read() waits on standard input, a host pipe or a terminal:
 * without SA_RESTART the read fails with EINTR once the handler ran; with
 * SA_RESTART it is made again and returns the data written later.  The caller
 * writes "hello\n" a while after "waiting\n" appears. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
}

static ssize_t read_with_alarm(int flags, char *buf, size_t size)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = flags };
	struct itimerval it = { .it_value = { 0, 50000 } };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, 0);
	setitimer(ITIMER_REAL, &it, 0);
	return read(0, buf, size);
}

int main(void)
{
	char buf[64];
	ssize_t n = read_with_alarm(0, buf, sizeof buf);
	printf("no restart: %zd errno %d, handled %d\n", n, n < 0 ? errno : 0, (int)handled);
	printf("waiting\n");
	fflush(stdout);
	n = read_with_alarm(SA_RESTART, buf, sizeof buf);
	printf("restart: %zd, handled %d: %.*s", n, (int)handled, n > 0 ? (int)n : 0, buf);
	return n > 0 ? 0 : 1;
}
