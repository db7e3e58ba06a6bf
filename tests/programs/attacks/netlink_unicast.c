/* Routing netlink sends only to the kernel from an unprivileged process: a message to
 * another socket (nl_pid) or to a multicast group needs CAP_NET_ADMIN, which Lind, if
 * root, has. argv[1]: the port id of a netlink socket the cage must not reach. Sends it
 * an RTM_GETLINK dump request by sendto, by sendmsg and by connect then send, and one to
 * group RTMGRP_LINK; prints each outcome. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
	struct nlmsghdr h;
	struct rtgenmsg g;
} req = {{.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK,
          .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1}, {.rtgen_family = AF_UNSPEC}};

static void say(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	unsigned pid = strtoul(argv[1], 0, 10);
	int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = pid};
	say("sendto", sendto(s, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to));
	struct iovec v = {&req, sizeof req};
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &v, .msg_iovlen = 1};
	say("sendmsg", sendmsg(s, &m, 0));
	int c = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	int r = connect(c, (struct sockaddr *)&to, sizeof to);
	say("connect", r);
	if (r == 0)
		say("send", send(c, &req, sizeof req, 0));
	struct sockaddr_nl group = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	say("sendto-group", sendto(s, &req, sizeof req, 0, (struct sockaddr *)&group, sizeof group));
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	say("sendto-kernel", sendto(s, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel));
	return 0;
}
