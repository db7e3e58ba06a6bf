/* A child blocked in read() on an empty pipe is killed by its parent with SIGKILL;
 * the parent says which child it was and how it ended. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	if (pipe(p) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char byte;
		close(p[1]);
		read(p[0], &byte, 1);
		_exit(3);
	}
	close(p[0]);
	usleep(200000);
	kill(child, SIGKILL);
	int status;
	waitpid(child, &status, 0);
	printf("child %d: signaled %d, signal %d\n", (int)child, WIFSIGNALED(status),
	       WTERMSIG(status));
	return 0;
}
