/* Ways past netfilter's rules to where they refuse, each printed "WHAT RESULT ERRNO":
 *
 * unspec PORT DENIED_BIND_PORT  Linux takes an AF_UNSPEC address as an IPv4 one in a UDP
 *     send and in an IPv4 bind (0.0.0.0 only): sendto/sendmsg/sendmmsg to 127.0.0.1:PORT
 *     and a bind of DENIED_BIND_PORT, each with sa_family 0 (netfilter once matched
 *     only `*` rules to them). A connect with AF_UNSPEC (a disconnect) still passes, and
 *     so does a sendmsg whose msg_namelen is 0 (no address, to Linux) to its peer.
 * bound PORT4 PORT6  A connect or send to 0.0.0.0 goes to the address the socket is
 *     bound to, and one to :: from a socket bound to ::ffff:127.0.0.1 to 127.0.0.1:
 *     bound to 127.0.0.2, connect and sendto 0.0.0.0:PORT4; bound to ::ffff:127.0.0.1,
 *     connect [::]:PORT6 (netfilter once checked 127.0.0.1:PORT4 and [::1]:PORT6).
 * listen PORT  A listen on a socket not bound yet binds it to 0.0.0.0 (or ::) and a free
 *     port, which rules refusing those binds must refuse too: listens on an unbound IPv4
 *     and IPv6 socket (with one, prints "port N" and waits 5 s for a connection), then
 *     on one bound to 127.0.0.1:PORT, which the rules allow.
 * race PORT  sendmmsg (1024 messages) and sendmsg to 127.0.0.1:PORT+1 (allowed), 40
 *     times each, while a second thread flips the port inside the msg_name to PORT
 *     (refused) and back every 10 to 20 ms: netfilter checked all 1024 names before the
 *     first was sent. Prints how many messages were sent and how many calls refused.
 * behind PORT  sendmsg and sendmmsg to 127.0.0.1:PORT+1 (allowed), each header followed
 *     in memory by a sockaddr for 127.0.0.1:PORT (refused), where netfilter's copy puts
 *     the name it checked: a grate below that copies the header alone must not make the
 *     microvisor read the name from the cage there. Prints "sendmsg R E", "sendmmsg R E". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void say(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
	fflush(stdout);
}

static struct sockaddr_in v4(const char *ip, int port, int family)
{
	struct sockaddr_in a = {.sin_family = family, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static void unspec(int port, int bind_port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = v4("127.0.0.1", port, AF_UNSPEC);
	say("sendto-unspec", sendto(s, "unspec", 6, 0, (struct sockaddr *)&to, sizeof to));
	struct iovec v = {"unspec", 6};
	struct mmsghdr m = {.msg_hdr = {.msg_name = &to, .msg_namelen = sizeof to,
	                                .msg_iov = &v, .msg_iovlen = 1}};
	say("sendmsg-unspec", sendmsg(s, &m.msg_hdr, 0));
	say("sendmmsg-unspec", sendmmsg(s, &m, 1, 0));
	int b = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = v4("0.0.0.0", bind_port, AF_UNSPEC);
	say("bind-unspec", bind(b, (struct sockaddr *)&any, sizeof any));
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ok = v4("127.0.0.1", port + 1, AF_INET);
	struct sockaddr none = {.sa_family = AF_UNSPEC};
	connect(c, (struct sockaddr *)&ok, sizeof ok);
	struct msghdr unnamed = {.msg_name = &to, .msg_namelen = 0, .msg_iov = &v, .msg_iovlen = 1};
	say("sendmsg-namelen-0", sendmsg(c, &unnamed, 0));      /* no address: to its peer */
	say("connect-unspec", connect(c, &none, sizeof none));
}

