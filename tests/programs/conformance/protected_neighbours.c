/* System calls given buffers of ordinary pages while pages beside them are
 * PROT_NONE or PROT_READ: each answers as it would with no protection at all (a
 * check that looked at the neighbours, or refused every write once any page is
 * protected, would make them EFAULT). Buffers and strings end exactly where a
 * protected page begins; a name that runs into a PROT_NONE page is EFAULT, an empty
 * one ENOENT. Prints each result (a count, ok, or the errno number). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define P 4096

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: errno %d\n", what, errno);
	else
		printf("%s: %ld\n", what, r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int fd = open("neighbours.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(fd, "0123456789abcdef", 16);
	/* pages: 0 read-write, 1 none, 2 read-write, 3 read-only */
	char *m = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *before_none = m + P, *before_ro = m + 3 * P;
	strcpy(before_ro - sizeof "neighbours.txt", "neighbours.txt");     /* NUL: last byte */
	strcpy(before_none - sizeof "neighbours.txt", "neighbours.txt");
	memcpy(before_ro, "read-only bytes\n", 16);
	show("mprotect none", mprotect(m + P, P, PROT_NONE));
	show("mprotect read-only", mprotect(m + 3 * P, P, PROT_READ));
	show("mprotect of no bytes", mprotect(m + 2 * P, 0, PROT_READ));

	show("stat of a name ending where PROT_NONE begins",
	     stat(before_none - sizeof "neighbours.txt", (struct stat *)(m + 2 * P)));
	int again = open(before_ro - sizeof "neighbours.txt", O_RDONLY);
	show("open of a name ending where PROT_READ begins", again);
	close(again);
	again = open(before_none - sizeof "neighbours.txt", O_RDONLY);
	show("open of a name ending where PROT_NONE begins", again);
	close(again);
	show("open of an empty name", open("", O_RDONLY));
	memcpy(before_none - 14, "neighbours.txt", 14);     /* no NUL before the page */
	show("open of a name running into PROT_NONE", open(before_none - 14, O_RDONLY));
	show("stat of a name running into PROT_NONE",
	     stat(before_none - 14, (struct stat *)(m + 2 * P)));
	show("pread ending where PROT_NONE begins", pread(fd, before_none - 16, 16, 0));
	show("pread ending where PROT_READ begins", pread(fd, before_ro - 16, 16, 0));
	lseek(fd, 0, SEEK_SET);
	show("read into page 0", read(fd, m, 8));
	show("read into page 2", read(fd, m + 2 * P, 8));
	show("read of no bytes into page 2", read(fd, m + 2 * P, 0));
	show("write from the read-only page", pwrite(fd, before_ro, 16, 16));
	struct iovec *iov = (struct iovec *)(m + 2 * P);
	iov[0] = (struct iovec){m, 4};
	iov[1] = (struct iovec){before_ro - 64, 4};
	show("preadv into both read-write pages", preadv(fd, iov, 2, 0));
	show("fstat into the last bytes before PROT_NONE",
	     fstat(fd, (struct stat *)(before_none - sizeof(struct stat))));
	show("clock_gettime into page 2",
	     clock_gettime(CLOCK_MONOTONIC, (struct timespec *)(m + 2 * P + 512)));
	show("getrandom into page 0", getrandom(m + 256, 32, 0));
	show("pipe into the last bytes before PROT_READ", pipe((int *)(before_ro - 8)));
	char back[40] = {0};
	show("the file now", pread(fd, back, 32, 0));
	printf("%s\n", back);
	printf("%.4s %.4s\n", m, before_ro - 64);
	close(fd);
	unlink("neighbours.txt");
	return 0;
}
