/* Blocking calls interrupted by a caught signal: read, write and waitpid give
 * EINTR without SA_RESTART and are restarted with it; poll and select give
 * EINTR either way; ppoll and pselect wait under the mask they are given; a
 * reader blocked in a child is interrupted by its parent.  Output must match
 * a native run.
 *
 * SIGALRM ticks every 20 ms while a call waits, so whichever tick finds it
 * waiting interrupts it, however late the call starts.  With SA_RESTART the
 * handler makes the call able to finish on the third tick only. */
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
static volatile sig_atomic_t ticks;

static void count(int sig)
{
	(void)sig;
	ticks++;
}

static void third_puts_a_byte(int sig)
{
	if (++ticks == 3)
		write(data[1], "!", 1);
	(void)sig;
}

static void third_drains(int sig)
{
	if (++ticks == 3)
		read(data[0], big, sizeof big);
	(void)sig;
}

static void third_ends_child(int sig)
{
	if (++ticks == 3)
		kill(child, SIGTERM);
	(void)sig;
}

static int blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, 0, &now);
	return sigismember(&now, sig);
}

/* SIGALRM goes to `fn` and ticks every 20 ms from now on. */
static void tick(void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	struct itimerval it = { .it_interval = { 0, 20000 }, .it_value = { 0, 20000 } };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, 0);
	ticks = 0;
	setitimer(ITIMER_REAL, &it, 0);
}

static void stop_ticks(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, 0);
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

static void nothing(int sig)
{
	(void)sig;
}

static void interrupted_reader(void)
{
	int ready[2], empty[2];
	char c;
	pipe(ready);
	pipe(empty);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = nothing };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, 0);
		write(ready[1], "r", 1);
		ssize_t n = read(empty[0], &c, 1);
		report("child's read, signalled by its parent", n);
		_exit(0);
	}
	read(ready[0], &c, 1);
	/* Until the child has gone: the first signal may come before its read. */
	struct timespec pause_10ms = { 0, 10 * 1000 * 1000 };
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGUSR1);
		nanosleep(&pause_10ms, 0);
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
	tick(count, 0);
	report("read, no SA_RESTART", read(data[0], &c, 1));
	tick(third_puts_a_byte, SA_RESTART);
	report("read, SA_RESTART", read(data[0], &c, 1));
	stop_ticks();
	printf("read got '%c'\n", c);

	/* write to a full pipe */
	fill_pipe();
	tick(count, 0);
	report("write, no SA_RESTART", write(data[1], "x", 1));
	tick(third_drains, SA_RESTART);
	report("write, SA_RESTART", write(data[1], "x", 1));
	stop_ticks();
	read(data[0], big, sizeof big);

	/* waitpid for a child that does not end by itself */
	child = idle_child();
	tick(count, 0);
	report("waitpid, no SA_RESTART", waitpid(child, &status, 0));
	tick(third_ends_child, SA_RESTART);
	pid_t got = waitpid(child, &status, 0);
	stop_ticks();
	printf("waitpid, SA_RESTART: got the child=%d killed by %d\n", got == child, WTERMSIG(status));

	/* poll and select are never restarted */
	struct pollfd pfd = { .fd = data[0], .events = POLLIN };
	fd_set readable;
	FD_ZERO(&readable);
	FD_SET(data[0], &readable);
	tick(count, SA_RESTART);
	report("poll, SA_RESTART", poll(&pfd, 1, -1));
	report("select, SA_RESTART", select(data[0] + 1, &readable, 0, 0, 0));

	/* ppoll and pselect: SIGALRM blocked except while they wait */
	sigset_t alrm, none;
	sigemptyset(&none);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, 0);
	ticks = 0;
	report("ppoll opening SIGALRM", ppoll(&pfd, 1, 0, &none));
	printf("ticks=%d alrm blocked again=%d\n", (int)ticks, blocked(SIGALRM));
	FD_SET(data[0], &readable);
	ticks = 0;
	report("pselect opening SIGALRM", pselect(data[0] + 1, &readable, 0, 0, 0, &none));
	printf("ticks=%d alrm blocked again=%d\n", (int)ticks, blocked(SIGALRM));
	stop_ticks();
	write(data[1], "y", 1);
	raise(SIGALRM);
	ticks = 0;
	report("ppoll with data, SIGALRM pending, mask keeps it blocked", ppoll(&pfd, 1, 0, &alrm));
	printf("ticks=%d\n", (int)ticks);
	read(data[0], &c, 1);
	signal(SIGALRM, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &alrm, 0);

	/* a reader in another process */
	interrupted_reader();
	return 0;
}
