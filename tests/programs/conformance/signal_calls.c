/* Signal calls at their argument edges, and what masks, pending sets and dispositions
 * read back: each result as Linux gives it (ok, a value, or the errno number). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on(int sig) { got = sig; }

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: errno %d\n", what, errno);
	else
		printf("%s: %ld\n", what, r);
}

static long member(const sigset_t *set, int sig) { return sigismember(set, sig); }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa = {0}, old;
	sa.sa_handler = on;
	show("catch SIGKILL", sigaction(SIGKILL, &sa, 0));
	show("catch SIGSTOP", sigaction(SIGSTOP, &sa, 0));
	show("signal 0", sigaction(0, &sa, 0));
	show("signal 65", sigaction(65, &sa, 0));
	show("query SIGKILL", sigaction(SIGKILL, 0, &old));
	show("SIGKILL is default", old.sa_handler == SIG_DFL);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sa.sa_flags = SA_RESTART;
	show("catch SIGUSR1", sigaction(SIGUSR1, &sa, 0));
	show("read it back", sigaction(SIGUSR1, 0, &old));
	show("handler kept", old.sa_handler == on);
	show("mask kept", member(&old.sa_mask, SIGUSR2));
	show("flags kept", (old.sa_flags & SA_RESTART) != 0);
	show("bad sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, 0, 0, 4));

	sigset_t set, was;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGKILL);
	show("block", sigprocmask(SIG_BLOCK, &set, &was));
	show("SIGUSR1 was unblocked", member(&was, SIGUSR1));
	sigprocmask(SIG_BLOCK, 0, &was);
	show("SIGUSR1 blocked now", member(&was, SIGUSR1));
	show("SIGKILL never blocked", member(&was, SIGKILL));
	show("bad how", sigprocmask(99, &set, 0));
	show("raise while blocked", raise(SIGUSR1));
	show("handler not run yet", got);
	sigpending(&was);
	show("pending", member(&was, SIGUSR1));
	show("unblock", sigprocmask(SIG_UNBLOCK, &set, 0));
	show("handler ran", got);
	sigpending(&was);
	show("pending after", member(&was, SIGUSR1));

	signal(SIGUSR2, SIG_IGN);
	show("ignored signal", raise(SIGUSR2));
	sigprocmask(SIG_BLOCK, &set, 0);
	signal(SIGUSR1, SIG_IGN);
	raise(SIGUSR1);
	sigpending(&was);
	show("ignored and blocked stays pending", member(&was, SIGUSR1));
	signal(SIGUSR1, on);
	got = 0;
	sigprocmask(SIG_UNBLOCK, &set, 0);
	show("then delivered to the new handler", got);

	show("kill bad signal", kill(getpid(), 99));
	show("kill no such pid", kill(99999, 0));
	show("kill self 0", kill(getpid(), 0));
	show("alarm first", alarm(100));
	show("alarm again", alarm(0) > 90);
	struct itimerval it = {{0, 0}, {50, 0}}, got_it;
	show("setitimer", setitimer(ITIMER_REAL, &it, 0));
	show("getitimer", (getitimer(ITIMER_REAL, &got_it), got_it.it_value.tv_sec > 40));
	it.it_value.tv_sec = 0;
	show("disarm", setitimer(ITIMER_REAL, &it, &got_it));
	show("old value", got_it.it_value.tv_sec > 40);
	show("bad timer", setitimer(7, &it, 0));
	it.it_value.tv_usec = 2000000;
	show("bad usec", setitimer(ITIMER_REAL, &it, 0));
	sa.sa_handler = on;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, 0);
	raise(SIGUSR1);
	sigaction(SIGUSR1, 0, &old);
	show("resethand reset it", old.sa_handler == SIG_DFL);
	return 0;
}
