/* writev to /proc/self/comm of 256 iovecs that all point at one 2 MiB buffer: the
 * cage owns 2 MiB and points at 512 MiB, of which a name keeps 15 bytes (Lind copied
 * every iovec first: gigabytes of host memory under --memory 64M). Then the name it
 * got, and a pread at a negative offset (EINVAL). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

static char big[2 << 20];

int main(void)
{
	memset(big, 'n', sizeof big);
	int fd = open("/proc/self/comm", O_RDWR);
	static struct iovec iov[256];
	for (int i = 0; i < 256; i++)
		iov[i] = (struct iovec){.iov_base = big, .iov_len = sizeof big};
	long n = writev(fd, iov, 256);
	char name[16];
	prctl(PR_GET_NAME, name);
	char at[4];
	long r = pread(fd, at, sizeof at, -3);
	printf("writev %ld name %s pread %ld %d\n", n, name, r, r < 0 ? errno : 0);
	return 0;
}
