/* Makes the socket calls named on its command line and prints how each ended:
 * connect|bind|sendto|sendmsg ADDR PORT, short (a truncated sockaddr_in),
 * unix PATH (connect to an AF_UNIX address). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *errname(int e)
{
	static char other[24];
	switch (e) {
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EBADF: return "EBADF";
	case ENOTSOCK: return "ENOTSOCK";
	}
	snprintf(other, sizeof other, "errno %d", e);
	return other;
}

/* The address in ADDR (IPv4 or IPv6) and PORT, and its length. */
static socklen_t make_address(struct sockaddr_storage *ss, const char *addr, const char *port)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(port));
		return sizeof *in;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(port));
		return sizeof *in6;
	}
	fprintf(stderr, "bad address %s\n", addr);
	exit(2);
}

static void report(const char *what, const char *a, const char *b, int r)
{
	printf("%s %s %s: %s\n", what, a, b, r == 0 ? "ok" : errname(errno));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		struct sockaddr_storage ss;
		if (!strcmp(op, "short")) {
			make_address(&ss, "127.0.0.1", "1");
			report(op, "-", "-", connect(3, (struct sockaddr *)&ss, 8));
			continue;
		}
		if (!strcmp(op, "unix") && i + 1 < argc) {
			struct sockaddr_un un = {.sun_family = AF_UNIX};
			strncpy(un.sun_path, argv[++i], sizeof un.sun_path - 1);
			report(op, un.sun_path, "-", connect(3, (struct sockaddr *)&un, sizeof un));
			continue;
		}
		if (i + 2 >= argc) {
			fprintf(stderr, "%s wants ADDR PORT\n", op);
			return 2;
		}
		const char *addr = argv[++i], *port = argv[++i];
		socklen_t len = make_address(&ss, addr, port);
		int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		struct sockaddr *sa = (struct sockaddr *)&ss;
		int r;
		if (!strcmp(op, "connect")) {
			r = connect(fd, sa, len);
		} else if (!strcmp(op, "bind")) {
			r = bind(fd, sa, len);
		} else if (!strcmp(op, "sendto")) {
			r = sendto(fd, "x", 1, 0, sa, len) < 0 ? -1 : 0;
		} else if (!strcmp(op, "sendmsg")) {
			struct iovec iov = {.iov_base = "x", .iov_len = 1};
			struct msghdr msg = {.msg_name = sa, .msg_namelen = len, .msg_iov = &iov,
					     .msg_iovlen = 1};
			r = sendmsg(fd, &msg, 0) < 0 ? -1 : 0;
		} else {
			fprintf(stderr, "unknown operation %s\n", op);
			return 2;
		}
		report(op, addr, port, r);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
