/* A cage started under a file-size limit (policy `file_size`, Runtime.spawn(file_size=))
 * tries to grow a file past it through the writes that append wherever they are
 * pointed: pwritev2 with RWF_APPEND (at an offset and at the file position) and pwrite
 * on an O_APPEND file. Until 2026-12-01 Lind measured the room from the offset or the
 * position instead of the end, so each grew the file past the limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static char block[1000];

/* Short: stdout is a file under the same limit. */
static void report(long r)
{
	printf(r < 0 ? "%ld(%d) " : "%ld ", r, errno);
}

int main(void)
{
	signal(SIGXFSZ, SIG_IGN);
	memset(block, 'g', sizeof block);
	struct iovec iov = {block, sizeof block};
	int fd = open("grow", O_RDWR | O_CREAT | O_TRUNC, 0644);
	int app = open("grow", O_WRONLY | O_APPEND);
	report(write(fd, block, 10));
	report(pwritev2(fd, &iov, 1, 0, RWF_APPEND));
	ftruncate(fd, 10);
	lseek(fd, 0, SEEK_SET);
	report(pwritev2(fd, &iov, 1, -1, RWF_APPEND));
	ftruncate(fd, 10);
	report(pwrite(app, block, sizeof block, 0));
	report(lseek(fd, 0, SEEK_END));
	putchar('\n');
	return 0;
}
