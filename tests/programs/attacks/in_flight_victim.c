/* The tenant beside in_flight_flood: sends itself the read end of a pipe (blocking)
 * through SCM_RIGHTS, makes the file "sent" in its root, waits for "go", then receives
 * it and prints whether it came back non-blocking (it must not: O_NONBLOCK is the
 * file's, and Lind's host fd of a pipe never blocks). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "passing.h"

int main(void)
{
	int sv[2], p[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || pipe(p) != 0)
		return 1;
	if (send_fd(sv[0], p[0], 0) != 0)
		return 2;
	close(p[0]);
	close(open("sent", O_WRONLY | O_CREAT, 0600));
	for (int i = 0; i < 60000 && access("go", F_OK) != 0; i++)
		usleep(1000);
	int fd = recv_fd(sv[1]);
	if (fd < 0)
		return 3;
	printf("received non-blocking %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	return 0;
}
