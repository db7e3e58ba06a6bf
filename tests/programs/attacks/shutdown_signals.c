/* Installs SIGCHLD and SIGUSR1 handlers, forks 3 children that keep signalling the
 * parent and each other (every 1-3 ms for a few hundred ms), and exits with status 7
 * after 25 ms, while they still run and signals are in flight. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig) { got++; }

int main(void)
{
	pid_t kids[3] = {0, 0, 0};
	pid_t parent = getpid();
	signal(SIGCHLD, on_signal);
	signal(SIGUSR1, on_signal);
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			for (int round = 0; round < 100; round++) {
				usleep(1000 * (i + 1));
				kill(parent, SIGUSR1);
				for (int j = 0; j < i; j++)
					kill(kids[j], SIGUSR1);
			}
			_exit(i);
		}
	}
	usleep(25000);
	exit(7);
}
