/* Pseudo-terminals the host has and others the program makes.
 *   pty_reach reach N   open /dev/pts/N (a host terminal), /dev/pts/0..63 and list
 *                       /dev/pts: prints how many opened and how many were listed
 *   pty_reach hoard     open /dev/ptmx until it fails, then once more through
 *                       /proc/self/fd: prints the count and both errnos
 *   pty_reach stuck [proc|tty|passed|inflight]
 *                       write 1 MiB to a terminal whose other side nobody reads (its
 *                       slave opened by ptsname, or again through /proc/self/fd, or
 *                       as /dev/tty once it is stdin, or through /proc/self/fd once
 *                       passed to itself through SCM_RIGHTS, its master too, or
 *                       with its master left in a socket's queue)
 *   pty_reach passed    open /dev/ptmx, pass it to itself (SCM_RIGHTS) and close the
 *                       first, until it fails; then reopen a passed master through
 *                       /proc/self/fd until it fails: prints both counts and errnos
 *   pty_reach tty       with a master as stdin, open /dev/tty until it fails (each a
 *                       new terminal, were it the master reopened): prints how many */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* `fd` sent through a socket pair and received: the new fd (-1: failed) */
static int passed(int fd)
{
	static int sv[2] = { -1, -1 };
	char c = 0, buf[CMSG_SPACE(sizeof(int))];
	struct iovec io = { &c, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof buf };
	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof fd);
	if (sendmsg(sv[0], &m, 0) != 1)
		return -1;
	memset(buf, 0, sizeof buf);
	if (recvmsg(sv[1], &m, 0) != 1 || !(h = CMSG_FIRSTHDR(&m)))
		return -1;
	memcpy(&fd, CMSG_DATA(h), sizeof fd);
	return fd;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "reach")) {
		char path[64];
		int opened = 0;
		snprintf(path, sizeof path, "/dev/pts/%s", argv[2]);
		int fd = open(path, O_RDWR | O_NOCTTY);
		if (fd >= 0) {
			write(fd, "injected\n", 9);
			opened++;
		}
		for (int i = 0; i < 64; i++) {
			snprintf(path, sizeof path, "/dev/pts/%d", i);
			if ((fd = open(path, O_RDWR | O_NOCTTY)) >= 0) {
				write(fd, "injected\n", 9);
				opened++;
			}
		}
		int listed = 0;
		DIR *d = opendir("/dev/pts");
		for (struct dirent *e; d && (e = readdir(d));)
			listed += e->d_name[0] != '.';
		printf("opened %d listed %d\n", opened, listed);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "hoard")) {
		int count = 0, fd, first = -1;
		while ((fd = open("/dev/ptmx", O_RDWR | O_NOCTTY)) >= 0 && count < 10000) {
			if (first < 0)
				first = fd;
			count++;
		}
		int hoarded = errno;
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", first);
		int again = open(path, O_RDWR | O_NOCTTY);
		printf("ptys %d %s, reopened %s\n", count, strerror(hoarded),
		       again < 0 ? strerror(errno) : "a new one");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "stuck")) {
		int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		if (m < 0 || unlockpt(m) != 0)
			return 1;
		int s = open(ptsname(m), O_RDWR | O_NOCTTY);
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", s);
		if (argc > 2 && !strcmp(argv[2], "proc"))
			s = open(path, O_RDWR | O_NOCTTY);
		if (argc > 2 && !strcmp(argv[2], "inflight")) {
			/* the master left in a socket's queue, its first fd closed */
			int sv[2];
			char c = 0, buf[CMSG_SPACE(sizeof(int))];
			struct iovec io = { &c, 1 };
			struct msghdr msg = { .msg_iov = &io, .msg_iovlen = 1,
					      .msg_control = buf, .msg_controllen = sizeof buf };
			struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &m, sizeof m);
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || sendmsg(sv[0], &msg, 0) != 1)
				return 1;
			close(m);
		}
		if (argc > 2 && (!strcmp(argv[2], "passed") || !strcmp(argv[2], "inflight"))) {
			int r = passed(s);
			close(s);
			snprintf(path, sizeof path, "/proc/self/fd/%d", r);
			s = open(path, O_RDWR | O_NOCTTY);
		}
		if (argc > 2 && !strcmp(argv[2], "tty") && dup2(s, 0) == 0)
			s = open("/dev/tty", O_RDWR | O_NOCTTY);
		if (s < 0)
			return 1;
		static char big[1 << 20];
		memset(big, 'x', sizeof big);
		printf("writing\n");
		fflush(stdout);
		write(s, big, sizeof big);      /* nobody reads the master */
		printf("written\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "passed")) {
		int kept[64], count = 0, m, r = -1;
		while (count < 64 && (m = open("/dev/ptmx", O_RDWR | O_NOCTTY)) >= 0) {
			r = passed(m);
			close(m);
			if (r < 0)
				break;
			kept[count++] = r;
		}
		printf("passed %d %s, ", count, strerror(errno));
		while (count > 1)
			close(kept[--count]);
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", kept[0]);
		int again = 0;
		while (again < 64 && open(path, O_RDWR | O_NOCTTY) >= 0)
			again++;
		printf("reopened %d %s\n", again, strerror(errno));
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "tty")) {
		int m = open("/dev/ptmx", O_RDWR | O_NOCTTY), count = 0;
		if (m < 0 || dup2(m, 0) != 0)
			return 1;
		while (count < 40 && open("/dev/tty", O_RDWR | O_NOCTTY) >= 0)
			count++;
		printf("tty %d %s\n", count, strerror(errno));
		return 0;
	}
	return 2;
}
