/* Signal handlers: raise, kill to itself, signal(), sa_mask, SA_NODEFER,
 * SA_RESETHAND, SA_SIGINFO, blocking and sigpending, SIGPIPE to a handler,
 * and what cannot be caught or blocked.  Output must match a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static void say(const char *s)
{
	write(1, s, strlen(s));
}

static volatile sig_atomic_t count;

static void counter(int sig)
{
	(void)sig;
	count++;
}

static void install(int sig, void (*fn)(int), int flags, const sigset_t *mask)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	if (mask)
		sa.sa_mask = *mask;
	else
		sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, 0) != 0)
		perror("sigaction");
}

static int blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, 0, &now);
	return sigismember(&now, sig);
}

static void on_usr1_with_mask(int sig)
{
	(void)sig;
	say(blocked(SIGUSR1) ? "usr1 handler: usr1 blocked, " : "usr1 handler: usr1 open, ");
	say(blocked(SIGUSR2) ? "usr2 blocked\n" : "usr2 open\n");
	raise(SIGUSR2);
	say("usr1 handler: raised usr2, still here\n");
}

static void on_usr2(int sig)
{
	(void)sig;
	say("usr2 handler\n");
}

static volatile sig_atomic_t depth;

static void nested(int sig)
{
	char line[] = "enter 0\n";
	line[6] = (char)('0' + ++depth);
	say(line);
	if (depth < 3)
		raise(sig);
	memcpy(line, "leave", 5);
	say(line);
	depth--;
}

static volatile int info_signo, info_code, info_pid_is_me, info_mask_had_usr2, info_mask_had_sig;

static void with_info(int sig, siginfo_t *si, void *context)
{
	ucontext_t *uc = context;
	info_signo = si->si_signo;
	info_code = si->si_code;
	info_pid_is_me = si->si_pid == getpid();
	info_mask_had_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2);
	info_mask_had_sig = sigismember(&uc->uc_sigmask, sig);
}

static void show_info(const char *what)
{
	printf("%s: signo=%d code=%d pid_is_me=%d mask_had_usr2=%d mask_had_sig=%d\n", what,
	       info_signo, info_code, info_pid_is_me, info_mask_had_usr2, info_mask_had_sig);
	info_signo = info_code = info_pid_is_me = 0;
}

static void on_pipe(int sig)
{
	(void)sig;
	say("sigpipe handler\n");
}

static int child_status(void (*body)(void))
{
	int status = 0;
	pid_t pid = fork();
	if (pid == 0) {
		body();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

static void raise_usr1_twice(void)
{
	raise(SIGUSR1);
	raise(SIGUSR1);
}

static void kill_self_with_all_blocked(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, 0);
	kill(getpid(), SIGKILL);
	say("still alive after SIGKILL\n");
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);

	/* signal(), raise, kill to itself */
	signal(SIGUSR1, counter);
	raise(SIGUSR1);
	printf("raise: count=%d\n", (int)count);
	kill(getpid(), SIGUSR1);
	printf("kill to itself: count=%d\n", (int)count);

	/* sa_mask: SIGUSR2 is held back until the SIGUSR1 handler returns */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	install(SIGUSR1, on_usr1_with_mask, 0, &usr2);
	install(SIGUSR2, on_usr2, 0, 0);
	raise(SIGUSR1);
	printf("after sa_mask: usr1 blocked=%d usr2 blocked=%d\n", blocked(SIGUSR1), blocked(SIGUSR2));

	/* SA_NODEFER: the handler interrupts itself */
	install(SIGUSR1, nested, SA_NODEFER, 0);
	raise(SIGUSR1);

	/* SA_RESETHAND: runs once, then the default action is back */
	count = 0;
	install(SIGUSR1, counter, SA_RESETHAND, 0);
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, 0, &now);
	printf("SA_RESETHAND: count=%d default again=%d\n", (int)count, now.sa_handler == SIG_DFL);
	install(SIGUSR1, counter, SA_RESETHAND, 0);
	int status = child_status(raise_usr1_twice);
	printf("child raising twice: signaled=%d sig=%d\n", WIFSIGNALED(status), WTERMSIG(status));

	/* SA_SIGINFO: who sent it, and the mask the handler interrupted */
	struct sigaction sa = { .sa_sigaction = with_info, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, 0);
	raise(SIGUSR1);
	show_info("raise");
	sigprocmask(SIG_BLOCK, &usr2, 0);
	signal(SIGUSR2, SIG_IGN);
	kill(getpid(), SIGUSR1);
	show_info("kill with usr2 blocked");
	signal(SIGUSR2, SIG_DFL);
	sigprocmask(SIG_UNBLOCK, &usr2, 0);

	/* sigprocmask, sigpending: a blocked signal waits, and is not queued twice */
	count = 0;
	install(SIGUSR1, counter, 0, 0);
	sigset_t usr1, pending;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, 0);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	sigpending(&pending);
	printf("blocked: count=%d pending usr1=%d usr2=%d\n", (int)count,
	       sigismember(&pending, SIGUSR1), sigismember(&pending, SIGUSR2));
	sigprocmask(SIG_UNBLOCK, &usr1, 0);
	sigpending(&pending);
	printf("unblocked: count=%d pending usr1=%d\n", (int)count, sigismember(&pending, SIGUSR1));

	/* an ignored signal is dropped, a pending one that becomes ignored too */
	signal(SIGUSR2, SIG_IGN);
	raise(SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr1, 0);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_IGN);
	sigpending(&pending);
	printf("ignored: pending usr1=%d\n", sigismember(&pending, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &usr1, 0);
	signal(SIGUSR2, SIG_DFL);

	/* SIGPIPE to a handler, then EPIPE */
	int fds[2];
	install(SIGPIPE, on_pipe, 0, 0);
	pipe(fds);
	close(fds[0]);
	ssize_t n = write(fds[1], "x", 1);
	printf("write to a closed pipe: %zd %s\n", n, strerror(errno));
	close(fds[1]);

	/* SIGKILL and SIGSTOP cannot be caught, ignored or blocked */
	int r = sigaction(SIGKILL, &sa, 0);
	printf("catch SIGKILL: %d %s\n", r, strerror(errno));
	r = signal(SIGSTOP, SIG_IGN) == SIG_ERR;
	printf("ignore SIGSTOP: %d %s\n", r, strerror(errno));
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, 0);
	printf("block all: SIGKILL blocked=%d SIGSTOP blocked=%d SIGTERM blocked=%d\n",
	       blocked(SIGKILL), blocked(SIGSTOP), blocked(SIGTERM));
	sigprocmask(SIG_UNBLOCK, &all, 0);
	status = child_status(kill_self_with_all_blocked);
	printf("child sending itself SIGKILL: signaled=%d sig=%d\n", WIFSIGNALED(status), WTERMSIG(status));
	return 0;
}
