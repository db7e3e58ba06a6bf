/* Under netfilter rules denying loopback, the unspecified address (which the kernel
 * sends a connect to this host's loopback) must be refused too. Listens on [::]:7777
 * (both families), then connects by each name of this host; prints each outcome. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void attempt(int family, const char *ip)
{
	int s = socket(family, SOCK_STREAM, 0), r;
	if (family == AF_INET) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7777)};
		inet_pton(AF_INET, ip, &a.sin_addr);
		r = connect(s, (struct sockaddr *)&a, sizeof a);
	} else {
		struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(7777)};
		inet_pton(AF_INET6, ip, &a.sin6_addr);
		r = connect(s, (struct sockaddr *)&a, sizeof a);
	}
	printf("connect %s %d %d\n", ip, r, r ? errno : 0);
	close(s);
}

int main(void)
{
	int l = socket(AF_INET6, SOCK_STREAM, 0), zero = 0;
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_port = htons(7777),
	                           .sin6_addr = IN6ADDR_ANY_INIT};
	if (bind(l, (struct sockaddr *)&any, sizeof any) || listen(l, 16))
		return 1;
	attempt(AF_INET, "127.0.0.1");
	attempt(AF_INET, "0.0.0.0");
	attempt(AF_INET6, "::1");
	attempt(AF_INET6, "::");
	attempt(AF_INET6, "::ffff:0.0.0.0");
	return 0;
}
