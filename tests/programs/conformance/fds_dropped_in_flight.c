/* Files in flight that the kernel drops stop counting against the sender: Linux
 * limits a user's files in flight to its RLIMIT_NOFILE (Lind each tree's), and a file
 * sent on a stream socket that the peer reads with read(2), or in the queue of a
 * socket that is closed, is dropped. Thousands of them, sent each way, must all go. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../attacks/passing.h"

int main(void)
{
	int stream[2], sent = 0, err = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, stream))
		return 1;
	for (int i = 0; i < 3000 && !err; i++) {
		char byte;
		if (send_fd(stream[0], 0, 0) || read(stream[1], &byte, 1) != 1)
			err = errno;
		else
			sent++;
	}
	printf("read(2) dropped: sent %d errno %d\n", sent, err);
	sent = 0;
	for (int round = 0; round < 12 && !err; round++) {
		int dgram[2];
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram))
			return 1;
		for (int i = 0; i < 250 && !err; i++) {
			if (send_fd(dgram[0], 0, MSG_DONTWAIT))
				err = errno;
			else
				sent++;
		}
		close(dgram[1]);
		close(dgram[0]);
	}
	printf("closed with its queue: sent %d errno %d\n", sent, err);
	return 0;
}
