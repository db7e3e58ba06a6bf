/* Realtime signals are queued, one instance per send, each with its own siginfo, and
 * taken in order: the lowest signal first, each signal's instances first in, first out
 * (sigqueue's values, kill's code). A standard signal sent again while
 * pending is one. A handler runs once per instance. Past RLIMIT_SIGPENDING, sigqueue is
 * EAGAIN and kill still makes the signal pending (without its siginfo). (A POSIX
 * timer's beside a sigqueue'd one: posix_timers.c.) */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void take_all(sigset_t *set)
{
	struct timespec none = {0, 0};
	siginfo_t info;
	int sig;
	while ((sig = sigtimedwait(set, &info, &none)) > 0) {
		const char *code = info.si_code == SI_QUEUE ? "SI_QUEUE"
			: info.si_code == SI_USER ? "SI_USER"
			: "other";
		printf("  took %s%d %s value %d\n", sig >= SIGRTMIN ? "RTMIN+" : "signal ",
		       sig >= SIGRTMIN ? sig - SIGRTMIN : sig, code,
		       info.si_code == SI_QUEUE ? info.si_value.sival_int : -1);
	}
	printf("  then %s\n", errno == EAGAIN ? "EAGAIN" : strerror(errno));
}

static volatile int handled[8];
static volatile int values[64];
static volatile int nvalues;

static void on_rt(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	handled[sig - SIGRTMIN]++;
	if (nvalues < 64)
		values[nvalues++] = info->si_value.sival_int;
}

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < 8; i++)
		sigaddset(&set, SIGRTMIN + i);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	puts("queued while blocked:");
	for (int i = 1; i <= 4; i++)
		sigqueue(getpid(), SIGRTMIN + 2, (union sigval){.sival_int = i});
	sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 10});
	kill(getpid(), SIGRTMIN + 1);
	sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 11});
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1);
	sigset_t pending;
	sigpending(&pending);
	printf("  pending: RTMIN+1 %d, RTMIN+2 %d, USR1 %d\n", sigismember(&pending, SIGRTMIN + 1),
	       sigismember(&pending, SIGRTMIN + 2), sigismember(&pending, SIGUSR1));
	take_all(&set);

	puts("a handler runs once per instance:");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 3, &sa, NULL);
	for (int i = 0; i < 20; i++)
		sigqueue(getpid(), SIGRTMIN + 3, (union sigval){.sival_int = 100 + i});
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGRTMIN + 3);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	sigprocmask(SIG_BLOCK, &one, NULL);
	printf("  ran %d times, values in order: %s\n", handled[3], ({
		int ordered = nvalues == 20;
		for (int i = 0; i < nvalues; i++)
			ordered = ordered && values[i] == 100 + i;
		ordered ? "yes" : "no"; }));

	puts("a child inherits none of them:");
	sigqueue(getpid(), SIGRTMIN + 5, (union sigval){.sival_int = 1});
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		sigpending(&pending);
		printf("  child: RTMIN+5 pending %d\n", sigismember(&pending, SIGRTMIN + 5));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	take_all(&set);

	puts("RLIMIT_SIGPENDING:");
	struct rlimit lim;
	getrlimit(RLIMIT_SIGPENDING, &lim);
	printf("  soft limit above 0: %d\n", lim.rlim_cur > 0);
	lim.rlim_cur = 16;
	printf("  lowered: %d\n", setrlimit(RLIMIT_SIGPENDING, &lim));
	int sent = 0, err = 0;
	for (int i = 0; i < 200; i++) {
		if (sigqueue(getpid(), SIGRTMIN + 6, (union sigval){.sival_int = i}) != 0) {
			err = errno;
			break;
		}
		sent++;
	}
	printf("  sigqueue stopped before 200: %d, with %s\n", sent < 200,
	       err == EAGAIN ? "EAGAIN" : strerror(err));
	printf("  kill past it: %d\n", kill(getpid(), SIGRTMIN + 7));
	sigpending(&pending);
	printf("  RTMIN+7 pending: %d\n", sigismember(&pending, SIGRTMIN + 7));
	int taken = 0;
	struct timespec none = {0, 0};
	while (sigtimedwait(&set, NULL, &none) > 0)
		taken++;
	printf("  took them all: %d\n", taken == sent + 1);
	printf("  sigqueue again: %d\n", sigqueue(getpid(), SIGRTMIN + 6, (union sigval){.sival_int = 0}));
	take_all(&set);
	return 0;
}
