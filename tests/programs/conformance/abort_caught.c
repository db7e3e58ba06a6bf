/* abort() runs the SIGABRT handler the program installed even where SIGABRT is blocked:
 * inside that handler (a handler that installs another and aborts again, as libsodium's
 * misuse test chains them) and under sigprocmask. A handler that returns, or an ignored
 * SIGABRT, still ends the process by SIGABRT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *s)
{
	fputs(s, stdout);
	fflush(stdout);
}

static void last(int sig)
{
	(void)sig;
	say("second handler ran\n");
	_exit(3);
}

static void first(int sig)
{
	(void)sig;
	say("first handler ran\n");
	signal(SIGABRT, last);
	abort();             /* SIGABRT is blocked here, in its own handler */
}

static void returns(int sig)
{
	(void)sig;
	say("returning handler ran\n");
}

static void report(const char *what, void (*child)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		child();
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("%s: killed by signal %d\n", what, WTERMSIG(status));
	else
		printf("%s: exit %d\n", what, WEXITSTATUS(status));
	fflush(stdout);
}

static void nested(void)
{
	signal(SIGABRT, first);
	abort();
}

static void masked(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGABRT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGABRT, last);
	abort();
}

static void returning(void)
{
	signal(SIGABRT, returns);
	abort();
}

static void ignored(void)
{
	signal(SIGABRT, SIG_IGN);
	abort();
}

int main(void)
{
	report("abort in its handler", nested);
	report("abort while blocked", masked);
	report("handler returns", returning);
	report("ignored", ignored);
	return 0;
}
