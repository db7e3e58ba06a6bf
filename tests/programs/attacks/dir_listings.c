/* Directory listings of a tree (portable back end, cooperative runtime): argv[1] hard
 * links of one file in /d, /d then opened argv[2] times, each fd read a little and kept
 * open (each once held a copy of the whole listing in the host: 200,000 names opened
 * 80 times took 1.7 GB). Then one getdents64 with a 16 MiB buffer (it was quadratic on
 * the cooperative runtime and unbounded), a full listing by 4 KiB reads, an lseek back
 * to a d_off, and a name added mid-listing. Prints "WHAT VALUE". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct rec {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static char big[16 << 20];
static char small[4096];

/* Records in one buffer of `n` bytes, the d_off of the one after `skip` records. */
static long count(const char *buf, long n, int skip, long long *off)
{
	long k = 0;
	for (long at = 0; at < n; k++) {
		const struct rec *r = (const struct rec *)(buf + at);
		if (k == skip)
			*off = r->off;
		at += r->reclen;
	}
	return k;
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	int k = atoi(argv[2]);
	char name[64];
	long long off = 0;
	mkdir("/d", 0755);
	close(open("/d/f", O_CREAT | O_WRONLY, 0644));
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof name, "/d/%ld", i);
		if (link("/d/f", name)) {
			printf("link_failed %d\n", errno);
			return 1;
		}
	}
	for (int j = 0; j < k; j++) {
		int fd = open("/d", O_RDONLY | O_DIRECTORY);
		if (fd < 0 || syscall(SYS_getdents64, fd, small, 64) <= 0) {
			printf("open_failed %d\n", errno);
			return 1;
		}
	}
	printf("opened %d\n", k);
	fflush(stdout);
	int fd = open("/d", O_RDONLY | O_DIRECTORY);
	long got = syscall(SYS_getdents64, fd, big, sizeof big);
	printf("one_call_bytes %ld\n", got);
	/* the whole listing, 4 KiB at a time, from the start */
	lseek(fd, 0, SEEK_SET);
	long total = 0, r, first = -1;
	long long resume = 0;
	while ((r = syscall(SYS_getdents64, fd, small, sizeof small)) > 0) {
		long here = count(small, r, first < 0 ? 5 : -1, &resume);
		if (first < 0) {
			first = here;
			close(open("/d/late", O_CREAT | O_WRONLY, 0644));   /* added mid-listing */
		}
		total += here;
	}
	printf("entries %ld\n", total);
	/* back to the d_off after the first buffer's sixth record: what follows it */
	lseek(fd, resume, SEEK_SET);
	long after = 0;
	while ((r = syscall(SYS_getdents64, fd, small, sizeof small)) > 0)
		after += count(small, r, -1, &off);
	printf("after_seek %ld\n", after);
	fflush(stdout);
	return 0;
}
