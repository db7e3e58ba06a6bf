/* SIGCHLD: its siginfo for a child that exited and one that was killed, a
 * handler that reaps children as they end; fork and exec: the child starts
 * with nothing pending and no alarm, exec resets caught signals but keeps
 * the mask, ignored ones, pending ones and the alarm.  Run as
 * `sig_children` (exec runs it again with an argument).  Output must match
 * a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reaped, exit_codes, got_info;
static volatile int info_code, info_status, info_pid;

static void reap(int sig)
{
	int saved = errno, status;
	(void)sig;
	while (waitpid(-1, &status, WNOHANG) > 0) {
		reaped++;
		exit_codes += WEXITSTATUS(status);
	}
	errno = saved;
}

static void record(int sig, siginfo_t *si, void *context)
{
	(void)sig;
	(void)context;
	info_code = si->si_code;
	info_status = si->si_status;
	info_pid = si->si_pid;
	got_info = 1;
}

static void usr1(int sig)
{
	(void)sig;
}

static void after_exec(void)
{
	struct sigaction sa;
	sigset_t mask, pending;
	sigaction(SIGUSR1, 0, &sa);
	printf("after exec: usr1 default=%d", sa.sa_handler == SIG_DFL);
	sigaction(SIGHUP, 0, &sa);
	printf(" hup ignored=%d", sa.sa_handler == SIG_IGN);
	sigprocmask(SIG_BLOCK, 0, &mask);
	sigpending(&pending);
	printf(" usr2 blocked=%d usr2 pending=%d", sigismember(&mask, SIGUSR2),
	       sigismember(&pending, SIGUSR2));
	unsigned left = alarm(0);
	printf(" alarm kept=%d\n", left > 0 && left <= 100);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc > 1) {
		after_exec();
		return 0;
	}
	sigset_t chld, none;
	sigemptyset(&none);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);

	/* siginfo of SIGCHLD */
	struct sigaction sa = { .sa_sigaction = record, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, 0);
	sigprocmask(SIG_BLOCK, &chld, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	while (!got_info)
		sigsuspend(&none);
	printf("exited: code is CLD_EXITED=%d status=%d pid matches=%d\n", info_code == CLD_EXITED,
	       info_status, info_pid == pid);
	waitpid(pid, 0, 0);
	got_info = 0;
	pid = fork();
	if (pid == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	while (!got_info)
		sigsuspend(&none);
	printf("killed: code is CLD_KILLED=%d status=%d pid matches=%d\n", info_code == CLD_KILLED,
	       info_status, info_pid == pid);
	waitpid(pid, 0, 0);

	/* a handler reaping five children */
	struct sigaction reaper = { .sa_handler = reap, .sa_flags = SA_RESTART };
	sigemptyset(&reaper.sa_mask);
	sigaction(SIGCHLD, &reaper, 0);
	for (int i = 0; i < 5; i++) {
		if (fork() == 0)
			_exit(i);
	}
	while (reaped < 5)
		sigsuspend(&none);
	printf("reaped=%d exit codes sum=%d\n", (int)reaped, (int)exit_codes);
	sigprocmask(SIG_UNBLOCK, &chld, 0);
	signal(SIGCHLD, SIG_DFL);

	/* fork: nothing pending in the child; exec: handlers reset, mask and ignores kept */
	sigset_t usr2, pending;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, 0);
	raise(SIGUSR2);
	signal(SIGUSR1, usr1);
	signal(SIGHUP, SIG_IGN);
	alarm(100);
	pid = fork();
	if (pid == 0) {
		sigpending(&pending);
		printf("forked child: usr2 pending=%d alarm inherited=%d\n",
		       sigismember(&pending, SIGUSR2), alarm(0) != 0);
		raise(SIGUSR2);
		alarm(100);
		execl(argv[0], argv[0], "after-exec", (char *)0);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	alarm(0);
	printf("exec'd child exited=%d status=%d\n", WIFEXITED(status), WEXITSTATUS(status));
	return 0;
}
