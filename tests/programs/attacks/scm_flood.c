/* Receives 250 copies of one fd through SCM_RIGHTS with room in its fd table for two:
 * Lind received all 250 from the host, installed two, and left the other 248 open in
 * the host, outside every budget, for ever (thousands after a few rounds: the tenants
 * beside it could open nothing more). Linux installs what fits, closes the rest and
 * says MSG_CTRUNC. Prints, for the first round and in total, what recvmsg gave. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define COPIES 250

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 1;
	int f = open("scm-file", O_RDWR | O_CREAT, 0600);
	struct rlimit limit = {8, 8};
	if (f < 0 || setrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 2;
	static char out[CMSG_SPACE(sizeof(int) * COPIES)], in[CMSG_SPACE(sizeof(int) * COPIES)];
	long received = 0, truncated = 0;
	for (int r = 0; r < rounds; r++) {
		char byte = 'x';
		struct iovec iov = {&byte, 1};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = out,
				   .msg_controllen = sizeof out};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * COPIES);
		for (int i = 0; i < COPIES; i++)
			((int *)CMSG_DATA(c))[i] = f;
		if (sendmsg(sv[0], &m, 0) != 1) {
			printf("sendmsg errno %d\n", errno);
			return 3;
		}
		struct msghdr got = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = in,
				     .msg_controllen = sizeof in};
		ssize_t n = recvmsg(sv[1], &got, 0);
		int fds = 0;
		for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&got) : NULL; h; h = CMSG_NXTHDR(&got, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, fds++)
					close(((int *)CMSG_DATA(h))[i]);
		if (r == 0)
			printf("recvmsg %zd errno %d ctrunc %d fds %d\n", n, n < 0 ? errno : 0,
			       n >= 0 && (got.msg_flags & MSG_CTRUNC) != 0, fds);
		received += fds;
		truncated += n >= 0 && (got.msg_flags & MSG_CTRUNC) != 0;
	}
	printf("rounds %d received %ld truncated %ld\n", rounds, received, truncated);
	return 0;
}
