/* FIFOs and socket names made, used and removed, argv[1] of each: on the portable back
 * end each stands for a host FIFO or socket in the run's private root, which stayed
 * when the name went (as many host inodes as the cage made, the tree charging none of
 * them). Prints "done N", then waits for a line on stdin before it exits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, "/s");
	for (int i = 0; i < n; i++) {
		if (mkfifo("/p", 0600)) {
			printf("mkfifo %d errno %d\n", i, errno);
			return 1;
		}
		int fd = open("/p", O_RDWR | O_NONBLOCK);
		if (fd < 0 || unlink("/p")) {
			printf("fifo %d errno %d\n", i, errno);
			return 1;
		}
		close(fd);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr)) {
			printf("bind %d errno %d\n", i, errno);
			return 1;
		}
		close(s);
		/* the last, renamed over: the name it replaces goes too */
		if (mkfifo("/q", 0600) || rename("/s", "/q") || unlink("/q")) {
			printf("rename %d errno %d\n", i, errno);
			return 1;
		}
	}
	printf("done %d\n", n);
	fflush(stdout);
	char line[8];
	fgets(line, sizeof line, stdin);
	return 0;
}
