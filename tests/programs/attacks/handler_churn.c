/* Host memory for 3i handlers: "replace N" registers N different function values for
 * one call of its own table, each replacing the one before; "fork N" starts N
 * children that each register a handler on themselves and exit. Every handler was
 * kept by the host for good (~110 bytes each, ~8 KiB for each grate cage with one):
 * a cage could take the host's memory at 100,000 registrations a second. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int pass_fptr_to_wt(uint64_t fn, uint64_t cage, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long n = atol(argv[2]);
	if (strcmp(argv[1], "replace") == 0) {
		int me = getpid();
		for (long i = 1; i <= n; i++)
			if (register_handler(me, 600, me, (uint64_t)i) != 0)
				return 1;
	} else {
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0)
				_exit(register_handler(getpid(), 600, getpid(), 1) != 0);
			int status;
			if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
				return 1;
		}
	}
	printf("done\n");
	return 0;
}
