/* Files in a socket's queue hold what they hold after their sender closes them: run
 * under --memory 64M, this puts into one socketpair's queue (SCM_RIGHTS), closing each
 * after it is sent,
 *   in_flight_hog memfd N MIB   N memfds of MIB MiB (fallocate'd)
 *   in_flight_hog pipe N        N pipes grown to 1 MiB and filled
 * and prints how many MiB got in flight before a call refused ("inflight M errno E");
 * nothing is received. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "passing.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int memfds = !strcmp(argv[1], "memfd"), count = atoi(argv[2]), sv[2];
	long mib = memfds && argc > 3 ? atol(argv[3]) : 1, inflight = 0;
	static char chunk[1 << 20];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		return 1;
	int err = 0;
	for (int i = 0; i < count && !err; i++) {
		int fd, other = -1;
		if (memfds) {
			fd = memfd_create("hog", 0);
			if (fd < 0 || fallocate(fd, 0, 0, mib << 20) != 0)
				err = errno;
		} else {
			int p[2];
			if (pipe2(p, O_NONBLOCK) != 0 || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0 ||
			    write(p[1], chunk, sizeof chunk) != sizeof chunk)
				err = errno;
			fd = p[0];
			other = p[1];
		}
		if (!err && send_fd(sv[0], fd, MSG_DONTWAIT) != 0)
			err = errno;
		if (!err)
			inflight += mib;
		close(fd);
		if (other >= 0)
			close(other);
	}
	printf("inflight %ld errno %d\n", inflight, err);
	return 0;
}
