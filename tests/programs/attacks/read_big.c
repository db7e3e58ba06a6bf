/* Large reads of a tree's file (portable back end): /f written with argv[1] MiB, then
 * a readv of 1024 vectors naming one 1 MiB buffer, a read and a pread of 0x7fffffff
 * bytes into it. Each took the bytes asked for from the file first, twice, in the
 * host (a 900 MB file: two more host copies for a cage under --memory 256M).
 * Prints "WHAT RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static char buf[1 << 20];
static struct iovec vec[1024];

int main(int argc, char **argv)
{
	long mib = atol(argv[1]);
	int fd = open("/f", O_CREAT | O_RDWR | O_TRUNC, 0644);
	memset(buf, 'x', sizeof buf);
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, sizeof buf) != (long)sizeof buf)
			return 1;
	for (int i = 0; i < 1024; i++) {
		vec[i].iov_base = buf;
		vec[i].iov_len = sizeof buf;
	}
	lseek(fd, 0, SEEK_SET);
	long r = readv(fd, vec, 1024);
	printf("readv %ld %d\n", r, r < 0 ? errno : 0);
	lseek(fd, 0, SEEK_SET);
	r = read(fd, buf, 0x7fffffff);
	printf("read %ld %d\n", r, r < 0 ? errno : 0);
	r = pread(fd, buf, 0x7fffffff, 0);
	printf("pread %ld %d\n", r, r < 0 ? errno : 0);
	r = pread(fd, buf, 5, (mib << 20) - 2);
	printf("tail %ld %d\n", r, r < 0 ? errno : 0);
	return 0;
}
