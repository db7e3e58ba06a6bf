/* A Unix socket bound to no name (addrlen of the family alone) gets the kernel's
 * autobind name: an abstract "\0" and five hex digits, which getsockname shows and
 * another socket connects to (libuv's pipe_getsockname_autobind; Lind's names carry a
 * tag the cage never sees, and the autobound one had none: ECONNREFUSED). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int kernel_form(const struct sockaddr_un *a, socklen_t len)
{
	if (len != offsetof(struct sockaddr_un, sun_path) + 6 || a->sun_path[0] != '\0')
		return 0;
	for (int i = 1; i < 6; i++)
		if (!strchr("0123456789abcdef", a->sun_path[i]))
			return 0;
	return 1;
}

int main(void)
{
	int server = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un name = {.sun_family = AF_UNIX};
	printf("bind autobind: %d\n", bind(server, (struct sockaddr *)&name, sizeof(sa_family_t)));
	socklen_t len = sizeof name;
	getsockname(server, (struct sockaddr *)&name, &len);
	printf("getsockname: the kernel's form %d\n", kernel_form(&name, len));
	printf("listen: %d\n", listen(server, 1));
	int client = socket(AF_UNIX, SOCK_STREAM, 0);
	printf("connect to it: %d\n", connect(client, (struct sockaddr *)&name, len) < 0 ? errno : 0);
	struct sockaddr_un peer;
	socklen_t peer_len = sizeof peer;
	getpeername(client, (struct sockaddr *)&peer, &peer_len);
	printf("getpeername: the same name %d\n", peer_len == len && !memcmp(&peer, &name, len));
	int again = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un other = {.sun_family = AF_UNIX};
	bind(again, (struct sockaddr *)&other, sizeof(sa_family_t));
	socklen_t other_len = sizeof other;
	getsockname(again, (struct sockaddr *)&other, &other_len);
	printf("a second autobind: another name %d\n", memcmp(&other, &name, len) != 0);
	return 0;
}
