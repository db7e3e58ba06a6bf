/* Socket options Linux lets only CAP_NET_ADMIN set, which a cage must not get from a
 * Lind running as root: a congestion control the host does not allow (a name no
 * module has: root makes the kernel try to load one), a longer busy poll, a priority
 * past 6. argv[1]: one the host does allow, which must work. Prints each outcome. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void outcome(const char *what, int r)
{
	printf("%s %d %d\n", what, r, r ? errno : 0);
}

int main(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	const char *unknown = "lindnone";
	outcome("congestion-unknown", setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, unknown, strlen(unknown)));
	if (argc > 1)
		outcome("congestion-allowed", setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, argv[1], strlen(argv[1])));
	int busy = 1000000, none = 0, priority = 7;
	outcome("busy-poll-raise", setsockopt(s, SOL_SOCKET, SO_BUSY_POLL, &busy, sizeof busy));
	outcome("busy-poll-zero", setsockopt(s, SOL_SOCKET, SO_BUSY_POLL, &none, sizeof none));
	outcome("priority-7", setsockopt(s, SOL_SOCKET, SO_PRIORITY, &priority, sizeof priority));
	return 0;
}
