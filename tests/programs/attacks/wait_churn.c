/* wait_churn wait     a parent blocked in waitpid for a child that sleeps (prints
 *                     "waiting" first)
 * wait_churn churn N  N children made and reaped one after another */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "wait")) {
		pid_t child = fork();
		if (child == 0) {
			pause();
			_exit(0);
		}
		printf("waiting\n");
		fflush(stdout);
		waitpid(child, NULL, 0);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "churn")) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			pid_t child = fork();
			if (child == 0)
				_exit(0);
			waitpid(child, NULL, 0);
		}
		printf("churned %d\n", n);
		return 0;
	}
	return 2;
}
