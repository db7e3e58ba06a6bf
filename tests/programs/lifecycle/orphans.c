/* Forks children that sleep and signal their parent, with SIGCHLD and SIGUSR1
 * handlers installed; the parent exits while the children still run.  Run
 * as `orphans N MS`: N children, each sleeping MS milliseconds between
 * signals.  What is left when the parent exits must be ended by Lind. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld, usr1;

static void on_chld(int sig) { (void)sig; chld++; }
static void on_usr1(int sig) { (void)sig; usr1++; }

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, 0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	long ms = argc > 2 ? atol(argv[2]) : 20;
	signal(SIGCHLD, on_chld);
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			pid_t parent = getppid();
			for (int k = 0; k < 1000; k++) {
				nap(ms);
				kill(parent, SIGUSR1);
				if (i == 0 && k == 0)
					_exit(0);   /* one child ends early: a SIGCHLD */
			}
			_exit(0);
		}
	}
	nap(ms * 3);
	printf("parent exits with children running\n");
	fflush(stdout);
	return 0;
}
