/* IPv4 options Linux lets only CAP_NET_RAW put on a socket's packets (IP_OPTIONS, or an
 * IP_RETOPTS control message): security labels (IPOPT_SEC, CIPSO), the stream id, and
 * any option it does not know. Lind may be root, whose sockets took them; a record
 * route, which anyone may ask, must still work. Prints "WHAT RESULT ERRNO". */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void outcome(const char *what, int r)
{
	printf("%s %d %d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	static const struct {
		const char *name;
		unsigned char bytes[12];
	} options[] = {
		{"record-route", {7, 7, 4, 0, 0, 0, 0, 0}},            /* then END */
		{"security", {130, 11, 0xF1, 0x35, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"stream-id", {136, 4, 0, 1, 0, 0, 0, 0}},
		{"unknown", {158, 4, 0, 0, 0, 0, 0, 0}},
		{"noop-then-security", {1, 130, 11, 0xF1, 0x35, 0, 0, 0, 0, 0, 0, 0}},
	};
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		outcome(options[i].name, setsockopt(s, IPPROTO_IP, IP_OPTIONS, options[i].bytes,
						    sizeof options[i].bytes));
		setsockopt(s, IPPROTO_IP, IP_OPTIONS, NULL, 0);
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct iovec v = {"options", 7};
	union {
		char buf[CMSG_SPACE(12)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &v,
			   .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_RETOPTS;
	c->cmsg_len = CMSG_LEN(12);
	memcpy(CMSG_DATA(c), options[1].bytes, 12);
	outcome("retopts-security", sendmsg(s, &m, 0));
	memcpy(CMSG_DATA(c), options[0].bytes, 12);
	outcome("retopts-record-route", sendmsg(s, &m, 0));
	return 0;
}
