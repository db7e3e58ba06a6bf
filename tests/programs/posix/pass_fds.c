/* Each argument names a descriptor the program was given: its access mode, then a line
 * written to it (if writable) or what reading it gives (if readable); "!N" names one
 * the caller holds but did not pass. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '!') {
			int fl = fcntl(atoi(argv[i] + 1), F_GETFL);
			printf("fd %s (not passed): %s\n", argv[i] + 1, fl < 0 ? strerror(errno) : "open");
			continue;
		}
		int fd = atoi(argv[i]);
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0) {
			printf("fd %d: %s\n", fd, strerror(errno));
			continue;
		}
		int mode = fl & O_ACCMODE;
		printf("fd %d: %s\n", fd, mode == O_RDONLY ? "read" : mode == O_WRONLY ? "write" : "read-write");
		if (mode != O_RDONLY) {
			char line[64];
			int n = snprintf(line, sizeof line, "written to fd %d\n", fd);
			if (write(fd, line, n) != n)
				printf("fd %d: write: %s\n", fd, strerror(errno));
		}
		if (mode != O_WRONLY) {
			char buf[64] = {0};
			ssize_t n = read(fd, buf, sizeof buf - 1);
			printf("fd %d: read %zd: %s", fd, n, n > 0 ? buf : "\n");
		}
	}
	return 0;
}
