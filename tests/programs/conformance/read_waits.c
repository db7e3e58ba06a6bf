/* Reads that wait, again and again, on a pipe and on a socket pair (a peer answering
 * each message), then a wait of the same kind cut short by a signal: EINTR without
 * SA_RESTART, the data once it comes with it, and a read of what is already there
 * right after. Lind's trampoline waits first on a file whose last read waited. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { alarms++; }

static void alarm_in(int ms, int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = {{0, 0}, {0, ms * 1000}};
	setitimer(ITIMER_REAL, &t, NULL);
}

/* `to` and `from` talk to a child that echoes 20 bytes, then sends one more after
 * 300 ms, then exits; the caller's copies of the child's ends are closed. */
static void run(const char *kind, int to, int from, int child_to, int child_from)
{
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		for (int i = 0; i < 20; i++) {
			if (read(child_from, &c, 1) != 1)
				_exit(1);
			write(child_to, &c, 1);
		}
		usleep(300000);
		write(child_to, "!", 1);
		_exit(0);
	}
	close(child_to);              /* the child's ends: EOF once it has gone */
	if (child_from != child_to)
		close(child_from);
	int echoed = 0;
	for (int i = 0; i < 20; i++) {
		char c = (char)('a' + i), back = 0;
		write(to, &c, 1);
		echoed += read(from, &back, 1) == 1 && back == c;
	}
	char c = 0;
	alarm_in(50, 0);
	errno = 0;
	int r = (int)read(from, &c, 1);
	printf("%s: %d echoed; cut short: %d %s (alarms %d)\n", kind, echoed, r,
	       r < 0 ? strerror(errno) : "", (int)alarms);
	alarm_in(50, 1);
	r = (int)read(from, &c, 1);
	printf("%s: restarted: %d '%c' (alarms %d)\n", kind, r, c, (int)alarms);
	int status;
	waitpid(pid, &status, 0);
	r = (int)read(from, &c, 1);
	printf("%s: after the end: %d\n", kind, r);
	alarms = 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int down[2], up[2];
	pipe(down);
	pipe(up);
	run("pipe", down[1], up[0], up[1], down[0]);
	close(down[1]);
	close(up[0]);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	run("socket pair", sv[0], sv[0], sv[1], sv[1]);
	return 0;
}
