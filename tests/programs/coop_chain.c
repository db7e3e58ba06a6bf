/* A chain of cages each waiting for the next: fork, then wait, N deep. Each prints
 * how deep it is; the last says whether its fork failed and why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int want = argc > 1 ? atoi(argv[1]) : 10;
	for (int depth = 1; depth <= want; depth++) {
		pid_t pid = fork();
		if (pid < 0) {
			printf("fork at depth %d: %s\n", depth, strerror(errno));
			return 1;
		}
		if (pid > 0) {
			int st;
			if (waitpid(pid, &st, 0) < 0) {
				printf("wait at depth %d: %s\n", depth, strerror(errno));
				return 2;
			}
			return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
		}
	}
	printf("reached depth %d\n", want);
	return 0;
}
