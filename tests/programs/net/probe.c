/* Network probes, one per pair of arguments, each printing how it ended:
 *   connect PORT        TCP to 127.0.0.1:PORT; says "hi", prints what comes back
 *   connect6 PORT       the same to [::1]:PORT
 *   bind PORT           bind a TCP socket to 127.0.0.1:PORT
 *   socket KIND         inet (TCP), inet6, udp, raw, ping, unix
 *   serve PORT          listen on 0.0.0.0:PORT, say "listening", echo one client
 *   unix-connect PATH   connect to the Unix socket PATH, print what it sends
 *   unix-bind PATH      bind a Unix socket to PATH
 *   abstract-connect N  connect to the abstract name N
 *   abstract-serve N    bind N, say "listening", accept one client, greet it once it spoke
 *   netlink-down NAME   ask the routing netlink to set interface NAME down
 *   wait ANY            say "waiting", read a line of stdin */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void outcome(const char *what, const char *arg, int r)
{
	printf("%s %s: %s%d\n", what, arg, r < 0 ? "errno " : "ok ", r < 0 ? errno : r);
}

static void talk(int c)
{
	char buf[64];
	write(c, "hi", 2);
	ssize_t n = read(c, buf, sizeof buf);
	printf("got %.*s\n", n > 0 ? (int)n : 0, buf);
}

static socklen_t unix_name(struct sockaddr_un *a, const char *name, int abstract)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	strncpy(a->sun_path + abstract, name, sizeof a->sun_path - 1 - abstract);
	return sizeof(sa_family_t) + abstract + strlen(name) + !abstract;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *op = argv[i], *arg = argv[i + 1];
		if (!strcmp(op, "connect") || !strcmp(op, "bind")) {
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(arg)),
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			int s = socket(AF_INET, SOCK_STREAM, 0);
			int r = !strcmp(op, "bind") ? bind(s, (struct sockaddr *)&a, sizeof a)
						    : connect(s, (struct sockaddr *)&a, sizeof a);
			outcome(op, arg, r);
			if (r == 0 && !strcmp(op, "connect"))
				talk(s);
			close(s);
		} else if (!strcmp(op, "connect6")) {
			struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(atoi(arg)),
						 .sin6_addr = in6addr_loopback};
			int s = socket(AF_INET6, SOCK_STREAM, 0);
			int r = connect(s, (struct sockaddr *)&a, sizeof a);
			outcome(op, arg, r);
			if (r == 0)
				talk(s);
			close(s);
		} else if (!strcmp(op, "socket")) {
			int s = !strcmp(arg, "inet") ? socket(AF_INET, SOCK_STREAM, 0)
				: !strcmp(arg, "inet6") ? socket(AF_INET6, SOCK_STREAM, 0)
				: !strcmp(arg, "udp") ? socket(AF_INET, SOCK_DGRAM, 0)
				: !strcmp(arg, "raw") ? socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
				: !strcmp(arg, "ping") ? socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
				: socket(AF_UNIX, SOCK_STREAM, 0);
			outcome(op, arg, s < 0 ? s : 0);
			close(s);
		} else if (!strcmp(op, "serve")) {
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(arg))};
			int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
			setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4)) {
				outcome(op, arg, -1);
				return 1;
			}
			printf("listening\n");
			int c = accept(s, NULL, NULL);
			char buf[64];
			ssize_t n = read(c, buf, sizeof buf);
			if (n > 0)
				write(c, buf, n);
			printf("served %zd\n", n);
			close(c);
			close(s);
		} else if (!strcmp(op, "wait")) {
			char line[16];
			printf("waiting\n");
			if (!fgets(line, sizeof line, stdin))
				return 1;
		} else if (!strcmp(op, "unix-connect") || !strcmp(op, "unix-bind")) {
			struct sockaddr_un a;
			socklen_t len = unix_name(&a, arg, 0);
			int s = socket(AF_UNIX, SOCK_STREAM, 0);
			int r = !strcmp(op, "unix-bind") ? bind(s, (struct sockaddr *)&a, len)
							 : connect(s, (struct sockaddr *)&a, len);
			outcome(op, arg, r);
			if (r == 0 && !strcmp(op, "unix-connect"))
				talk(s);
			close(s);
		} else if (!strcmp(op, "abstract-connect")) {
			struct sockaddr_un a;
			socklen_t len = unix_name(&a, arg, 1);
			int s = socket(AF_UNIX, SOCK_STREAM, 0);
			int r = connect(s, (struct sockaddr *)&a, len);
			outcome(op, arg, r);
			if (r == 0)
				talk(s);
			close(s);
		} else if (!strcmp(op, "abstract-serve")) {
			struct sockaddr_un a;
			socklen_t len = unix_name(&a, arg, 1);
			int s = socket(AF_UNIX, SOCK_STREAM, 0);
			if (bind(s, (struct sockaddr *)&a, len) || listen(s, 4)) {
				outcome(op, arg, -1);
				return 1;
			}
			printf("listening\n");
			int c = accept(s, NULL, NULL);
			char hi[8];
			read(c, hi, sizeof hi);
			write(c, "hello from the cage", 19);
			close(c);
			close(s);
		} else if (!strcmp(op, "netlink-down")) {
			struct {
				struct nlmsghdr h;
				struct ifinfomsg i;
			} req = {.h = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_NEWLINK,
				       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK},
				 .i = {.ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex(arg),
				       .ifi_change = IFF_UP}};
			int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
			outcome(op, arg, s < 0 ? s : (int)send(s, &req, sizeof req, 0));
			close(s);
		} else {
			fprintf(stderr, "unknown probe %s\n", op);
			return 2;
		}
	}
	return 0;
}
