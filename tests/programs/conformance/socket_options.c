/* Socket options that need no privilege on Linux, set and read back (a cage's were
 * ENOPROTOOPT: IPV6_DONTFRAG, UDP_GRO, *_RECVORIGDSTADDR, TCP_FASTOPEN_CONNECT...), and
 * sendmsg/recvmsg of more than IOV_MAX buffers: EMSGSIZE, where readv says EINVAL. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

struct option {
	const char *name;
	int family, type, level, option;
};

static const struct option options[] = {
	{"IPV6_RECVHOPLIMIT", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RECVHOPLIMIT},
	{"IPV6_DONTFRAG", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_DONTFRAG},
	{"IPV6_RECVPATHMTU", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RECVPATHMTU},
	{"IPV6_AUTOFLOWLABEL", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL},
	{"IPV6_FREEBIND", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_FREEBIND},
	{"IPV6_RECVRTHDR", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RECVRTHDR},
	{"IPV6_RECVDSTOPTS", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RECVDSTOPTS},
	{"IPV6_RECVORIGDSTADDR", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR},
	{"IP_RECVORIGDSTADDR", AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_RECVORIGDSTADDR},
	{"IP_MINTTL", AF_INET, SOCK_STREAM, IPPROTO_IP, IP_MINTTL},
	{"IP_MULTICAST_ALL", AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_MULTICAST_ALL},
	{"UDP_GRO", AF_INET, SOCK_DGRAM, IPPROTO_UDP, UDP_GRO},
	{"SO_RXQ_OVFL", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RXQ_OVFL},
	{"SO_ZEROCOPY", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_ZEROCOPY},
	{"TCP_FASTOPEN_CONNECT", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_FASTOPEN_CONNECT},
	{"TCP_INQ", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_INQ},
	{"TCP_SAVE_SYN", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_SAVE_SYN},
	{"TCP_THIN_DUPACK", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_THIN_DUPACK},
};

int main(void)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		const struct option *o = &options[i];
		int s = socket(o->family, o->type, 0), one = 1, got = -1;
		socklen_t len = sizeof got;
		errno = 0;
		int set = setsockopt(s, o->level, o->option, &one, sizeof one);
		int set_errno = set ? errno : 0;
		int get = getsockopt(s, o->level, o->option, &got, &len);
		printf("%s: set %d errno %d, get %d value %d\n", o->name, set, set_errno,
		       get ? errno : 0, get ? -1 : got);
		close(s);
	}
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	int stamp = 0;
	socklen_t len = sizeof stamp;
	printf("TCP_TIMESTAMP readable: %d\n",
	       getsockopt(tcp, IPPROTO_TCP, TCP_TIMESTAMP, &stamp, &len) == 0);
	unsigned long long cookie = 0;
	len = sizeof cookie;
	printf("SO_COOKIE readable: %d\n",
	       getsockopt(tcp, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 && cookie != 0);
	close(tcp);

	int pair[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair))
		return 1;
	static struct iovec many[IOV_MAX + 1];
	static char byte;
	for (int i = 0; i <= IOV_MAX; i++)
		many[i] = (struct iovec){.iov_base = &byte, .iov_len = 1};
	struct msghdr m = {.msg_iov = many, .msg_iovlen = IOV_MAX + 1};
	int r = sendmsg(pair[0], &m, 0);
	printf("sendmsg of IOV_MAX+1 buffers: %d errno %d\n", r, r < 0 ? errno : 0);
	r = recvmsg(pair[1], &m, MSG_DONTWAIT);
	printf("recvmsg of IOV_MAX+1 buffers: %d errno %d\n", r, r < 0 ? errno : 0);
	m.msg_iovlen = IOV_MAX;
	printf("sendmsg of IOV_MAX buffers: %zd\n", sendmsg(pair[0], &m, 0));
	ssize_t n = readv(pair[1], many, IOV_MAX + 1);
	printf("readv of IOV_MAX+1 buffers: %zd errno %d\n", n, n < 0 ? errno : 0);
	return 0;
}
