/* Orphans go to init.  This program (the first cage of its tree, or a native
 * child subreaper) forks A; A forks C, which exits at once, and B, which
 * outlives A; A exits while C is an unreaped zombie.  Both are reparented to
 * this program: it gets SIGCHLD and wait(-1) collects A, B and C. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifndef __wasm__
#include <sys/prctl.h>
#endif

static volatile sig_atomic_t chld;

static void on_chld(int sig)
{
	(void)sig;
	chld++;
}

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int main(void)
{
#ifndef __wasm__
	prctl(PR_SET_CHILD_SUBREAPER, 1);   /* Linux's way to be init for one's orphans */
#endif
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, 0);
	pid_t init = getpid();
	pid_t a = fork();
	if (a == 0) {
		if (fork() == 0)
			_exit(5);                       /* C */
		if (fork() == 0) {                      /* B */
			nap(150);
			printf("B: parent is init: %d\n", getppid() == init);
			fflush(stdout);
			_exit(7);
		}
		nap(50);
		_exit(3);
	}
	int codes[8], n = 0, status;
	pid_t pid;
	while ((pid = wait(&status)) > 0 && n < 8) {
		codes[n++] = WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
	}
	printf("wait ended with ECHILD %d after %d children:", errno == ECHILD, n);
	for (int i = 0; i < n; i++)
		printf(" %d", codes[i]);
	printf("\nSIGCHLD seen: %d\n", chld > 0);
	return 0;
}
