/* SCM_CREDENTIALS a program sends itself (a pid, uid and gid it may claim): taken, and
 * a peer with SO_PASSCRED reads them (a cage's sendmsg refused them all: EINVAL); a
 * short one and an id of -1: EINVAL. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_creds(int s, const void *data, size_t len)
{
	char byte = 'c';
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec v = {&byte, 1};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = CMSG_SPACE(len)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	int r = sendmsg(s, &m, 0);
	return r < 0 ? -errno : r;
}

int main(void)
{
	int sv[2], on = 1;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ||
	    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on))
		return 1;
	struct ucred own = {getpid(), getuid(), getgid()};
	printf("own: %d\n", send_creds(sv[0], &own, sizeof own));
	char byte;
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec v = {&byte, 1};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = sizeof u.buf};
	int r = recvmsg(sv[1], &m, MSG_DONTWAIT);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct ucred got = {0, 0, 0};
	if (c && c->cmsg_type == SCM_CREDENTIALS)
		memcpy(&got, CMSG_DATA(c), sizeof got);
	printf("received %d: pid ours %d uid ours %d gid ours %d\n", r, got.pid == own.pid,
	       got.uid == own.uid, got.gid == own.gid);
	printf("short: %d\n", send_creds(sv[0], &own, 8));
	struct ucred nobody = {getpid(), (uid_t)-1, getgid()};
	printf("uid -1: %d\n", send_creds(sv[0], &nobody, sizeof nobody));
	return 0;
}
