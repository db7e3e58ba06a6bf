/* A well-behaved tenant: fills 16 MiB with a pattern and re-checks it for argv[1]
 * milliseconds (default 2000), forking short-lived children that allocate, so the
 * host allocator churns. Prints "intact" or "CORRUPTED at OFFSET". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORDS ((16u << 20) / sizeof(uint64_t))

static uint64_t pattern(size_t i) { return (i * 0x9E3779B97F4A7C15ull) ^ 0x5A5A5A5A5A5A5A5Aull; }

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	long duration = argc > 1 ? atol(argv[1]) : 2000;
	uint64_t *words = malloc(WORDS * sizeof *words);
	if (!words) {
		printf("no memory\n");
		return 1;
	}
	for (size_t i = 0; i < WORDS; i++)
		words[i] = pattern(i);
	long end = now_ms() + duration;
	int round = 0;
	do {
		pid_t pid = fork();
		if (pid == 0) {
			size_t size = (size_t)(1 + round % 4) << 20;
			char *block = malloc(size);
			if (block)
				memset(block, round, size);
			usleep(5000);
			_exit(0);
		}
		for (size_t i = 0; i < WORDS; i++) {
			if (words[i] != pattern(i)) {
				printf("CORRUPTED at %zu\n", i * sizeof *words);
				return 1;
			}
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		round++;
	} while (now_ms() < end);
	printf("intact after %d rounds\n", round);
	return 0;
}
