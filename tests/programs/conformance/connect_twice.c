/* connect on a socket already connected: EISCONN, after a blocking connect (a cage's
 * second connect said 0: Lind waited for the handshake itself and left the kernel's
 * one "connected" answer to the program) and after a non-blocking one, whose first
 * connect after the handshake says 0, as Linux does. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%s: %d errno %d\n", what, r, r ? errno : 0);
}

int main(void)
{
	int server = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof at;
	if (bind(server, (struct sockaddr *)&at, sizeof at) || listen(server, 8) ||
	    getsockname(server, (struct sockaddr *)&at, &len))
		return 1;
	int blocking = socket(AF_INET, SOCK_STREAM, 0);
	show("blocking connect", connect(blocking, (struct sockaddr *)&at, sizeof at));
	show("again", connect(blocking, (struct sockaddr *)&at, sizeof at));
	show("and again", connect(blocking, (struct sockaddr *)&at, sizeof at));

	int nonblocking = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	show("non-blocking connect", connect(nonblocking, (struct sockaddr *)&at, sizeof at));
	struct pollfd p = {.fd = nonblocking, .events = POLLOUT};
	poll(&p, 1, 5000);
	show("after the handshake", connect(nonblocking, (struct sockaddr *)&at, sizeof at));
	show("again", connect(nonblocking, (struct sockaddr *)&at, sizeof at));
	return 0;
}
