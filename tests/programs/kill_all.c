/* kill(-1) in a cage's process tree, which is like a PID namespace: it reaches every
 * cage of the tree but the caller and the tree's first cage (its init). MODE "init"
 * sends it from the first cage, "child" from one of two children. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t hit;

static void note(int sig)
{
	hit = sig;
}

static pid_t waiter(int report)
{
	int ready[2];
	pipe(ready);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		write(ready[1], "r", 1);
		while (!hit)
			pause();
		if (report) {
			kill(-1, SIGUSR1);        /* from a child: the other child only */
			sleep(1);
		}
		_exit(hit == SIGUSR1 ? 10 : 20);
	}
	char c;
	close(ready[1]);
	read(ready[0], &c, 1);
	close(ready[0]);
	return pid;
}

int main(int argc, char **argv)
{
	signal(SIGUSR1, note);
	signal(SIGUSR2, note);
	int from_child = argc > 1 && !strcmp(argv[1], "child");
	pid_t a = waiter(0);
	pid_t b = waiter(from_child);
	if (from_child)
		kill(b, SIGUSR2);                  /* b wakes and sends kill(-1, SIGUSR1) */
	else
		kill(-1, SIGUSR1);
	int sa, sb;
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	printf("a %d b %d init hit %d\n", WEXITSTATUS(sa), WEXITSTATUS(sb), (int)hit);
	return 0;
}
