/* A steady tenant: rewrites /count with a counter every 10 ms for argv[1] ms (default
 * 2000), then checks the file holds its last value and prints "count N maxgap MS"
 * (MS: the longest time between two writes), or what failed. With argv[2] "shared",
 * each round also maps a MAP_SHARED page, forks a child that adds one to it, waits for
 * it, checks the page and unmaps it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
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
	long duration = argc > 1 ? atol(argv[1]) : 2000;
	int shared = argc > 2 && !strcmp(argv[2], "shared");
	long end = now_ms() + duration, last = now_ms(), gap = 0;
	int n = 0;
	char text[32], back[32];
	while (now_ms() < end) {
		int len = snprintf(text, sizeof text, "%d\n", ++n);
		int fd = open("/count", O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write(fd, text, len) != len || close(fd) != 0) {
			printf("write %d failed: errno %d\n", n, errno);
			return 1;
		}
		if (shared) {
			int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (word == MAP_FAILED) {
				printf("mmap %d failed: errno %d\n", n, errno);
				return 1;
			}
			*word = n;
			pid_t child = fork();
			if (child == 0) {
				*word += 1;
				_exit(0);
			}
			if (child < 0 || waitpid(child, NULL, 0) != child || *word != n + 1) {
				printf("fork %d failed: errno %d\n", n, errno);
				return 1;
			}
			munmap(word, 4096);
		}
		usleep(10000);
		long t = now_ms();
		if (t - last > gap)
			gap = t - last;
		last = t;
	}
	int fd = open("/count", O_RDONLY);
	ssize_t got = fd < 0 ? -1 : read(fd, back, sizeof back - 1);
	if (got < 0 || (back[got] = 0, strcmp(back, text) != 0)) {
		printf("read back failed: errno %d\n", errno);
		return 1;
	}
	printf("count %d maxgap %ld\n", n, gap);
	return 0;
}
