/* Many sockets of several kinds made in turn (a server's or client's loop): each new
 * one is fresh, of the kind asked for, blocking unless SOCK_NONBLOCK was given, and
 * works; a blocking accept and recv wait for a peer that comes late; one passed through
 * SCM_RIGHTS is the same open description; every fd is free again at the end.  Lind makes private-network sockets ahead in batches, so this goes
 * past a batch of every kind. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 40

static int failures;

static void check(int ok, const char *what, int round)
{
	if (!ok) {
		printf("round %d: %s (errno %d)\n", round, what, errno);
		failures++;
	}
}

static int option(int s, int name)
{
	int value = -1;
	socklen_t len = sizeof value;
	return getsockopt(s, SOL_SOCKET, name, &value, &len) ? -errno : value;
}

static int fds_open(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* `flagged`: made with SOCK_NONBLOCK | SOCK_CLOEXEC. */
static void kind_is(int s, int domain, int type, int protocol, int flagged, int round)
{
	check(s >= 0, "socket", round);
	check(option(s, SO_DOMAIN) == domain, "SO_DOMAIN", round);
	check(option(s, SO_TYPE) == type, "SO_TYPE", round);
	check(option(s, SO_PROTOCOL) == protocol, "SO_PROTOCOL", round);
	check(option(s, SO_ERROR) == 0 && option(s, SO_REUSEADDR) == 0, "fresh options", round);
	int fl = fcntl(s, F_GETFL);
	check((fl & O_ACCMODE) == O_RDWR && !!(fl & O_NONBLOCK) == flagged, "F_GETFL", round);
	check(!!(fcntl(s, F_GETFD) & FD_CLOEXEC) == flagged, "FD_CLOEXEC", round);
}

/* A TCP connection through a listener, the client coming late when `late`. */
static void tcp_round(int round, int late)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	kind_is(s, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, round);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	check(!bind(s, (struct sockaddr *)&a, sizeof a) && !listen(s, 4), "bind/listen", round);
	check(!getsockname(s, (struct sockaddr *)&a, &len) && a.sin_port, "getsockname", round);
	pid_t child = -1;
	int c = -1;
	if (late) {
		child = fork();
		if (child == 0) {
			usleep(20000);
			int k = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(k, (struct sockaddr *)&a, sizeof a))
				_exit(1);
			usleep(20000);
			_exit(write(k, "L", 1) == 1 ? 0 : 2);
		}
	} else {
		c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		kind_is(c, AF_INET, SOCK_STREAM, IPPROTO_TCP, 1, round);
		int r = connect(c, (struct sockaddr *)&a, sizeof a);
		check(r == 0 || errno == EINPROGRESS, "connect", round);
	}
	int d = accept(s, NULL, NULL);      /* waits for the late client */
	kind_is(d, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, round);
	char b = 0;
	if (late) {
		check(read(d, &b, 1) == 1 && b == 'L', "a blocking read waits", round);
		int status = -1;
		check(waitpid(child, &status, 0) == child && status == 0, "client", round);
	} else {
		check(write(d, "x", 1) == 1, "write", round);
		usleep(1000);
		check(read(c, &b, 1) == 1 && b == 'x', "read", round);
		check(read(c, &b, 1) < 0 && errno == EAGAIN, "a non-blocking read", round);
		close(c);
	}
	close(d);
	close(s);
}

static void udp_round(int round)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	kind_is(u, AF_INET, SOCK_DGRAM, IPPROTO_UDP, 0, round);
	kind_is(v, AF_INET, SOCK_DGRAM, IPPROTO_UDP, 0, round);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	check(!bind(u, (struct sockaddr *)&a, sizeof a), "bind udp", round);
	check(!getsockname(u, (struct sockaddr *)&a, &len), "getsockname udp", round);
	check(sendto(v, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a) == 5, "sendto", round);
	char b[8];
	check(recv(u, b, sizeof b, 0) == 5 && !memcmp(b, "dgram", 5), "recv udp", round);
	close(u);
	close(v);
}

static void inet6_round(int round)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	kind_is(s, AF_INET6, SOCK_STREAM, IPPROTO_TCP, 0, round);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int r = bind(s, (struct sockaddr *)&a, sizeof a);
	check(r == 0 || errno == EADDRNOTAVAIL, "bind ::1", round);   /* a host without IPv6 */
	close(s);
}

/* A TCP socket sent to ourselves: the fd received shares the sender's description. */
static void passed_round(int round)
{
	int pair[2], s = socket(AF_INET, SOCK_STREAM, 0), got = -1;
	check(!socketpair(AF_UNIX, SOCK_STREAM, 0, pair), "socketpair", round);
	char byte = 'p', control[CMSG_SPACE(sizeof(int))];
	struct iovec io = {&byte, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &s, sizeof s);
	check(sendmsg(pair[0], &m, 0) == 1, "sendmsg", round);
	check(recvmsg(pair[1], &m, 0) == 1 && (c = CMSG_FIRSTHDR(&m)), "recvmsg", round);
	if (c)
		memcpy(&got, CMSG_DATA(c), sizeof got);
	kind_is(got, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, round);
	fcntl(s, F_SETFL, O_NONBLOCK);
	check(fcntl(got, F_GETFL) & O_NONBLOCK, "one description", round);
	close(got);
	close(s);
	close(pair[0]);
	close(pair[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int before = fds_open();
	for (int round = 0; round < ROUNDS; round++) {
		tcp_round(round, round % 8 == 3);
		udp_round(round);
		if (round % 2)
			inet6_round(round);
		if (round % 10 == 7)
			passed_round(round);
	}
	printf("%d rounds of TCP, UDP, TCP over IPv6 and passed sockets: %d failures\n", ROUNDS, failures);
	printf("fds open after: %d more than before\n", fds_open() - before);
	return failures != 0;
}
