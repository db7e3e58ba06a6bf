/* kill() fills si_uid with the sender's real uid, not its effective one: run as root,
 * with the effective uid changed first. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t uid = -1;

static void record(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	uid = (sig_atomic_t)info->si_uid;
}

int main(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = record;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	printf("seteuid: %d\n", seteuid(1234));
	kill(getpid(), SIGUSR1);
	printf("si_uid is the real uid %d, the effective %d\n", uid == (int)getuid(),
	       uid == (int)geteuid());
	return 0;
}
