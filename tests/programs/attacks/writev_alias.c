/* One buffer of argv[1] MiB named argv[2] times (at most IOV_MAX) by one writev (or
 * pwritev, with a third argument) to /f of the tree. The portable back end joined the
 * pieces into one host buffer first: 1,024 names of 1 MiB held 1 GiB of the host for
 * a cage of a few MiB, whatever the tree's capacity. Prints "wrote N errno E". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static struct iovec v[1024];

int main(int argc, char **argv)
{
	size_t each = (size_t)atol(argv[1]) << 20;
	int count = atoi(argv[2]);
	char *buf = malloc(each);
	memset(buf, 'x', each);
	for (int i = 0; i < count; i++) {
		v[i].iov_base = buf;
		v[i].iov_len = each;
	}
	int fd = open("/f", O_CREAT | O_WRONLY, 0644);
	errno = 0;
	ssize_t n = argc > 3 ? pwritev(fd, v, count, 4096) : writev(fd, v, count);
	printf("wrote %zd errno %d\n", n, errno);
	return 0;
}
