/* The tenant beside in_flight_flood: sends itself the read end of a pipe (blocking)
 * through SCM_RIGHTS, makes the file "sent" in its root, waits for "go", then receives
 * it and prints whether it came back non-blocking (it must not: O_NONBLOCK is the
 * file's, and Lind's host fd of a pipe never blocks). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	int sv[2], p[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || pipe(p) != 0)
		return 1;
	char byte = 'x', control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			   .msg_controllen = sizeof control};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	if (sendmsg(sv[0], &m, 0) != 1)
		return 2;
	close(p[0]);
	close(open("sent", O_WRONLY | O_CREAT, 0600));
	for (int i = 0; i < 60000 && access("go", F_OK) != 0; i++)
		usleep(1000);
	memset(control, 0, sizeof control);
	m.msg_controllen = sizeof control;
	if (recvmsg(sv[1], &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
		return 3;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
	printf("received non-blocking %d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	return 0;
}
