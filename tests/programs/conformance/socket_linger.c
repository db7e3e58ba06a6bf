/* SO_LINGER set and read back (Lind keeps a linger's time itself: the host's close
 * would wait in its kernel, where nothing reaches the cage), a time kept while the
 * linger is off, as Linux keeps it; a short optlen; and the linger with no time, which
 * resets the connection on close. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void show(int s, const char *what)
{
	struct linger got = {-1, -1};
	socklen_t len = sizeof got;
	int r = getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &len);
	printf("%s: get %d len %d onoff %d linger %d\n", what, r, (int)len, got.l_onoff,
	       got.l_linger);
}

static void set(int s, int on, int seconds, const char *what)
{
	struct linger l = {on, seconds};
	int r = setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	printf("set %s: %d\n", what, r);
	show(s, what);
}

int main(void)
{
	int kinds[] = {AF_INET, AF_UNIX};
	for (int k = 0; k < 2; k++) {
		int s = socket(kinds[k], SOCK_STREAM, 0);
		printf("%s\n", kinds[k] == AF_INET ? "tcp" : "unix");
		show(s, "fresh");
		set(s, 1, 5, "on 5");
		set(s, 0, 7, "off 7");
		set(s, 1, 0, "on 0");
		set(s, 3, 9, "onoff 3");
		struct linger l = {1, 1};
		int r = setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l - 1);
		printf("short optlen: %d errno %d\n", r, r ? errno : 0);
		close(s);
	}

	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 2) ||
	    getsockname(l, (struct sockaddr *)&a, &n))
		return 1;
	for (int abort = 0; abort < 2; abort++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof a))
			return 1;
		int s = accept(l, 0, 0);
		struct linger lg = {1, abort ? 0 : 2};
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		printf("%s close: %d\n", abort ? "abortive" : "lingering", close(c));
		char byte;
		ssize_t r = recv(s, &byte, 1, 0);
		printf("peer reads: %d errno %d\n", (int)r, r < 0 ? errno : 0);
		close(s);
	}
	return 0;
}
