/* Forks argv[1] children (default 8); each makes argv[2] setjmps (default 300), each
 * into a jmp_buf of its own from argv[3] calls deep (default 1000): a program that
 * forks keeps its setjmp frames in the host, tens of KiB a point here. Each child
 * prints "child N kept M"; the parent prints "child N status S" for each. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf points[1024];

static int deep_setjmp(int depth, int i)
{
	volatile int here = depth;      /* a frame Asyncify has to keep */
	if (depth > 0)
		return deep_setjmp(depth - 1, i) + here - depth;
	return setjmp(points[i]);
}

int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : 8;
	int each = argc > 2 ? atoi(argv[2]) : 300;
	int depth = argc > 3 ? atoi(argv[3]) : 1000;
	pid_t pids[64];
	if (children > 64 || each > 1024)
		return 1;
	for (int n = 0; n < children; n++) {
		pids[n] = fork();
		if (pids[n] == 0) {
			for (int i = 0; i < each; i++)
				deep_setjmp(depth, i);
			printf("child %d kept %d\n", n, each);
			fflush(stdout);
			pause();        /* its points stay kept until the parent lets it go */
			_exit(0);
		}
	}
	sleep(2);
	for (int n = 0; n < children; n++) {
		int status;
		kill(pids[n], SIGTERM);
		waitpid(pids[n], &status, 0);
		printf("child %d status %d\n", n, status);
	}
	return 0;
}
