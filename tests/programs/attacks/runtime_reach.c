/* Asks 3i for cages of another Runtime in the same Lind process: each Runtime numbers
 * its cages from 1, so argv[1..] are ids that exist there (a tree 1 -> 2 -> 3) and
 * not here (this cage is alone in its Runtime). make_threei_call acting for them
 * must be ESRCH, never that tenant's answer.
 * Prints "WHAT RESULT ERRNO" per call. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static void ask(const char *what, uint64_t target, int nr)
{
	uint64_t me = getpid();
	long r = make_threei_call(nr, 0, me, target, 0, target, 0, target, 0, target,
	                          0, target, 0, target, 0, target, 1);
	printf("%s_%llu %ld %d\n", what, (unsigned long long)target, r < 0 ? -1L : r,
	       r < 0 ? errno : 0);
	errno = 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		uint64_t target = strtoull(argv[i], NULL, 10);
		ask("getuid", target, SYS_getuid);
		ask("getppid", target, SYS_getppid);
	}
	printf("done\n");
	return 0;
}
