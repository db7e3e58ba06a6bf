/* SO_PASSCRED: the credentials a Unix socket attaches to what it receives must be the
 * sending cage's (here itself, through a socketpair), never the kernel's, which name
 * the Lind process (its host pid, uid 0). Prints whether they match its own. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int sv[2], one = 1, found = 0;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) ||
	    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one))
		return 1;
	write(sv[0], "x", 1);
	char byte, control[256];
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
	                   .msg_controllen = sizeof control};
	if (recvmsg(sv[1], &m, 0) != 1)
		return 2;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred u;
			memcpy(&u, CMSG_DATA(c), sizeof u);
			found = 1;
			printf("pid %s uid %s gid %s\n", u.pid == getpid() ? "own" : "other",
			       u.uid == getuid() ? "own" : "other", u.gid == getgid() ? "own" : "other");
		}
	if (!found)
		printf("no credentials\n");
	return 0;
}
