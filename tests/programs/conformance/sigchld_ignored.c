/* A parent whose SIGCHLD is SIG_IGN, or has SA_NOCLDWAIT, leaves no zombies: its
 * children are reaped as they end (a fork-per-connection server forks for ever), and
 * wait blocks until none is left, then fails with ECHILD. A cage kept every one and
 * refused the 1,024th fork. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int forks(int n)
{
	int made = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		made += pid > 0;
		if (pid < 0)
			printf("fork %d: errno %d\n", i, errno);
	}
	return made;
}

static void waited(const char *how)
{
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50 * 1000);
		_exit(3);
	}
	int status = 0;
	pid_t got = waitpid(-1, &status, 0);
	printf("%s: wait %s errno %d\n", how, got == -1 ? "-1" : "a child", got == -1 ? errno : 0);
	printf("%s: WNOHANG now %d errno %d\n", how, (int)waitpid(-1, &status, WNOHANG), errno);
}

static void handler(int sig)
{
	(void)sig;
}

int main(void)
{
	signal(SIGCHLD, SIG_IGN);
	printf("SIG_IGN: forked %d of 1500\n", forks(1500));
	waited("SIG_IGN");

	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_NOCLDWAIT | SA_RESTART};
	sigaction(SIGCHLD, &sa, NULL);
	printf("SA_NOCLDWAIT: forked %d of 1100\n", forks(1100));
	waited("SA_NOCLDWAIT");

	signal(SIGCHLD, SIG_DFL);         /* a zombie again: waited for */
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int status = 0;
	int waited_for = waitpid(pid, &status, 0) == pid;
	printf("SIG_DFL: waited %d, status %d\n", waited_for, WEXITSTATUS(status));
	return 0;
}
