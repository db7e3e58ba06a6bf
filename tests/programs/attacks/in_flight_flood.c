/* Sends argv[1] non-blocking pipes through SCM_RIGHTS to itself and receives each
 * message without room for fds (the kernel drops them): Lind kept each one's O_NONBLOCK
 * in one table for the whole process, capped at 4,096, so a tree doing this pushed out
 * what the other trees had sent, and those received their files blocking. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "passing.h"

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 5000, sent = 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		return 1;
	for (long i = 0; i < count; i++) {
		int p[2];
		if (pipe2(p, O_NONBLOCK) != 0)
			return 2;
		sent += send_fd(sv[0], p[0], 0) == 0;
		char byte;
		struct iovec iov = {&byte, 1};
		struct msghdr dropped = {.msg_iov = &iov, .msg_iovlen = 1};
		recvmsg(sv[1], &dropped, 0);
		close(p[0]);
		close(p[1]);
	}
	printf("sent %ld\n", sent);
	return 0;
}
