/* What a program started with signals ignored and blocked sees (execve keeps both):
 * it prints them, then catches SIGINT, SIGQUIT and SIGHUP, says "ready", and prints
 * each as it comes, ending after the three. A cage once started with every signal at
 * its default and none blocked, and `lind run` started with SIGINT ignored (a shell's
 * background job) never passed SIGINT on, so the handler never ran. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void note(int sig)
{
	char line[16];
	int n = snprintf(line, sizeof line, "got %d\n", sig);
	write(1, line, n);
	count++;
}

int main(void)
{
	sigset_t blocked;
	sigprocmask(SIG_SETMASK, NULL, &blocked);
	for (int sig = 1; sig < 32; sig++) {
		struct sigaction now;
		sigaction(sig, NULL, &now);
		if (now.sa_handler == SIG_IGN || sigismember(&blocked, sig))
			printf("signal %d ignored %d blocked %d\n", sig, now.sa_handler == SIG_IGN,
			       sigismember(&blocked, sig));
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = note;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (count < 3)
		pause();
	return 0;
}
