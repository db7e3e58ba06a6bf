/* SIGCHLD's siginfo for a child that exited and one that was killed, each after it
 * changed its effective uid (si_uid is the child's real uid, as Linux fills it; the
 * fields a mutation run of sys_signals.py found unchecked), and of a raise() after the
 * effective uid changed. Run as root. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got, code, status, uid, pid_ok;
static volatile pid_t expected;

static void on_child(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	got = 1;
	code = info->si_code;
	status = info->si_status;
	uid = (sig_atomic_t)info->si_uid;
	pid_ok = info->si_pid == expected;
}

static volatile sig_atomic_t raised_code, raised_uid, raised_pid;

static void on_raise(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	raised_code = info->si_code;
	raised_uid = (sig_atomic_t)info->si_uid;
	raised_pid = info->si_pid;
}

static void report(const char *how)
{
	printf("%s: SIGCHLD %d, code %d, status %d, uid %d, pid matches %d\n", how, got, code,
	       status, uid, pid_ok);
	got = 0;
}

/* Blocks SIGCHLD until `expected` holds the child's pid: the child may end (and its
 * SIGCHLD arrive) before fork's return value is stored, on Linux as in a cage. */
static void set_expected(pid_t child, const sigset_t *unblocked)
{
	expected = child;
	sigprocmask(SIG_SETMASK, unblocked, NULL);
}

int main(void)
{
	sigset_t chld, unblocked;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_child;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	printf("running as uid %d\n", (int)getuid());

	sigprocmask(SIG_BLOCK, &chld, &unblocked);
	pid_t child = fork();
	if (child == 0) {
		setresuid(0, 1000, 0);
		_exit(3);
	}
	set_expected(child, &unblocked);
	int st;
	waitpid(child, &st, 0);
	while (!got)
		usleep(1000);
	report("exited");

	sigprocmask(SIG_BLOCK, &chld, NULL);
	child = fork();
	if (child == 0) {
		setresuid(0, 1000, 0);
		for (;;)
			pause();
	}
	set_expected(child, &unblocked);
	usleep(20000);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	while (!got)
		usleep(1000);
	report("killed");

	/* raise() after the effective uid changed: tkill's si_uid is the real uid too */
	sa.sa_sigaction = on_raise;
	sigaction(SIGUSR1, &sa, NULL);
	setresuid(0, 1000, 0);
	raise(SIGUSR1);
	printf("raised after setresuid: code %d (SI_TKILL %d), uid %d, pid matches %d\n",
	       raised_code, SI_TKILL, raised_uid, raised_pid == getpid());
	return 0;
}
