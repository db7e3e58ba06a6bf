/* The ioctls Linux answers for any fd: FIOCLEX and FIONCLEX set and clear FD_CLOEXEC
 * (as Python's os.set_inheritable does; a cage said ENOTTY), FIONBIO O_NONBLOCK; and
 * FIONREAD on a file (what is left past the offset) and a pipe (what is queued). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CK(x) do { errno = 0; int r_ = (x); printf("%-40s -> %d errno=%d\n", #x, r_, r_ < 0 ? errno : 0); } while (0)

static void cloexec(const char *what, int fd)
{
	printf("%s\n", what);
	CK(ioctl(fd, FIOCLEX));
	CK(fcntl(fd, F_GETFD));
	CK(ioctl(fd, FIONCLEX));
	CK(fcntl(fd, F_GETFD));
	CK(ioctl(fd, FIOCLEX));
	int copy = dup(fd);
	CK(fcntl(copy, F_GETFD));      /* a dup never has it */
	close(copy);
	int on = 1;
	CK(ioctl(fd, FIONBIO, &on));
	CK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	on = 0;
	CK(ioctl(fd, FIONBIO, &on));
	CK(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

int main(void)
{
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	write(fd, "0123456789", 10);
	lseek(fd, 3, SEEK_SET);
	cloexec("file", fd);
	int n = -1;
	CK(ioctl(fd, FIONREAD, &n));
	printf("file FIONREAD %d\n", n);
	int p[2];
	pipe(p);
	cloexec("pipe", p[0]);
	write(p[1], "abc", 3);
	CK(ioctl(p[0], FIONREAD, &n));
	printf("pipe FIONREAD %d\n", n);
	CK(ioctl(99, FIOCLEX));
	return 0;
}
