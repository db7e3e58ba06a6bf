/* Waiting on sockets: non-blocking connect and EAGAIN, poll and select over several
 * clients, SO_RCVTIMEO, O_NONBLOCK by fcntl and FIONBIO, signals that interrupt a
 * blocked accept or recv (EINTR, or a restart with SA_RESTART), UDP and IPv6. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static int listener(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)a, sizeof *a);
	listen(s, 16);
	socklen_t len = sizeof *a;
	getsockname(s, (struct sockaddr *)a, &len);
	return s;
}

static void nonblocking_connect(void)
{
	struct sockaddr_in a;
	int s = listener(&a);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (struct sockaddr *)&a, sizeof a);
	printf("nonblocking connect: %s\n", r == 0 || errno == EINPROGRESS ? "0 or EINPROGRESS" : "other");
	struct pollfd p = {c, POLLOUT, 0};
	say("poll for the connection", poll(&p, 1, 5000));
	int err = -1;
	socklen_t len = sizeof err;
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("SO_ERROR %d, POLLOUT %d\n", err, !!(p.revents & POLLOUT));
	int d = accept(s, NULL, NULL);
	char buf[64];
	say("recv with nothing there", recv(d, buf, sizeof buf, MSG_DONTWAIT));
	int fl = fcntl(d, F_GETFL);
	fcntl(d, F_SETFL, fl | O_NONBLOCK);
	say("read, O_NONBLOCK", read(d, buf, sizeof buf));
	printf("F_GETFL O_NONBLOCK %d\n", !!(fcntl(d, F_GETFL) & O_NONBLOCK));
	fcntl(d, F_SETFL, fl);
	int on = 1;
	ioctl(d, FIONBIO, &on);
	say("read, FIONBIO", read(d, buf, sizeof buf));
	on = 0;
	ioctl(d, FIONBIO, &on);
	/* Fill the connection until the kernel says EAGAIN. */
	char block[4096];
	memset(block, 'x', sizeof block);
	long total = 0, n;
	while ((n = send(c, block, sizeof block, 0)) > 0)
		total += n;
	printf("filled: %d errno %d\n", total > 0, errno);
	struct pollfd q = {c, POLLOUT, 0};
	say("poll writable when full", poll(&q, 1, 0));
	/* The other side drains it: the blocking reader gets everything. */
	long got = 0;
	while (got < total && (n = read(d, block, sizeof block)) > 0)
		got += n;
	printf("drained all: %d\n", got == total);
	close(c);
	say("read at EOF", read(d, buf, sizeof buf));
	close(d);
	close(s);
}

static void poll_server(void)
{
	struct sockaddr_in a;
	int s = listener(&a);
	enum { N = 4 };
	for (int i = 0; i < N; i++) {
		if (fork() == 0) {
			int c = socket(AF_INET, SOCK_STREAM, 0);
			connect(c, (struct sockaddr *)&a, sizeof a);
			char msg[16], buf[16];
			int len = snprintf(msg, sizeof msg, "%d", i * 11);
			usleep(20000 * (N - i));
			write(c, msg, len);
			ssize_t n = read(c, buf, sizeof buf);
			_exit(n == len && !memcmp(buf, msg, len) ? 0 : 1);
		}
	}
	struct pollfd fds[N + 1] = {{s, POLLIN, 0}};
	int open_clients = 0, served = 0, nfds = 1;
	while (served < N) {
		int r = poll(fds, nfds, 10000);
		if (r <= 0) {
			say("poll", r);
			break;
		}
		if (fds[0].revents & POLLIN) {
			fds[nfds++] = (struct pollfd){accept(s, NULL, NULL), POLLIN, 0};
			open_clients++;
		}
		for (int i = 1; i < nfds; i++) {
			if (fds[i].fd >= 0 && fds[i].revents & (POLLIN | POLLHUP)) {
				char buf[16];
				ssize_t n = read(fds[i].fd, buf, sizeof buf);
				if (n > 0) {
					write(fds[i].fd, buf, n);
					served++;
				}
				close(fds[i].fd);
				fds[i].fd = -1;
			}
		}
	}
	int ok = 0, st;
	while (wait(&st) > 0)
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("poll server: accepted %d served %d clients ok %d\n", open_clients, served, ok);
	/* select over a listener and a connected pair */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof a);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(s, &r);
	struct timeval tv = {5, 0};
	say("select sees the connection", select(s + 1, &r, NULL, NULL, &tv));
	printf("listener readable %d\n", FD_ISSET(s, &r));
	int d = accept(s, NULL, NULL);
	FD_ZERO(&r);
	FD_SET(d, &r);
	tv = (struct timeval){0, 50000};
	say("select times out", select(d + 1, &r, NULL, NULL, &tv));
	close(c);
	FD_SET(d, &r);
	tv = (struct timeval){5, 0};
	say("select sees EOF", select(d + 1, &r, NULL, NULL, &tv));
	close(d);
	close(s);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void arm(int flags)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = flags};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {0, 50000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void interrupted(void)
{
	struct sockaddr_in a;
	int s = listener(&a);
	arm(0);
	say("accept interrupted", accept(s, NULL, NULL));
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	char buf[16];
	arm(0);
	say("recv interrupted", recv(sv[0], buf, sizeof buf, 0));
	arm(0);
	say("read interrupted", read(sv[0], buf, sizeof buf));
	pid_t p = fork();
	if (p == 0) {
		usleep(200000);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&a, sizeof a);
		write(sv[1], "late", 4);
		close(c);
		_exit(0);
	}
	arm(SA_RESTART);
	int d = accept(s, NULL, NULL);
	printf("accept restarted: %d\n", d >= 0);
	arm(SA_RESTART);
	ssize_t n = recv(sv[0], buf, sizeof buf, 0);
	printf("recv restarted: %zd %.*s\n", n, (int)n, buf);
	waitpid(p, NULL, 0);
	while (alarms < 5)
		usleep(10000);
	printf("alarms handled: %d\n", (int)alarms);
	struct timeval tv = {0, 100000};
	say("SO_RCVTIMEO", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	struct timeval back;
	socklen_t len = sizeof back;
	getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &len);
	printf("SO_RCVTIMEO read back %ld.%06ld len %d\n", (long)back.tv_sec, (long)back.tv_usec, (int)len);
	say("recv times out", recv(sv[0], buf, sizeof buf, 0));
	arm(SA_RESTART);   /* a timeout makes the call one a handler interrupts for good */
	say("recv with a timeout interrupted", recv(sv[0], buf, sizeof buf, 0));
	close(sv[0]);
	close(sv[1]);
	close(d);
	close(s);
}

