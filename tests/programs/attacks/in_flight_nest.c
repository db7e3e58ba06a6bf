/* Sockets in a socket's queue (SCM_RIGHTS) carry their own queues, and files of their
 * own: run under --memory 64M, this fills socket pairs (each end closed once sent),
 * puts them into carrier sockets, and the carriers into one socket of its own, until
 * TARGET MiB of data are in flight or a call refuses. Prints "inflight M errno E".
 * With "unaccepted" after TARGET, each carrier is a connection to a Unix listener that
 * never accepts it (the files wait in a socket that has no inode yet).
 * The host kernel lets root (Lind) have any number of files in flight; an unprivileged
 * process gets ETOOMANYREFS past its RLIMIT_NOFILE. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "passing.h"

static char chunk[1 << 16];

/* A stream pair whose one end holds what the other could write: its bytes, or -1. */
static long filled(int p[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) != 0)
		return -1;
	long bytes = 0;
	ssize_t n;
	while ((n = write(p[0], chunk, sizeof chunk)) > 0)
		bytes += n;
	return bytes;
}

int main(int argc, char **argv)
{
	long target = (argc > 1 ? atol(argv[1]) : 512) << 20, inflight = 0;
	int top[2], err = 0, listener = -1;
	struct sockaddr_un name = {.sun_family = AF_UNIX};
	socklen_t name_len = sizeof name;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, top) != 0)
		return 1;
	if (argc > 2 && !strcmp(argv[2], "unaccepted")) {
		listener = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(listener, (struct sockaddr *)&name, sizeof(sa_family_t)) ||
		    listen(listener, 4096) ||
		    getsockname(listener, (struct sockaddr *)&name, &name_len))
			return 1;
	}
	while (inflight < target && !err) {
		int carrier[2];
		if (listener >= 0) {
			carrier[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
			carrier[1] = socket(AF_UNIX, SOCK_STREAM, 0);   /* sent along, unused */
			if (connect(carrier[0], (struct sockaddr *)&name, name_len) != 0) {
				err = errno;
				break;
			}
		} else if (socketpair(AF_UNIX, SOCK_DGRAM, 0, carrier) != 0) {
			err = errno;
			break;
		}
		for (int i = 0; i < 64 && inflight < target && !err; i++) {
			int p[2];
			long bytes = filled(p);
			if (bytes < 0) {
				err = errno;
				break;
			}
			if (send_fd(carrier[0], p[0], MSG_DONTWAIT) != 0 ||
			    send_fd(carrier[0], p[1], MSG_DONTWAIT) != 0)
				err = errno;
			else
				inflight += bytes;
			close(p[0]);
			close(p[1]);
		}
		if (!err && (send_fd(top[0], carrier[0], MSG_DONTWAIT) != 0 ||
			     send_fd(top[0], carrier[1], MSG_DONTWAIT) != 0))
			err = errno;
		close(carrier[0]);
		close(carrier[1]);
	}
	printf("inflight %ld errno %d\n", inflight >> 20, err);
	return 0;
}
