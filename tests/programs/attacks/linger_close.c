/* A TCP socket with SO_LINGER of a million seconds and a full queue its peer never reads:
 * Linux's close() then waits in the kernel for the queue to drain, up to the linger
 * time, and only a signal of the thread's own ends the wait -- which a cage never
 * sends to the host thread it runs on. Prints what getsockopt says of the linger set,
 * then "closed RESULT" once close returns. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &n))
		return 1;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof a))
		return 1;
	int s = accept(l, 0, 0);        /* held, never read */
	static char buf[1 << 16];
	while (send(c, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	struct linger set = {1, 1000000}, got = {0, 0};
	socklen_t len = sizeof got;
	if (setsockopt(c, SOL_SOCKET, SO_LINGER, &set, sizeof set) ||
	    getsockopt(c, SOL_SOCKET, SO_LINGER, &got, &len))
		return 1;
	printf("linger %d %d\n", got.l_onoff, got.l_linger);
	fflush(stdout);
	printf("closed %d\n", close(c));
	close(s);
	return 0;
}
