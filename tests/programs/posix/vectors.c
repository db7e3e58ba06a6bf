/* readv and writev (what stdio's reads and writes are) on files and pipes, and a large
 * blocking write into a pipe: each result printed as a number or errno, so the output in
 * a cage equals the output natively (run in an empty directory). Counts of buffers on
 * both sides of 64, where the trampoline hands the call to the microvisor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)0xfffffff0)

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s = -1 errno %d\n", what, errno);
	else
		printf("%s = %ld\n", what, r);
	fflush(stdout);
}

static char big[3 << 20];

/* A child that reads the pipe to its end and says how much came and its sum. */
static pid_t drain(int p[2])
{
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		static char in[65536 + 13];
		unsigned long got = 0;
		uint32_t sum = 0;   /* the same width natively and in wasm32 */
		ssize_t r;
		while ((r = read(p[0], in, sizeof in)) > 0) {
			got += r;
			for (ssize_t i = 0; i < r; i++)
				sum = sum * 31 + (unsigned char)in[i];
		}
		char line[80];
		int n = snprintf(line, sizeof line, "  child got %lu, sum %u\n", got, sum);
		write(1, line, n);
		_exit(0);
	}
	close(p[0]);
	return pid;
}

static struct iovec bufs[1025];
static struct iovec *many_bufs(void) { return bufs; }

static volatile int pipes_broken;
static void on_pipe(int sig) { pipes_broken++; }

int main(void)
{
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + i / 4093);

	/* a blocking write of 3 MiB into a pipe, before the cage waited for anything: all
	 * of it, as Linux (the trampoline once returned the first pipe-full) */
	int p[2];
	pipe(p);
	pid_t child = drain(p);
	long wrote = write(p[1], big, sizeof big);
	close(p[1]);
	waitpid(child, NULL, 0);
	show("write pipe 3 MiB", wrote);

	/* a file: three buffers out (one empty), two in */
	int fd = open("v.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iovec out[3] = {{"hello ", 6}, {"", 0}, {"vectored world\n", 15}};
	show("writev file", writev(fd, out, 3));
	lseek(fd, 0, SEEK_SET);
	char a[4], b[100] = {0};
	struct iovec in[2] = {{a, sizeof a}, {b, sizeof b}};
	show("readv file", readv(fd, in, 2));
	printf("  [%.4s] [%s]", a, b);
	show("readv at the end", readv(fd, in, 2));
	show("writev no buffers", writev(fd, out, 0));
	show("readv no buffers", readv(fd, in, 0));
	show("writev no buffers, array unmapped", writev(fd, BAD, 0));
	volatile int minus_one = -1, too_many = 1025;   /* (gcc warns of constants) */
	show("writev count -1", writev(fd, out, minus_one));
	show("writev count 1025", writev(fd, many_bufs(), too_many));
	show("readv count 1025", readv(fd, many_bufs(), too_many));
	show("writev iov unmapped", writev(fd, BAD, 1));
	show("readv iov unmapped", readv(fd, BAD, 2));
	struct iovec bad_first[2] = {{BAD, 4}, {"x", 1}};
	show("writev first buffer unmapped", writev(fd, bad_first, 2));
	show("size after", lseek(fd, 0, SEEK_END));

	/* 64 and 65 buffers, 1024 */
	static struct iovec many[1024];
	for (int i = 0; i < 1024; i++) {
		many[i].iov_base = big + i * 3;
		many[i].iov_len = 3;
	}
	lseek(fd, 0, SEEK_SET);
	show("writev 64 buffers", writev(fd, many, 64));
	show("writev 65 buffers", writev(fd, many, 65));
	show("writev 1024 buffers", writev(fd, many, 1024));
	lseek(fd, 0, SEEK_SET);
	char back[3 * 1024];
	struct iovec one = {back, sizeof back};
	show("read back", readv(fd, &one, 1));
	printf("  64 as written: %d, 65 as written: %d, 1024 as written: %d\n",
	       !memcmp(back, big, 192), !memcmp(back + 192, big, 195),
	       !memcmp(back + 387, big, 3 * 1024 - 387));
	for (int i = 0; i < 65; i++)
		many[i].iov_base = back + 16 * i;  /* 65 slices of what is there, read in */
	lseek(fd, 0, SEEK_SET);
	show("readv 65 buffers", readv(fd, many, 65));
	close(fd);

	int ro = open("v.txt", O_RDONLY), wo = open("v.txt", O_WRONLY);
	show("writev read-only fd", writev(ro, out, 3));
	show("readv write-only fd", readv(wo, in, 2));
	show("writev closed fd", writev(99, out, 3));
	close(ro);
	close(wo);

	/* a pipe: all of a blocking writev arrives, in order */
	pipe(p);
	child = drain(p);
	struct iovec parts[3] = {{big, 1 << 20}, {big + 5, 7}, {big + 100, (2 << 20) - 100}};
	wrote = writev(p[1], parts, 3);
	close(p[1]);
	waitpid(child, NULL, 0);
	show("writev pipe 3 MiB", wrote);

	/* readv from a pipe takes what is there */
	pipe(p);
	write(p[1], "0123456789", 10);
	char c1[3], c2[20] = {0};
	struct iovec split[2] = {{c1, 3}, {c2, sizeof c2}};
	show("readv pipe", readv(p[0], split, 2));
	printf("  [%.3s] [%s]\n", c1, c2);

	/* non-blocking: one pipe-full, then EAGAIN */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	struct iovec two[2] = {{big, 65536}, {big, 65536}};
	show("writev nonblocking pipe", writev(p[1], two, 2));
	show("writev full pipe", writev(p[1], two, 2));

	/* no reader: EPIPE, and SIGPIPE to a handler */
	close(p[0]);
	signal(SIGPIPE, on_pipe);
	show("writev broken pipe", writev(p[1], out, 3));
	printf("  SIGPIPE handled %d\n", pipes_broken);
	signal(SIGPIPE, SIG_IGN);
	show("writev broken pipe, ignored", writev(p[1], out, 3));
	return 0;
}
