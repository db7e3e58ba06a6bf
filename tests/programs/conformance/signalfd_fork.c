/* A signalfd reads and polls the signals of the process using it, as Linux's: a
 * forked child sharing its parent's signalfd, while the parent has a signal of its mask
 * pending, finds none (poll says not ready, a non-blocking read is EAGAIN, a blocking
 * one waits until an alarm ends the child); the parent then polls and reads its own. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	int quiet = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	kill(getpid(), SIGUSR1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct pollfd ready = {fd, POLLIN, 0};
		printf("child poll: %d\n", poll(&ready, 1, 0));
		struct signalfd_siginfo si;
		ssize_t n = read(quiet, &si, sizeof si);
		printf("child, non-blocking: %zd %s\n", n, n < 0 ? strerror(errno) : "");
		fflush(stdout);
		alarm(1);
		n = read(fd, &si, sizeof si);     /* waits: SIGALRM ends the child */
		printf("child read %zd\n", n);
		return 0;
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	struct pollfd ready = {fd, POLLIN, 0};
	printf("parent poll: %d\n", poll(&ready, 1, 0));
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof si);
	printf("parent read %zd, signal %u\n", n, n > 0 ? si.ssi_signo : 0);
	return 0;
}
