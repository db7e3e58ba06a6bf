/* Blocking calls interrupted by a caught signal: read, write and waitpid give
 * EINTR without SA_RESTART and are restarted with it; poll and select give
 * EINTR either way; ppoll and pselect wait under the mask they are given; a
 * reader blocked in a child is interrupted by its parent.  Output must match
 * a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int data[2];
static pid_t child;
static char big[65536];

static void put_a_byte(int sig)
{
	(void)sig;
	write(data[1], "!", 1);
}

static void drain(int sig)
{
	(void)sig;
	read(data[0], big, sizeof big);
}

static void end_child(int sig)
{
	(void)sig;
	kill(child, SIGTERM);
}

static void nothing(int sig)
{
	(void)sig;
}

static volatile sig_atomic_t alarms;

static void count_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static int blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, 0, &now);
	return sigismember(&now, sig);
}

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void arm_ms(long ms)
{
	struct itimerval it = { .it_value = { ms / 1000, ms % 1000 * 1000 } };
	setitimer(ITIMER_REAL, &it, 0);
}

static void report(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerror(errno));
	else
		printf("%s: %ld\n", what, r);
}

static void fill_pipe(void)
{
	fcntl(data[1], F_SETFL, O_NONBLOCK);
	while (write(data[1], big, sizeof big) > 0)
		;
	fcntl(data[1], F_SETFL, 0);
}

static pid_t idle_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void interrupted_reader(void)
{
	int ready[2], empty[2];
	char c;
	pipe(ready);
	pipe(empty);
	pid_t pid = fork();
	if (pid == 0) {
		install(SIGUSR1, nothing, 0);
		write(ready[1], "r", 1);
		ssize_t n = read(empty[0], &c, 1);
		report("child's read, signalled by its parent", n);
		_exit(0);
	}
	read(ready[0], &c, 1);
	/* Until the child has gone: the first signal may come before its read. */
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGUSR1);
		nanosleep(&tick, 0);
	}
	printf("child exited=%d status=%d\n", WIFEXITED(status), WEXITSTATUS(status));
}

int main(void)
{
	char c = 0;
	int status;
	setvbuf(stdout, 0, _IONBF, 0);
	pipe(data);

	/* read on an empty pipe */
	install(SIGALRM, put_a_byte, 0);
	arm_ms(20);
	report("read, no SA_RESTART", read(data[0], &c, 1));
	report("read again", read(data[0], &c, 1));
	install(SIGALRM, put_a_byte, SA_RESTART);
	arm_ms(20);
	c = 0;
	report("read, SA_RESTART", read(data[0], &c, 1));
	printf("read got '%c'\n", c);

	/* write to a full pipe */
	fill_pipe();
	install(SIGALRM, drain, 0);
	arm_ms(20);
	report("write, no SA_RESTART", write(data[1], "x", 1));
	fill_pipe();
	install(SIGALRM, drain, SA_RESTART);
	arm_ms(20);
	report("write, SA_RESTART", write(data[1], "x", 1));
	drain(0);

	/* waitpid for a child that does not end by itself */
	child = idle_child();
	install(SIGALRM, nothing, 0);
	arm_ms(20);
	report("waitpid, no SA_RESTART", waitpid(child, &status, 0));
	install(SIGALRM, end_child, SA_RESTART);
	arm_ms(20);
	pid_t got = waitpid(child, &status, 0);
	printf("waitpid, SA_RESTART: got the child=%d killed by %d\n", got == child, WTERMSIG(status));

	/* poll and select are never restarted */
	install(SIGALRM, nothing, SA_RESTART);
	struct pollfd pfd = { .fd = data[0], .events = POLLIN };
	arm_ms(20);
	report("poll, SA_RESTART", poll(&pfd, 1, -1));
	fd_set readable;
	FD_ZERO(&readable);
	FD_SET(data[0], &readable);
	arm_ms(20);
	report("select, SA_RESTART", select(data[0] + 1, &readable, 0, 0, 0));

	/* ppoll and pselect: SIGALRM blocked except while they wait */
	sigset_t alrm, none;
	sigemptyset(&none);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	install(SIGALRM, count_alarm, SA_RESTART);
	sigprocmask(SIG_BLOCK, &alrm, 0);
	arm_ms(20);
	report("ppoll opening SIGALRM", ppoll(&pfd, 1, 0, &none));
	printf("alarms=%d alrm blocked again=%d\n", (int)alarms, blocked(SIGALRM));
	FD_SET(data[0], &readable);
	arm_ms(20);
	report("pselect opening SIGALRM", pselect(data[0] + 1, &readable, 0, 0, 0, &none));
	printf("alarms=%d alrm blocked again=%d\n", (int)alarms, blocked(SIGALRM));
	write(data[1], "y", 1);
	raise(SIGALRM);
	report("ppoll with data, SIGALRM pending, mask keeps it blocked", ppoll(&pfd, 1, 0, &alrm));
	printf("alarms=%d\n", (int)alarms);
	read(data[0], &c, 1);
	signal(SIGALRM, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &alrm, 0);

	/* a reader in another process */
	interrupted_reader();
	return 0;
}
