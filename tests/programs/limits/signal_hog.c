/* Realtime signals queued by the cages of one tree share one count (RLIMIT_SIGPENDING),
 * and a cage that ends gives its queued ones back: three children fill it while they
 * all live, then the parent fills it again once they have ended. Prints both totals.
 * It asks first for an unlimited RLIMIT_SIGPENDING (a root cage gets it on the
 * cooperative runtime): the count stays Lind's. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int fill(void)
{
	int n = 0;
	while (sigqueue(getpid(), SIGRTMIN + n % 8, (union sigval){.sival_int = n}) == 0)
		n++;
	if (errno != EAGAIN)
		printf("sigqueue: %s\n", strerror(errno));
	return n;
}

int main(void)
{
	sigset_t all;
	sigemptyset(&all);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(&all, sig);
	sigprocmask(SIG_BLOCK, &all, NULL);
	struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_SIGPENDING, &unlimited);
	int ready[2], go[2];
	if (pipe(ready) || pipe(go))
		return 1;
	for (int i = 0; i < 3; i++) {
		if (fork() == 0) {
			close(go[1]);
			int count = fill();
			char c;
			write(ready[1], &count, sizeof count);
			read(go[0], &c, 1);          /* until the parent has counted them all */
			_exit(0);
		}
	}
	close(go[0]);
	int children = 0;
	for (int i = 0; i < 3; i++) {
		int count;
		if (read(ready[0], &count, sizeof count) != sizeof count)
			return 1;
		children += count;
	}
	close(go[1]);
	while (wait(NULL) > 0)
		;
	printf("%d %d\n", children, fill());
	return 0;
}
