/* SIGALRM arrives while read() waits on standard input, a host pipe.  With
 * SA_RESTART, Linux runs the handler and restarts the read; Lind cannot
 * interrupt a read on a host fd, so the handler runs when the read returns.
 * Either way the output is the same. */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
	write(1, "handler ran\n", 12);
}

int main(void)
{
	char buf[64];
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { .it_value = { 0, 20000 } };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, 0);
	setitimer(ITIMER_REAL, &it, 0);
	ssize_t n = read(0, buf, sizeof buf);
	write(1, "read: ", 6);
	write(1, buf, n > 0 ? (size_t)n : 0);
	return n > 0 ? 0 : 1;
}
