/* Unix-domain sockets: socketpair across fork, path and abstract names, datagrams
 * and sequenced packets, errors, and SCM_RIGHTS passing a file and a socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

static socklen_t name(struct sockaddr_un *a, const char *path, int abstract)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t len = strlen(path);
	memcpy(a->sun_path + abstract, path, len);
	return offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 1 : 1);
}

static void show_name(const char *what, int fd, int peer)
{
	struct sockaddr_un a;
	socklen_t len = sizeof a;
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
	if (r) {
		say(what, r);
		return;
	}
	int path_len = (int)len - (int)offsetof(struct sockaddr_un, sun_path);
	if (path_len > 0 && a.sun_path[0] == 0)
		printf("%s: abstract '%.*s' len %d\n", what, path_len - 1, a.sun_path + 1, (int)len);
	else
		printf("%s: '%.*s' len %d\n", what, path_len > 0 ? path_len : 0, a.sun_path, (int)len);
}

static void pair_across_fork(void)
{
	int sv[2];
	say("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	if (fork() == 0) {
		close(sv[0]);
		char buf[32];
		ssize_t n = read(sv[1], buf, sizeof buf);
		for (ssize_t i = 0; i < n; i++)
			buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
		write(sv[1], buf, n);
		_exit(0);
	}
	close(sv[1]);
	write(sv[0], "ping from parent", 16);
	char buf[32];
	ssize_t n = read(sv[0], buf, sizeof buf);
	printf("pair: %.*s\n", n > 0 ? (int)n : 0, buf);
	wait(NULL);
	n = read(sv[0], buf, sizeof buf);
	printf("pair after child: %zd\n", n);
	close(sv[0]);
	say("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, sv));
}

static void stream_by_path(void)
{
	struct sockaddr_un a;
	socklen_t len = name(&a, "srv.sock", 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	umask(022);
	say("bind", bind(s, (struct sockaddr *)&a, len));
	struct stat st;
	stat("srv.sock", &st);
	printf("socket file: sock %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 07777);
	say("bind again", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len));
	say("listen", listen(s, 4));
	show_name("server name", s, 0);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect", connect(c, (struct sockaddr *)&a, len));
	int d = accept(s, NULL, NULL);
	show_name("client peer", c, 1);
	show_name("accepted name", d, 0);
	show_name("accepted peer", d, 1);
	write(c, "over a path", 11);
	char buf[32];
	ssize_t n = read(d, buf, sizeof buf);
	printf("read %.*s\n", n > 0 ? (int)n : 0, buf);
	close(c);
	close(d);
	/* The name stays until unlinked, then connects fail. */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect by relative name again", connect(c, (struct sockaddr *)&a, len));
	close(c);
	close(s);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect with the listener closed", connect(c, (struct sockaddr *)&a, len));
	unlink("srv.sock");
	say("connect to a missing name", connect(c, (struct sockaddr *)&a, len));
	int f = open("plain", O_CREAT | O_WRONLY, 0644);
	close(f);
	len = name(&a, "plain", 0);
	say("connect to a regular file", connect(c, (struct sockaddr *)&a, len));
	len = name(&a, "nodir/x.sock", 0);
	say("bind in a missing directory", bind(c, (struct sockaddr *)&a, len));
	close(c);
}

static void abstract(void)
{
	struct sockaddr_un a;
	socklen_t len = name(&a, "lind-conformance", 1) - 1;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	say("bind abstract", bind(s, (struct sockaddr *)&a, len));
	listen(s, 1);
	show_name("abstract name", s, 0);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect abstract", connect(c, (struct sockaddr *)&a, len));
	show_name("abstract peer", c, 1);
	int other = socket(AF_UNIX, SOCK_STREAM, 0);
	say("abstract in use", bind(other, (struct sockaddr *)&a, len));
	close(other);
	close(c);
	close(s);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	say("connect abstract gone", connect(c, (struct sockaddr *)&a, len));
	struct sockaddr_un auto_name = {.sun_family = AF_UNIX};
	say("autobind", bind(c, (struct sockaddr *)&auto_name, sizeof(sa_family_t)));
	socklen_t alen = sizeof auto_name;
	getsockname(c, (struct sockaddr *)&auto_name, &alen);
	printf("autobind name: len %d abstract %d\n", (int)alen, auto_name.sun_path[0] == 0);
	close(c);
}

