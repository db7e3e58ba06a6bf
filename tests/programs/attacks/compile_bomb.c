/* Writes argv[1] (default 2) programs into its root, each a module of nearly a million
 * empty functions (4 MB; the function counts differ, so no cache holds one), and execs
 * them from as many children at once: compiling one took 5.3 GiB of the host's memory
 * and 18 s of CPU in the Lind process. Each child prints "execN RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "big_module.h"

int main(int argc, char **argv)
{
	int programs = argc > 1 ? atoi(argv[1]) : 2;
	unsigned char *module = malloc(5 << 20);
	for (int i = 0; i < programs; i++) {
		char path[32];
		snprintf(path, sizeof path, "/bomb%d.wasm", i);
		size_t size = bomb(module, 1000000 - i);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
		if (fd < 0 || write(fd, module, size) != (ssize_t)size || close(fd) != 0) {
			printf("write %s failed: errno %d\n", path, errno);
			return 1;
		}
	}
	for (int i = 0; i < programs; i++) {
		if (fork() == 0) {
			char path[32];
			snprintf(path, sizeof path, "/bomb%d.wasm", i);
			char *args[] = {path, NULL};
			int r = execv(path, args);
			printf("exec%d %d %d\n", i, r, errno);
			fflush(stdout);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	printf("done\n");
	return 0;
}
