/* Waits for signals sent to `lind run` itself: with an argument it handles SIGTERM,
 * SIGUSR1, SIGHUP and SIGWINCH (saying which, and ending after three), without one the
 * default actions apply. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void note(int sig)
{
	char line[16];
	int n = snprintf(line, sizeof line, "got %d\n", sig);
	write(1, line, n);
	count++;
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		signal(SIGTERM, note);
		signal(SIGUSR1, note);
		signal(SIGHUP, note);
		signal(SIGWINCH, note);
	}
	write(1, "ready\n", 6);
	while (count < 3)
		pause();
	return 0;
}
