/* No job control in a cage: the signals whose default action stops a process (SIGSTOP,
 * SIGTSTP, SIGTTIN, SIGTTOU) are ignored by default, and the program goes on; a handler
 * for one of them still runs. */
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t caught;

static void note(int sig)
{
	caught = sig;
}

int main(void)
{
	int stops[] = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU};
	for (int i = 0; i < 4; i++) {
		raise(stops[i]);
		printf("went on after %d\n", stops[i]);
	}
	signal(SIGTSTP, note);
	raise(SIGTSTP);
	printf("handler saw %d\n", caught);
	return 0;
}
