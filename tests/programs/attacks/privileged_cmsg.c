/* Control messages that need CAP_NET_RAW on Linux: IPv6 hop-by-hop and destination
 * options (IPV6_HOPOPTS, IPV6_DSTOPTS, IPV6_RTHDRDSTOPTS and their RFC 2292 names).
 * Lind may be root, and root's sendmsg sends them; a cage is an unprivileged process.
 * Sends one datagram with each (a PadN option) to [::1]:argv[1]; prints the outcomes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[1])),
	                          .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct iovec v = {"options", 7};
	union {
		char buf[CMSG_SPACE(8)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &v,
	                   .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_len = CMSG_LEN(8);
	unsigned char *header = CMSG_DATA(c);
	header[2] = 1, header[3] = 4;           /* next header 0, length 0, then PadN of 4 */
	struct { const char *name; int type; } kinds[] = {
		{"hopopts", 54}, {"dstopts", 59}, {"rthdrdstopts", 55},
		{"2292hopopts", 3}, {"2292dstopts", 4}};
	for (int i = 0; i < 5; i++) {
		c->cmsg_type = kinds[i].type;
		int r = sendmsg(s, &m, 0);
		printf("%s %d %d\n", kinds[i].name, r, r < 0 ? errno : 0);
	}
	return 0;
}
