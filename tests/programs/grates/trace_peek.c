/* Under the strace grate with -o: tries to reach the trace from inside, through fd 3
 * (the grate's descriptor, were it inherited) and by the paths given. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	int flags = fcntl(3, F_GETFD);
	printf("fd 3: %s\n", flags < 0 ? strerror(errno) : "open");
	if (write(3, "forged\n", 7) < 0)
		printf("write to fd 3: %s\n", strerror(errno));
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDWR);
		printf("%s: %s\n", argv[i], fd < 0 ? strerror(errno) : "opened");
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
