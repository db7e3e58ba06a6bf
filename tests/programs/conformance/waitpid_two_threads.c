/* Two threads of a process blocked in waitpid for a child that never ends: the first
 * is interrupted (SIGALRM), then the second (SIGUSR2 sent to it alone), each with
 * EINTR. In a cage the second slept on through its signal once the first had left:
 * the cage's record of the conditions its calls wait on kept one entry for both, and
 * the first's return removed it (neither a signal nor a kill woke the second again). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void caught(int sig)
{
	(void)sig;
}

static void report(const char *who, int r)
{
	printf("%s waitpid %d %s\n", who, r, r < 0 ? strerror(errno) : "");
	fflush(stdout);
}

static void *second(void *unused)
{
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
	report("second", waitpid(-1, NULL, 0));
	return unused;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = caught};    /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t both, usr2;
	sigemptyset(&both);
	sigaddset(&both, SIGALRM);
	sigaddset(&both, SIGUSR2);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &both, NULL);    /* the second takes SIGUSR2 alone */
	pid_t child = fork();
	if (child == 0)
		for (;;)
			pause();
	pthread_t thread;
	if (child < 0 || pthread_create(&thread, NULL, second, NULL))
		return 1;
	sleep(1);                                   /* the second is waiting */
	pthread_sigmask(SIG_UNBLOCK, &both, NULL);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	alarm(1);
	report("first", waitpid(-1, NULL, 0));
	pthread_kill(thread, SIGUSR2);
	pthread_join(thread, NULL);
	kill(child, SIGKILL);
	report("reaped", waitpid(child, NULL, 0) == child ? 0 : -1);
	return 0;
}
