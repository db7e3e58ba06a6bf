/* A socket the host gave as stdin, sent to the cage itself through SCM_RIGHTS once its
 * fd 0 is closed: the description the host shares comes back as a new socket of the
 * cage's, which Lind makes non-blocking in the host. Then F_SETFL O_NONBLOCK on it,
 * and a read (which must wait for the host's line). Prints what each says. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "passing.h"

int main(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || send_fd(sv[0], 0, 0))
		return 1;
	close(0);
	int got = recv_fd(sv[1]);
	printf("received %d\n", got >= 0);
	char buf[64];
	ssize_t n = read(got, buf, sizeof buf);
	printf("read %d\n", (int)n);
	int r = fcntl(got, F_SETFL, fcntl(got, F_GETFL) | O_NONBLOCK);
	printf("nonblock %d\n", r);
	fflush(stdout);
	return 0;
}
