/* Registers pipes in two epoll instances until a registration is refused and prints
 * "added N errno E"; then closes the first 50 pipes without EPOLL_CTL_DEL (the kernel
 * drops their registrations with them) and registers 50 new ones: "readded M". Each
 * registration is a place in the host user's max_user_watches, which Lind, running as
 * root, shares with every root process of the machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

static int add(int ep, int fd)
{
	struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

int main(int argc, char **argv)
{
	int pipes = argc > 1 ? atoi(argv[1]) : 300;
	int ep[2] = {epoll_create1(0), epoll_create1(0)};
	int (*p)[2] = calloc(pipes, sizeof *p);
	long added = 0;
	int err = 0;
	for (int i = 0; i < pipes && !err; i++) {
		if (pipe(p[i]) != 0) {
			err = errno;
			break;
		}
		for (int e = 0; e < 2 && !err; e++)
			for (int end = 0; end < 2 && !err; end++) {
				if (add(ep[e], p[i][end]) == 0)
					added++;
				else
					err = errno;
			}
	}
	printf("added %ld errno %d\n", added, err);
	for (int i = 0; i < 50; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	long readded = 0;
	for (int i = 0; i < 50; i++) {
		int q[2];
		if (pipe(q) != 0)
			break;
		readded += add(ep[0], q[0]) == 0;
		readded += add(ep[0], q[1]) == 0;
	}
	printf("readded %ld\n", readded);
	return 0;
}
