/* F forks A; A forks B and exits; B must then see F as its parent, and F reaps both. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t f = getpid();
	pid_t a = fork();
	if (a == 0) {
		pid_t b = fork();
		if (b == 0) {
			usleep(100000);
			dprintf(1, "B pid=%d ppid=%d\n", getpid(), getppid());
			_exit(0);
		}
		dprintf(1, "A pid=%d child=%d\n", getpid(), b);
		_exit(0);
	}
	pid_t w1 = wait(NULL);
	pid_t w2 = wait(NULL);
	errno = 0;
	pid_t w3 = wait(NULL);
	dprintf(1, "F pid=%d a=%d reaped=%d,%d then=%d %d\n", f, a, w1, w2, w3, errno);
	return 0;
}
