/* memfds are host RAM outside the cage's memory: each way of growing one must stop at
 * the tree's memory budget (run under --memory 64M) with ENOSPC, and what a closed one
 * held must be given back. Prints "<how> <result> <errno>" lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "passing.h"

#define MiB (1 << 20)

static void outcome(const char *how, long r)
{
	printf("%s %ld %d\n", how, r < 0 ? -1 : r, r < 0 ? errno : 0);
	fflush(stdout);
}

int main(void)
{
	static char chunk[MiB];
	memset(chunk, 'x', sizeof chunk);
	int a = memfd_create("hog", 0);
	outcome("fallocate-256M", fallocate(a, 0, 0, 256L * MiB));
	/* pages past the end, the size kept: host RAM all the same */
	outcome("keep-size-256M", fallocate(a, FALLOC_FL_KEEP_SIZE, 0, 256L * MiB));
	outcome("ftruncate-256M", ftruncate(a, 256L * MiB));
	outcome("pwrite-at-200M", pwrite(a, chunk, 4096, 200L * MiB));
	long written = 0;
	for (;;) {                  /* at most 256 MiB, should nothing stop it */
		ssize_t n = written < 256L * MiB ? write(a, chunk, sizeof chunk) : 0;
		if (n <= 0) {
			outcome("write-until-full", n);
			break;
		}
		written += n;
	}
	printf("written under 64M %d\n", written < 64L * MiB && written >= 8L * MiB);

	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", a);
	int again = open(path, O_RDWR);     /* a description of its own, at the end */
	outcome("reopened-write", again < 0 || lseek(again, 0, SEEK_END) < 0 ? -1
	                                    : write(again, chunk, sizeof chunk));
	int pair[2];                          /* passed through SCM_RIGHTS: received anew */
	socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
	send_fd(pair[0], a, 0);
	int received = recv_fd(pair[1]);
	outcome("received-pwrite-past-end", pwrite(received, chunk, sizeof chunk, written));
	close(received);
	int b = memfd_create("second", 0);
	outcome("second-fallocate", fallocate(b, 0, 0, 16L * MiB));
	int file = open("chunk", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(file, chunk, sizeof chunk);
	off_t at = 0;
	lseek(b, 100L * MiB, SEEK_SET);      /* past the budget: the first byte is refused */
	outcome("sendfile-in", sendfile(b, file, &at, sizeof chunk));
	loff_t from = 0, to = 100L * MiB;
	outcome("copy_file_range-in", copy_file_range(file, &from, b, &to, sizeof chunk, 0));
	int p[2];
	pipe(p);
	write(p[1], chunk, 4096);
	outcome("splice-in", splice(p[0], NULL, b, NULL, 4096, SPLICE_F_NONBLOCK));

	close(again);
	close(a);
	close(b);
	int c = memfd_create("after", 0);
	outcome("after-close-fallocate-8M", fallocate(c, 0, 0, 8L * MiB));
	void *m = mmap(0, 8L * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, c, 0);
	outcome("mapped", m == MAP_FAILED ? -1 : 0);
	return 0;
}
