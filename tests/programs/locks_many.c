/* A cage taking ever more fcntl locks on one file: past the microvisor's bound
 * (MAX_RANGES) it gets ENOLCK, and closing the file gives them all back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int lock(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, F_SETLK, &fl) < 0 ? errno : 0;
}

int main(void)
{
	int fd = open("many.dat", O_RDWR | O_CREAT, 0644), i, e = 0;
	for (i = 0; i < 100000 && !(e = lock(fd, 2 * i, 1)); i++)
		;
	printf("%d locks, then: %s\n", i, strerror(e));
	close(fd);
	fd = open("many.dat", O_RDWR);
	e = lock(fd, 0, 0);
	printf("after close, the whole file: %s\n", e ? strerror(e) : "ok");
	return 0;
}
