/* Seals a memfd against writes (F_SEAL_FUTURE_WRITE, argv[1] "future", or F_SEAL_WRITE)
 * while it is mapped shared and written, writes on, maps and fills 96 MiB of shared
 * memory, and exits. Lind took the seal; its own write-back of the mapping then failed
 * at exit (PermissionError: "internal error") half-way through the cage's shared
 * regions, leaving every later one unreleased: their memfds, host fds and budget
 * charges stayed for the life of the Lind process, each run adding ~96 MiB. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1 << 20)

int main(int argc, char **argv)
{
	int future = argc > 1 && strcmp(argv[1], "future") == 0;
	int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, 8192))
		return 1;
	char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 2;
	memset(p, 'a', 8192);
	int r = fcntl(fd, F_ADD_SEALS, future ? F_SEAL_FUTURE_WRITE : F_SEAL_WRITE);
	printf("seal %d errno %d\n", r, r ? errno : 0);
	memset(p, 'b', 8192);
	for (int i = 0; i < 3; i++) {
		char *big = mmap(0, 32 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (big == MAP_FAILED)
			return 3;
		memset(big, 'c', 32 * MiB);
	}
	return 0;
}
