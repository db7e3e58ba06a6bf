/* Pseudo-terminals the host has and others the program makes.
 *   pty_reach reach N   open /dev/pts/N (a host terminal), /dev/pts/0..63 and list
 *                       /dev/pts: prints how many opened and how many were listed
 *   pty_reach hoard     open /dev/ptmx until it fails, then once more through
 *                       /proc/self/fd: prints the count and both errnos
 *   pty_reach stuck [proc|tty]
 *                       write 1 MiB to a terminal whose other side nobody reads (its
 *                       slave opened by ptsname, or again through /proc/self/fd, or
 *                       as /dev/tty once it is stdin)
 *   pty_reach tty       with a master as stdin, open /dev/tty until it fails (each a
 *                       new terminal, were it the master reopened): prints how many */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
