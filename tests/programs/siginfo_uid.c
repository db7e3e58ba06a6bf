/* kill() and a child's end fill si_uid with the sender's real uid, not its effective
 * uid or a group id: run as root, with the group and effective uid changed first. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t uid = -1, child_uid = -1, pipe_uid = -1;

static void record(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	if (sig == SIGCHLD)
		child_uid = (sig_atomic_t)info->si_uid;
	else if (sig == SIGPIPE)
		pipe_uid = (sig_atomic_t)info->si_uid;
	else
		uid = (sig_atomic_t)info->si_uid;
}

int main(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = record;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	printf("setgid: %d\n", setgid(4321));
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	while (child_uid == -1)
		pause();
	printf("SIGCHLD si_uid is the real uid %d\n", child_uid == (int)getuid());
	printf("seteuid: %d\n", seteuid(1234));
	kill(getpid(), SIGUSR1);
	printf("si_uid is the real uid %d, the effective %d\n", uid == (int)getuid(),
	       uid == (int)geteuid());
	sigaction(SIGPIPE, &sa, NULL);
	int fds[2];
	pipe(fds);
	close(fds[0]);
	write(fds[1], "x", 1);
	printf("SIGPIPE si_uid is the real uid %d\n", pipe_uid == (int)getuid());
	return 0;
}
