/* The memfds behind MAP_SHARED keep what was put in them after the mappings go: run
 * under --memory 64M,
 *   shared_leftovers file N    keep one page of a one-byte file mapped and map and
 *                              unmap 16 MiB of it at ever new offsets, N times
 *   shared_leftovers anon N    map 16 MiB of shared anonymous memory, touch it all and
 *                              unmap all but its first page, N times
 * Each round left its pages in the memfd, which no budget counted; prints how many
 * rounds were made before a call said no ("rounds R errno E"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN (16u << 20)

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int file = !strcmp(argv[1], "file"), n = atoi(argv[2]), fd = -1, i, err = 0;
	if (file) {
		fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, "x", 1) != 1 ||
		    mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
			return 1;
	}
	for (i = 0; i < n; i++) {
		char *p = file ? mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(i + 1) * LEN)
		               : mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		if (file) {
			munmap(p, LEN);
		} else {
			for (unsigned at = 0; at < LEN; at += 4096)
				p[at] = 1;
			munmap(p + 4096, LEN - 4096);
		}
	}
	printf("rounds %d errno %d\n", i, err);
	return 0;
}
