/* kill(pid, 0) finds a child that has ended but is not yet waited for (a zombie): 0,
 * as supervisors check whether a pid is still taken; after wait, ESRCH. A cage said
 * ESRCH as soon as the child ended. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	siginfo_t info;
	waitid(P_PID, pid, &info, WEXITED | WNOWAIT);      /* it has ended; still unwaited */
	int r = kill(pid, 0);
	printf("zombie: %d errno %d\n", r, r ? errno : 0);
	r = kill(pid, SIGTERM);
	printf("zombie SIGTERM: %d errno %d\n", r, r ? errno : 0);
	waitpid(pid, NULL, 0);
	r = kill(pid, 0);
	printf("reaped: %d errno %d\n", r, r ? errno : 0);
	return 0;
}
