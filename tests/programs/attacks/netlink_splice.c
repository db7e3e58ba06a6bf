/* Routing netlink takes queries only from a cage: a request that would change the
 * network (here: add 10.77.77.77 to lo) must be refused however it reaches the socket:
 * send, writev, sendfile from a file, splice from a pipe. Prints each outcome and
 * whether the address could be bound afterwards (it must not: EADDRNOTAVAIL, 99). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static struct {
	struct nlmsghdr h;
	struct ifaddrmsg a;
	struct rtattr local_attr;
	struct in_addr local;
	struct rtattr address_attr;
	struct in_addr address;
} req;

static int bindable(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = req.local};
	int r = bind(s, (struct sockaddr *)&a, sizeof a) ? errno : 0;
	close(s);
	return r;
}

static void outcome(const char *how, long r)
{
	printf("%s %ld %d\n", how, r, r < 0 ? errno : 0);
}

int main(void)
{
	req.h.nlmsg_len = sizeof req;
	req.h.nlmsg_type = RTM_NEWADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.a.ifa_family = AF_INET;
	req.a.ifa_prefixlen = 32;
	req.a.ifa_index = 1;                          /* lo */
	req.local_attr.rta_len = req.address_attr.rta_len = RTA_LENGTH(4);
	req.local_attr.rta_type = IFA_LOCAL;
	req.address_attr.rta_type = IFA_ADDRESS;
	inet_pton(AF_INET, "10.77.77.77", &req.local);
	req.address = req.local;
	printf("bind before %d\n", bindable());

	int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	outcome("send", send(nl, &req, sizeof req, 0));
	struct iovec v = {&req, sizeof req};
	outcome("writev", writev(nl, &v, 1));

	int file = open("request", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(file, &req, sizeof req);
	off_t at = 0;
	outcome("sendfile", sendfile(nl, file, &at, sizeof req));

	int p[2];
	pipe(p);
	write(p[1], &req, sizeof req);
	outcome("splice", splice(p[0], NULL, nl, NULL, sizeof req, SPLICE_F_NONBLOCK));

	static char big[64 << 20];            /* read to be checked: past the send buffer, */
	outcome("send-64M", send(nl, big, sizeof big, 0));     /* EMSGSIZE, never a copy */
	printf("bind after %d\n", bindable());
	return 0;
}