static void datagrams(void)
{
	struct sockaddr_un a, b, from;
	socklen_t alen = name(&a, "dg-a", 0), blen = name(&b, "dg-b", 0);
	int x = socket(AF_UNIX, SOCK_DGRAM, 0), y = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(x, (struct sockaddr *)&a, alen);
	bind(y, (struct sockaddr *)&b, blen);
	say("sendto", sendto(x, "datagram one", 12, 0, (struct sockaddr *)&b, blen));
	say("sendto", sendto(x, "two", 3, 0, (struct sockaddr *)&b, blen));
	char buf[8];
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(y, buf, 5, MSG_TRUNC, (struct sockaddr *)&from, &flen);
	printf("recvfrom %zd (truncated to 5: %.5s) from '%s'\n", n, buf, from.sun_path);
	flen = sizeof from;
	n = recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	printf("recvfrom %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	say("recv empty nonblocking", recv(y, buf, sizeof buf, MSG_DONTWAIT));
	say("connect dgram", connect(x, (struct sockaddr *)&b, blen));
	say("send connected", send(x, "c", 1, 0));
	n = recv(y, buf, sizeof buf, 0);
	printf("got %zd\n", n);
	close(x);
	close(y);
	unlink("dg-a");
	unlink("dg-b");
}

static void seqpacket(void)
{
	int sv[2];
	say("seqpacket pair", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	send(sv[0], "first", 5, 0);
	send(sv[0], "second!", 7, 0);
	char buf[16];
	ssize_t n = recv(sv[1], buf, 3, 0);
	printf("seqpacket %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	n = recvmsg(sv[1], &m, 0);
	printf("seqpacket %zd %.*s flags %#x\n", n, n > 0 ? (int)n : 0, buf, m.msg_flags);
	close(sv[0]);
	close(sv[1]);
}

static void pass_fds(void)
{
	int sv[2], inner[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
	int file = open("passed.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(file, "contents of a passed file\n", 26);
	lseek(file, 0, SEEK_SET);
	pid_t p = fork();
	if (p == 0) {
		close(sv[0]);
		char data[4], control[CMSG_SPACE(2 * sizeof(int))];
		struct iovec iov = {data, sizeof data};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				   .msg_controllen = sizeof control};
		ssize_t n = recvmsg(sv[1], &m, 0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		printf("child got %zd bytes, level %d type %d, two fds %d\n", n, c->cmsg_level,
		       c->cmsg_type, c->cmsg_len == CMSG_LEN(2 * sizeof(int)));
		int fds[2];
		memcpy(fds, CMSG_DATA(c), sizeof fds);
		char buf[64];
		n = read(fds[0], buf, sizeof buf);
		printf("child read the passed file: %.*s", n > 0 ? (int)n : 0, buf);
		write(fds[1], "through a passed socket", 23);
		int fl = fcntl(fds[0], F_GETFD);
		printf("cloexec on the received fd: %d\n", fl & FD_CLOEXEC);
		_exit(0);
	}
	close(sv[1]);
	char control[CMSG_SPACE(2 * sizeof(int))];
	memset(control, 0, sizeof control);
	struct iovec iov = {"fds", 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = {file, inner[1]};
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	long sent = sendmsg(sv[0], &m, 0);
	int st;
	waitpid(p, &st, 0);        /* the child's lines first, whatever the scheduler does */
	say("sendmsg with fds", sent);
	char buf[64];
	ssize_t n = read(inner[0], buf, sizeof buf);
	printf("parent read: %.*s\n", n > 0 ? (int)n : 0, buf);
	printf("offset moved by the child: %ld\n", (long)lseek(file, 0, SEEK_CUR));
	c->cmsg_len = CMSG_LEN(sizeof(int));
	fds[0] = 77;
	memcpy(CMSG_DATA(c), fds, sizeof(int));
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	say("sendmsg with a bad fd", sendmsg(sv[0], &m, 0));
	close(sv[0]);
}

static int recv_one_fd(int s)
{
	char d, control[CMSG_SPACE(sizeof(int))];
	struct iovec v = {&d, 1};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	if (recvmsg(s, &m, 0) < 0)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
	return fd;
}

static void send_one_fd(int s, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	memset(control, 0, sizeof control);
	struct iovec v = {"x", 1};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof fd);
	sendmsg(s, &m, 0);
}

/* A socket and a pipe end passed and closed by the sender before they arrive: the
 * receiver's are the same open files, blocking as they were. */
static void pass_and_let_go(void)
{
	int sv[2], pair[2], p[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
	pipe(p);
	send_one_fd(sv[0], pair[1]);
	close(pair[1]);
	send_one_fd(sv[0], p[0]);
	close(p[0]);
	int sock = recv_one_fd(sv[1]), rd = recv_one_fd(sv[1]);
	printf("received blocking: socket %d pipe %d\n", !(fcntl(sock, F_GETFL) & O_NONBLOCK),
	       !(fcntl(rd, F_GETFL) & O_NONBLOCK));
	if (fork() == 0) {
		usleep(100000);
		write(p[1], "late", 4);
		write(pair[0], "late", 4);
		_exit(0);
	}
	char b[8];
	ssize_t n = read(rd, b, sizeof b), m = read(sock, b, sizeof b);
	printf("blocking reads waited: %zd %zd\n", n, m);
	wait(NULL);
}

static struct ucred peer(int fd)
{
	struct ucred u = {-7, 7, 7};
	socklen_t len = sizeof u;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &u, &len))
		u.pid = -errno;
	return u;
}

/* SO_PEERCRED: a pair's peer is its maker, a client's peer the process that listened,
 * the server's peer the process that connected; pid 0 and ids -1 for no peer. */
static void credentials(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct ucred u = peer(sv[0]);
	printf("pair: peer is me %d, uid is mine %d\n", u.pid == getpid(), u.uid == getuid());
	struct sockaddr_un a;
	socklen_t len = name(&a, "cred.sock", 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 1);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&a, len);
		struct ucred v = peer(c);
		char ok = v.pid == parent ? 'y' : 'n';
		write(c, &ok, 1);
		read(c, &ok, 1);
		_exit(0);
	}
	int d = accept(s, NULL, NULL);
	char ok = '?';
	read(d, &ok, 1);
	struct ucred w = peer(d);
	write(d, "k", 1);
	waitpid(child, NULL, 0);
	printf("client sees the listener %c, server sees the client %d\n", ok, w.pid == child);
	u = peer(socket(AF_UNIX, SOCK_STREAM, 0));
	printf("no peer: %d %d %d\n", u.pid, (int)u.uid, (int)u.gid);
	u = peer(socket(AF_INET, SOCK_DGRAM, 0));
	printf("internet socket: %d %d %d\n", u.pid, (int)u.uid, (int)u.gid);
	unlink("cred.sock");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pair_across_fork();
	stream_by_path();
	abstract();
	datagrams();
	seqpacket();
	pass_fds();
	pass_and_let_go();
	credentials();
	return 0;
}
