/* Keeps the compile slots busy: argv[1] children (default 4), each exec'ing, for argv[2]
 * seconds (default 10), fresh modules of nearly a million empty functions (no cache
 * holds one; compiling one takes ~10 s before it passes its memory limit). Each child
 * prints "childN execs COUNT errno LAST". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "big_module.h"

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : 4;
	long end = now_ms() + 1000L * (argc > 2 ? atol(argv[2]) : 10);
	unsigned long functions = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
	for (int c = 0; c < children; c++) {
		if (fork() == 0) {
			unsigned char *module = malloc(5 << 20);
			int execs = 0, last = 0;
			for (int n = 0; now_ms() < end; n++) {
				char path[32];
				snprintf(path, sizeof path, "/b%d.wasm", c);
				size_t size = bomb(module, functions - c * 1000 - n);
				int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
				if (fd < 0 || write(fd, module, size) != (ssize_t)size || close(fd))
					_exit(1);
				char *args[] = {path, NULL};
				execv(path, args);
				execs++;
				last = errno;
			}
			printf("child%d execs %d errno %d\n", c, execs, last);
			fflush(stdout);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	printf("done\n");
	return 0;
}
