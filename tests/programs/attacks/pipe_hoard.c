/* Makes argv[1] pipes (default 200), grows each to 1 MiB with F_SETPIPE_SZ and fills
 * it: a pipe's buffer is the host kernel's memory, outside every budget. Prints
 * "enlarged N errno E" (E: the first refusal's, 0 if none) and "filled M MiB". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int pipes = argc > 1 ? atoi(argv[1]) : 200;
	static char chunk[65536];
	int enlarged = 0, refusal = 0;
	long filled = 0;
	memset(chunk, 'p', sizeof chunk);
	for (int i = 0; i < pipes; i++) {
		int p[2];
		if (pipe2(p, O_NONBLOCK) != 0) {
			refusal = refusal ? refusal : errno;
			break;
		}
		if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) {
			refusal = refusal ? refusal : errno;
			continue;
		}
		enlarged++;
		ssize_t n;
		while ((n = write(p[1], chunk, sizeof chunk)) > 0)
			filled += n;
	}
	printf("enlarged %d errno %d\n", enlarged, refusal);
	printf("filled %ld MiB\n", filled >> 20);
	return 0;
}
