/* fallocate's modes besides 0: FALLOC_FL_KEEP_SIZE preallocating past the end without
 * growing the file, FALLOC_FL_PUNCH_HOLE turning written bytes back into a hole that
 * reads as zeros, FALLOC_FL_ZERO_RANGE, and what Linux refuses (PUNCH_HOLE without
 * KEEP_SIZE, unknown bits). A cage answered EOPNOTSUPP to every mode but 0. The same
 * on a memfd. What the file system under the test does not support is the host
 * kernel's answer either way. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FALLOC_FL_PUNCH_HOLE     /* musl's fcntl.h has FALLOC_FL_KEEP_SIZE alone */
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

static void try(const char *what, int fd, int mode, off_t offset, off_t length)
{
	errno = 0;
	int r = fallocate(fd, mode, offset, length);
	struct stat st;
	fstat(fd, &st);
	printf("%-28s -> %d errno=%d size=%lld\n", what, r, r ? errno : 0, (long long)st.st_size);
}

static void show(const char *what, int fd, off_t at, int n)
{
	char buf[16];
	int got = (int)pread(fd, buf, n, at);
	printf("  %s at %lld:", what, (long long)at);
	for (int i = 0; i < got; i++)
		printf(" %02x", (unsigned char)buf[i]);
	printf("\n");
}

static void modes(int fd)
{
	char page[8192];
	memset(page, 'A', sizeof page);
	pwrite(fd, page, sizeof page, 0);
	try("keep size past the end", fd, FALLOC_FL_KEEP_SIZE, 8192, 65536);
	try("punch a hole", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	show("punched", fd, 4094, 4);
	try("punch part of a page", fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5000, 10);
	show("partly punched", fd, 4998, 4);
	show("partly punched", fd, 5008, 4);
	try("punch without keep size", fd, FALLOC_FL_PUNCH_HOLE, 0, 4096);
	try("unknown mode bit", fd, 0x100, 0, 4096);
	try("no hide stale", fd, 0x4, 0, 4096);
	try("zero range", fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 6000, 100);
	try("grow by mode 0", fd, 0, 0, 20000);
	try("zero length", fd, FALLOC_FL_KEEP_SIZE, 0, 0);
	try("negative offset", fd, FALLOC_FL_KEEP_SIZE, -1, 10);
}

int main(void)
{
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	printf("file\n");
	modes(fd);
	close(fd);
	fd = open("f", O_RDONLY);
	try("read-only fd", fd, FALLOC_FL_KEEP_SIZE, 0, 10);
	close(fd);
	fd = memfd_create("m", 0);
	printf("memfd\n");
	modes(fd);
	close(fd);
	return 0;
}
