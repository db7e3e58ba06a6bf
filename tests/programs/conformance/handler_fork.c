/* A handler that interrupted a loop making no system calls may fork, and setjmp and
 * longjmp inside itself, as on Linux. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t rounds;
static volatile pid_t child;
static sigjmp_buf inside;

static void fork_from_handler(int sig)
{
	(void)sig;
	child = fork();
	if (child == 0) {
		printf("child: forked in the handler\n");
		fflush(stdout);
		_exit(7);
	}
	rounds++;
}

static void jump_in_handler(int sig)
{
	(void)sig;
	volatile int hops = 0;
	if (sigsetjmp(inside, 1) < 3) {
		hops++;
		siglongjmp(inside, hops + 1);
	}
	rounds += hops;
}

static void busy_until(int goal)
{
	struct itimerval once = {{0, 0}, {0, 20000}};
	setitimer(ITIMER_REAL, &once, NULL);
	while (rounds < goal)
		;
}

int main(void)
{
	signal(SIGALRM, fork_from_handler);
	busy_until(1);
	int status;
	waitpid(child, &status, 0);
	printf("parent: child exited %d, rounds %d\n", WEXITSTATUS(status), (int)rounds);

	rounds = 0;
	signal(SIGALRM, jump_in_handler);
	busy_until(2);
	printf("setjmp and longjmp in the handler: %d hops\n", (int)rounds);
	return 0;
}
