/* Several processes call geteuid at once, many times: every call must get the
 * grate's answer, with no call lost or mixed up between cages. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 4, calls = argc > 2 ? atoi(argv[2]) : 500;
	for (int p = 0; p < procs; p++) {
		if (fork() == 0) {
			int wrong = 0;
			for (int i = 0; i < calls; i++)
				if (geteuid() != 10)
					wrong++;
			_exit(wrong ? 1 : 0);
		}
	}
	int failed = 0, status;
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	printf("%d processes x %d calls, %d failed\n", procs, calls, failed);
	return failed;
}
