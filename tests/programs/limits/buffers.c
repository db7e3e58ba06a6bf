/* Big mappings that a program uses little of, or lets go:
 *   buffers arena N     N times: map 256 MiB, use 1 MiB of it, unmap it
 *   buffers release     map 128 MiB and write all of it ("touched"), then on a line
 *                       of stdin unmap it ("unmapped") and wait for stdin's end
 * Every new mapping must read as zeros, also where an earlier one was written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static char *fresh(size_t len)
{
	char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t at = 0; at < len; at += 4096)
		if (p[at] || p[at + 4095]) {
			printf("not zero at %zu\n", at);
			exit(1);
		}
	return p;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "arena")) {
		for (int i = atoi(argv[2]); i > 0; i--) {
			char *p = fresh(256u << 20);
			memset(p, i, 1u << 20);
			munmap(p, 256u << 20);
		}
		printf("arenas ok\n");
	} else if (argc > 1 && !strcmp(argv[1], "release")) {
		char *p = fresh(128u << 20);
		memset(p, 7, 128u << 20);
		printf("touched\n");
		fflush(stdout);
		char line[16];
		if (!fgets(line, sizeof line, stdin))
			return 1;
		munmap(p, 128u << 20);
		p = fresh(128u << 20);     /* the same range again: zeros */
		printf("unmapped\n");
		fflush(stdout);
		while (fgets(line, sizeof line, stdin))
			;
	} else {
		return 2;
	}
	return 0;
}
