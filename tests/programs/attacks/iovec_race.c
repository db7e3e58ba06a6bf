/* The trampoline serves readv and writev itself (_accel.c, fast_iov): it reads the
 * iovec array out of the cage's memory, checks every buffer, and hands the buffers to
 * the host kernel. Here a thread rewrites the array all the time -- each buffer's
 * address between one inside the memory and one past its end, its length between 8
 * and 2 GiB -- while the main thread writes from it and reads into it. A buffer
 * checked and then used as something else would let the kernel read host memory into
 * the file, or write the file's bytes over host memory beside the cage's.
 * Prints "writev ok=N efault=N other=N", "readv ...", and "file clean" or "file
 * DIRTY at OFFSET". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define ROUNDS 100000
#define OUTSIDE ((void *)(uintptr_t)0xffff0000u)   /* past any cage memory but 4 GiB */

static char good[8] = "GOODGOOD";
static char landing[8];
static struct iovec iov[2];
static volatile int stop;

static void *flipper(void *arg)
{
	volatile struct iovec *v = iov;    /* every store made, in this order */
	unsigned n = 0;
	while (!stop) {
		n++;
		v[0].iov_base = n & 1 ? OUTSIDE : (void *)arg;
		v[0].iov_len = n & 2 ? 0x7ffffff0u : 8;
		v[1].iov_base = n & 4 ? OUTSIDE : (void *)arg;
	}
	return NULL;
}

static void tally(const char *what, long (*call)(int), int fd)
{
	long ok = 0, efault = 0, other = 0;
	for (int i = 0; i < ROUNDS; i++) {
		/* On one CPU the flipper runs only when this thread gives way: without that,
		 * a few time slices saw a few frozen arrays, all bad half the time. */
		if (i % 256 == 255)
			sched_yield();
		long r = call(fd);
		if (r >= 0)
			ok++;
		else if (errno == EFAULT)
			efault++;
		else
			other++;
	}
	printf("%s ok=%s efault=%s other=%ld\n", what, ok ? "some" : "none",
	       efault ? "some" : "none", other);
}

static long write_it(int fd) { return writev(fd, iov, 2); }
static long read_it(int fd) { lseek(fd, 0, SEEK_SET); return readv(fd, iov, 2); }

int main(void)
{
	int fd = open("race.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	iov[0] = (struct iovec){good, 8};
	iov[1] = (struct iovec){good, 8};
	pthread_t t;
	pthread_create(&t, NULL, flipper, good);
	tally("writev", write_it, fd);
	stop = 1;
	pthread_join(t, NULL);

	/* every byte written came from `good` */
	off_t size = lseek(fd, 0, SEEK_END);
	char buf[4096];
	off_t at = 0;
	int clean = 1;
	lseek(fd, 0, SEEK_SET);
	for (ssize_t n; clean && (n = read(fd, buf, sizeof buf)) > 0; at += n)
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != good[(at + i) % 8]) {
				printf("file DIRTY at %lld\n", (long long)(at + i));
				clean = 0;
				break;
			}
	if (clean)
		printf("file clean (%s)\n", size > 0 && size % 8 == 0 ? "whole buffers" : "torn");

	/* reads land in `landing` or nowhere */
	stop = 0;
	iov[0] = (struct iovec){landing, 8};
	iov[1] = (struct iovec){landing, 8};
	pthread_create(&t, NULL, flipper, landing);
	tally("readv", read_it, fd);
	stop = 1;
	pthread_join(t, NULL);
	printf("landing %s\n", memcmp(landing, good, 8) == 0 ? "ok" : "empty");
	return 0;
}
