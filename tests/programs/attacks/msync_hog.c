/* Maps /big (argv[1] MiB, default 16) MAP_SHARED and, for argv[2] seconds (default 5),
 * dirties every page and msyncs it (MS_SYNC, or MS_ASYNC if argv[3] is 0): each msync
 * writes the changed pages back to the file. Prints "rounds N worst msync MS ms". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? atoi(argv[1]) : 16;
	long secs = argc > 2 ? atol(argv[2]) : 5;
	int sync = argc > 3 ? atoi(argv[3]) : 1;
	size_t size = mib << 20;
	int fd = open("/big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, size) != 0) { printf("setup %d\n", errno); return 1; }
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) { printf("mmap %d\n", errno); return 1; }
	long end = now_ms() + secs * 1000, worst = 0;
	int rounds = 0;
	while (now_ms() < end) {
		memset(p, rounds & 0xff ? rounds & 0xff : 1, size);
		long t = now_ms();
		if (msync(p, size, sync ? MS_SYNC : MS_ASYNC) != 0) { printf("msync %d\n", errno); return 1; }
		t = now_ms() - t;
		if (t > worst) worst = t;
		rounds++;
	}
	printf("rounds %d worst msync %ld ms\n", rounds, worst);
	return 0;
}
