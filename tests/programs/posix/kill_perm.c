/* Who may signal whom, run as root: children that gave up root (uid 1000) signal their
 * root parent (EPERM, but SIGCONT within the session), a sibling of their uid, their
 * group; one that kept root as its real uid may. Lind let any cage of a tree signal any
 * other, whatever their ids. Errnos by number. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void rep(const char *who, const char *what, long r)
{
	printf("%s %s: %ld %d\n", who, what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	errno = 0;
}

static void try_parent(const char *who)
{
	pid_t parent = getppid();
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_code = SI_QUEUE;
	rep(who, "kill 0", kill(parent, 0));
	rep(who, "kill SIGUSR1", kill(parent, SIGUSR1));
	rep(who, "kill SIGCONT", kill(parent, SIGCONT));
	rep(who, "tkill", syscall(SYS_tkill, (long)parent, SIGUSR1));
	rep(who, "tgkill", syscall(SYS_tgkill, (long)parent, (long)parent, SIGUSR1));
	rep(who, "sigqueue", syscall(SYS_rt_sigqueueinfo, (long)parent, SIGUSR1, &si));
	rep(who, "kill group 0", kill(0, 0));
}

static int run(int (*body)(void))
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		int code = body();
		fflush(stdout);
		_exit(code);
	}
	int st = 0;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static int sibling(void)
{
	rep("sibling", "kill brother 0", kill(getppid(), 0));
	return 0;
}

static int dropped(void)
{
	rep("dropped", "setresuid", setresuid(1000, 1000, 1000));
	try_parent("dropped");
	return run(sibling);
}

static int real_root(void)
{
	rep("real root", "setresuid", setresuid(0, 1000, 0));
	try_parent("real root");
	return 0;
}

static int saved_root(void)
{
	rep("saved root", "setresuid", setresuid(1000, 1000, 0));
	try_parent("saved root");
	return 0;
}

int main(void)
{
	signal(SIGUSR1, SIG_IGN);
	setpgid(0, 0);
	printf("dropped ended %d\n", run(dropped));
	printf("real root ended %d\n", run(real_root));
	printf("saved root ended %d\n", run(saved_root));
	return 0;
}
