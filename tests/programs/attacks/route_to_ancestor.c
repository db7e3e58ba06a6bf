/* Routes one of its own calls that no grate between it and an ancestor grate watches
 * (getpid: argv[1] says which number, default 39) into that ancestor's handler for
 * another call (openat), to have the ancestor make the openat for it through the
 * ancestor's own table: past every grate in between (a readonly grate on this cage).
 * Then writes through what it got. argv: NUMBER PATH [GRATE_ID [HANDLER_VALUE]].
 * Prints "NAME RESULT ERRNO" lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int via = argc > 1 ? atoi(argv[1]) : 39;
	const char *path = argc > 2 ? argv[2] : "/ro/canary.txt";
	/* which ancestor (default: the parent), and its handler value (default 257:
	 * strace's for openat) */
	uint64_t grate = argc > 3 ? strtoull(argv[3], NULL, 0) : (uint64_t)getppid();
	uint64_t handle = argc > 4 ? strtoull(argv[4], NULL, 0) : 257;
	errno = 0;
	int r = register_handler(getpid(), via, grate, handle);
	printf("route %d %d\n", r, r < 0 ? errno : 0);
	if (r == 0) {       /* (else `via` is still the call it was) */
		long fd = syscall(via, AT_FDCWD, path, O_WRONLY | O_TRUNC, 0);
		printf("routed_open %d %d\n", fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
		if (fd >= 0)
			printf("routed_write %d 0\n", (int)write((int)fd, "PWNED", 5));
	}
	int fd = open(path, O_WRONLY | O_TRUNC);
	printf("open_write %d %d\n", fd < 0 ? -1 : 0, fd < 0 ? errno : 0);
	return 0;
}
