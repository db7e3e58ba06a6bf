/* TCP over the loopback: a forking echo server and clients, half-close, names,
 * options, errors, MSG_PEEK/MSG_WAITALL, FIONREAD and SIGPIPE.  Ports are the
 * kernel's choice, so only what does not depend on them is printed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 3

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static int listener(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)a, sizeof *a) || listen(s, 16))
		perror("bind/listen");
	socklen_t len = sizeof *a;
	getsockname(s, (struct sockaddr *)a, &len);
	return s;
}

static void echo(int c)
{
	char buf[256];
	ssize_t n;
	while ((n = read(c, buf, sizeof buf)) > 0)
		write(c, buf, n);
	close(c);
}

static void serve(int s, int count)
{
	for (int i = 0; i < count; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof peer;
		int c = accept(s, (struct sockaddr *)&peer, &len);
		if (c < 0 || peer.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || len != sizeof peer)
			_exit(10);
		if (fork() == 0) {
			close(s);
			echo(c);
			_exit(0);
		}
		close(c);
	}
	while (wait(NULL) > 0)
		;
	_exit(0);
}

static int connected(const struct sockaddr_in *a)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (const struct sockaddr *)a, sizeof *a))
		say("connect", -1);
	return c;
}

static void clients(const struct sockaddr_in *a)
{
	for (int i = 0; i < CLIENTS; i++) {
		int c = connected(a);
		char msg[64], buf[64];
		int len = snprintf(msg, sizeof msg, "hello from client %d", i);
		struct sockaddr_in peer;
		socklen_t plen = sizeof peer;
		getpeername(c, (struct sockaddr *)&peer, &plen);
		printf("peer is the server: %d\n", peer.sin_port == a->sin_port && plen == sizeof peer);
		write(c, msg, len);
		shutdown(c, SHUT_WR);
		ssize_t got = 0, n;
		while ((n = read(c, buf + got, sizeof buf - got)) > 0)
			got += n;
		printf("client %d: %.*s (%zd)\n", i, (int)got, buf, got);
		close(c);
	}
}

static void options(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), v = 0;
	socklen_t len = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len);
	printf("SO_TYPE %d len %d\n", v, (int)len);
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &len);
	printf("SO_DOMAIN %d\n", v);
	v = 1;
	say("TCP_NODELAY set", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	v = 0;
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	printf("TCP_NODELAY %d\n", v != 0);
	v = 1;
	say("SO_KEEPALIVE set", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
	struct linger l = {1, 5};
	say("SO_LINGER set", setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l));
	memset(&l, 0, sizeof l);
	len = sizeof l;
	getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len);
	printf("SO_LINGER %d %d\n", l.l_onoff, l.l_linger);
	say("bad level", setsockopt(s, 12345, 1, &v, sizeof v));
	say("short optlen", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, 1));
	v = 0;
	len = sizeof v;
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
	printf("SO_ACCEPTCONN %d\n", v);
	close(s);
}

static void errors(const struct sockaddr_in *a)
{
	/* a port bound but not listening: refused, and no other socket can take the port
	 * meanwhile (one closed first could be, and then the connect succeeded) */
	struct sockaddr_in closed = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t closed_len = sizeof closed;
	if (bind(probe, (struct sockaddr *)&closed, sizeof closed) ||
	    getsockname(probe, (struct sockaddr *)&closed, &closed_len))
		perror("bind probe");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	say("connect to a closed port", connect(c, (struct sockaddr *)&closed, sizeof closed));
	close(c);
	close(probe);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	say("bind in use", bind(s, (const struct sockaddr *)a, sizeof *a));
	say("bind short", bind(s, (const struct sockaddr *)a, 8));
	say("accept unlistened", accept(s, NULL, NULL));
	struct sockaddr_in p;
	socklen_t len = sizeof p;
	say("getpeername unconnected", getpeername(s, (struct sockaddr *)&p, &len));
	say("shutdown unconnected", shutdown(s, SHUT_RDWR));
	say("shutdown bad how", shutdown(s, 7));
	say("socket bad type", socket(AF_INET, 99, 0));
	say("socket bad protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	say("accept4 bad flags", accept4(s, NULL, NULL, 0x1234));
	say("not a socket", bind(1, (const struct sockaddr *)a, sizeof *a));
	say("bad fd", listen(99, 1));
	close(s);
}

static void peek_waitall_pipe(const struct sockaddr_in *a, int s)
{
	int c = connected(a);
	int d = accept(s, NULL, NULL);
	write(d, "abc", 3);
	char buf[16];
	usleep(50000);
	int avail = -1;
	ioctl(c, FIONREAD, &avail);
	printf("FIONREAD %d\n", avail);
	ssize_t n = recv(c, buf, sizeof buf, MSG_PEEK);
	printf("peek %zd %.*s\n", n, (int)n, buf);
	if (fork() == 0) {
		usleep(100000);
		write(d, "defgh", 5);
		_exit(0);
	}
	n = recv(c, buf, 8, MSG_WAITALL);
	printf("waitall %zd %.*s\n", n, (int)n, buf);
	wait(NULL);
	close(d);
	usleep(50000);
	/* The peer is gone: writes fail with EPIPE (SIGPIPE ignored), or SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	ssize_t w1 = write(c, "x", 1);
	usleep(50000);
	ssize_t w2 = send(c, "x", 1, 0);
	printf("after close: %zd then %zd errno %d\n", w1, w2, errno);
	say("MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
	signal(SIGPIPE, SIG_DFL);
	pid_t p = fork();
	if (p == 0) {
		send(c, "x", 1, 0);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("default SIGPIPE: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
	close(c);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sockaddr_in a;
	int s = listener(&a);
	printf("bound to %s, port set %d\n", inet_ntoa(a.sin_addr), a.sin_port != 0);
	pid_t server = fork();
	if (server == 0)
		serve(s, CLIENTS);
	clients(&a);
	int st;
	waitpid(server, &st, 0);
	printf("server exit %d\n", WEXITSTATUS(st));
	options();
	errors(&a);
	peek_waitall_pipe(&a, s);
	close(s);
	return 0;
}
