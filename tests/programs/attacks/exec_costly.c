/* Sets RLIMIT_CPU to 1 s (hard 2 s) and execs argv[1], a module that takes seconds of
 * CPU to compile; prints the exec's errno if it fails, then spins. The compile ran in
 * Lind's compiler process, outside the cage's CPU limit: the exec succeeded after
 * using more than the limit, and a cage exec'ing such modules used CPU without end. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rlimit cpu = {1, 2};
	if (argc < 2 || setrlimit(RLIMIT_CPU, &cpu) != 0)
		return 2;
	execv(argv[1], argv + 1);
	printf("exec errno %d\n", errno);
	fflush(stdout);
	for (volatile unsigned long n = 0;; n++)
		;
}