static void bound(int port4, int port6)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in here = v4("127.0.0.2", 0, AF_INET), any = v4("0.0.0.0", port4, AF_INET);
	bind(s, (struct sockaddr *)&here, sizeof here);
	say("connect-any", connect(s, (struct sockaddr *)&any, sizeof any));
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	bind(u, (struct sockaddr *)&here, sizeof here);
	say("sendto-any", sendto(u, "bound", 5, 0, (struct sockaddr *)&any, sizeof any));
	int t = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6}, any6 = {.sin6_family = AF_INET6,
	                                                               .sin6_port = htons(port6)};
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
	bind(t, (struct sockaddr *)&mapped, sizeof mapped);
	say("connect-any6", connect(t, (struct sockaddr *)&any6, sizeof any6));
}

static int racing_port;
static volatile int stop;
static struct sockaddr_in target;

static void *flip(void *arg)
{
	(void)arg;
	for (int allowed = 1; !stop; allowed = !allowed) {
		target.sin_port = htons(allowed ? racing_port + 1 : racing_port);
		usleep(allowed ? 20000 : 10000);
	}
	return 0;
}

#define VLEN 1024
static struct mmsghdr messages[VLEN];

static void race(int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	racing_port = port;
	target = v4("127.0.0.1", port + 1, AF_INET);
	struct iovec v = {"race", 4};
	for (int i = 0; i < VLEN; i++)
		messages[i].msg_hdr = (struct msghdr){.msg_name = &target, .msg_namelen = sizeof target,
		                                      .msg_iov = &v, .msg_iovlen = 1};
	pthread_t t;
	pthread_create(&t, 0, flip, 0);
	int sent = 0, refused = 0;
	for (int i = 0; i < 40; i++) {
		int n = sendmmsg(s, messages, VLEN, 0);
		n < 0 ? refused++ : (sent += n);
		n = sendmsg(s, &messages[0].msg_hdr, 0);
		n < 0 ? refused++ : sent++;
	}
	stop = 1;
	pthread_join(t, 0);
	printf("race sent %d refused %d\n", sent, refused);
}

static void behind(int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	static struct { struct msghdr m; struct sockaddr_in after; } one;
	static struct { struct mmsghdr m; struct sockaddr_in after; } many;
	target = v4("127.0.0.1", port + 1, AF_INET);
	struct iovec v = {"behind", 6};
	one.m = (struct msghdr){.msg_name = &target, .msg_namelen = sizeof target,
	                        .msg_iov = &v, .msg_iovlen = 1};
	one.after = v4("127.0.0.1", port, AF_INET);
	many.m.msg_hdr = one.m;
	many.after = one.after;
	say("sendmsg", sendmsg(s, &one.m, 0));
	say("sendmmsg", sendmmsg(s, &many.m, 1, 0));
}

static void listening(int port)
{
	int families[] = {AF_INET, AF_INET6};
	const char *names[] = {"listen-unbound", "listen-unbound6"};
	for (int i = 0; i < 2; i++) {
		int s = socket(families[i], SOCK_STREAM, 0);
		int r = listen(s, 4);
		say(names[i], r);
		if (r == 0) {        /* bound by the kernel: where, and does anyone come? */
			struct sockaddr_in6 name;
			socklen_t length = sizeof name;
			getsockname(s, (struct sockaddr *)&name, &length);
			printf("port %d\n", ntohs(name.sin6_port));
			fflush(stdout);
			struct pollfd p = {s, POLLIN, 0};
			say("accepted", poll(&p, 1, 5000) > 0 ? accept(s, 0, 0) : -1);
		}
	}
	int t = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in allowed = v4("127.0.0.1", port, AF_INET);
	bind(t, (struct sockaddr *)&allowed, sizeof allowed);
	say("listen-bound", listen(t, 4));
}

int main(int argc, char **argv)
{
	if (argc > 3 && !strcmp(argv[1], "unspec"))
		unspec(atoi(argv[2]), atoi(argv[3]));
	else if (argc > 3 && !strcmp(argv[1], "bound"))
		bound(atoi(argv[2]), atoi(argv[3]));
	else if (argc > 2 && !strcmp(argv[1], "listen"))
		listening(atoi(argv[2]));
	else if (argc > 2 && !strcmp(argv[1], "behind"))
		behind(atoi(argv[2]));
	else if (argc > 2 && !strcmp(argv[1], "race"))
		race(atoi(argv[2]));
	else
		return 2;
	return 0;
}
