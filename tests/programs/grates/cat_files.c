/* Prints each file named in argv, or why it could not be opened. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			printf("%s: errno %d\n", argv[i], errno);
			continue;
		}
		char buf[256];
		ssize_t n = read(fd, buf, sizeof buf);
		printf("%s: %.*s", argv[i], (int)(n > 0 ? n : 0), buf);
		close(fd);
	}
	return 0;
}