static void udp(int family)
{
	struct sockaddr_storage aa, bb, from;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memset(&aa, 0, sizeof aa);
	aa.ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)&aa)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&aa)->sin6_addr = in6addr_loopback;
	bb = aa;
	int x = socket(family, SOCK_DGRAM, 0), y = socket(family, SOCK_DGRAM, 0);
	bind(x, (struct sockaddr *)&aa, len);
	bind(y, (struct sockaddr *)&bb, len);
	socklen_t l = sizeof aa;
	getsockname(x, (struct sockaddr *)&aa, &l);
	l = sizeof bb;
	getsockname(y, (struct sockaddr *)&bb, &l);
	say("udp sendto", sendto(x, "udp hello", 9, 0, (struct sockaddr *)&bb, len));
	char buf[32];
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	printf("udp %d recvfrom %zd %.*s, from the sender %d\n", family, n, (int)n, buf,
	       flen == len && !memcmp(&from, &aa, len));
	struct iovec iov[2] = {{"two ", 4}, {"parts", 5}};
	struct msghdr m = {.msg_name = &bb, .msg_namelen = len, .msg_iov = iov, .msg_iovlen = 2};
	say("sendmsg", sendmsg(x, &m, 0));
	char p1[3], p2[16];
	struct iovec in[2] = {{p1, 3}, {p2, sizeof p2}};
	struct msghdr r = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = in, .msg_iovlen = 2};
	n = recvmsg(y, &r, 0);
	printf("recvmsg %zd %.3s|%.*s namelen %d\n", n, p1, (int)n - 3, p2, r.msg_namelen == len);
	struct mmsghdr mm[3];
	struct iovec mv[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
	for (int i = 0; i < 3; i++)
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &bb, .msg_namelen = len, .msg_iov = &mv[i], .msg_iovlen = 1}};
	say("sendmmsg", sendmmsg(x, mm, 3, 0));
	char rb[3][8];
	struct iovec rv[3] = {{rb[0], 8}, {rb[1], 8}, {rb[2], 8}};
	for (int i = 0; i < 3; i++)
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &rv[i], .msg_iovlen = 1}};
	int got = recvmmsg(y, mm, 3, MSG_WAITFORONE, NULL);
	printf("recvmmsg %d: %u %u %u\n", got, mm[0].msg_len, got > 1 ? mm[1].msg_len : 0,
	       got > 2 ? mm[2].msg_len : 0);
	close(x);
	close(y);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	nonblocking_connect();
	poll_server();
	interrupted();
	udp(AF_INET);
	udp(AF_INET6);
	return 0;
}
