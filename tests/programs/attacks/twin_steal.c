/* A pipe read that must wait is one blocking readv of the pipe's blocking twin, which
 * the trampoline looks up for the host fd the read holds (_accel.c, "blocking reads").
 * It was looked up by the description id read beside that fd: a close in another
 * thread frees the id, another tenant's new pipe takes it, and the read took that
 * pipe's twin and returned its bytes.
 * "victim MS": for MS milliseconds, makes pipes, writes SECRET into each, reads it
 * back; prints "intact" (or "CORRUPTED" if a pipe gave back anything else).
 * "attacker MS": one thread reads fd 3 again and again while another closes fds 3 and
 * 4 and makes a new pipe there, "mine" in it; prints "reads=some|none stolen=N". */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile int stop;
static long reads, stolen;

static void *reader(void *unused)
{
	char buf[64];
	while (!stop) {
		ssize_t r = read(3, buf, sizeof buf);
		if (r > 0)
			reads++;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != 'm' && buf[i] != 'i' && buf[i] != 'n' && buf[i] != 'e')
				stolen++;
	}
	return NULL;
}

static int victim(long end)
{
	char buf[16];
	do {
		int p[2];
		if (pipe(p) != 0) {
			printf("pipe %d\n", errno);
			return 1;
		}
		if (write(p[1], "SECRETSECRET", 12) != 12 || read(p[0], buf, 12) != 12 ||
		    memcmp(buf, "SECRETSECRET", 12) != 0) {
			printf("CORRUPTED\n");
			return 1;
		}
		close(p[0]);
		close(p[1]);
	} while (now_ms() < end);
	printf("intact\n");
	return 0;
}

int main(int argc, char **argv)
{
	long end = now_ms() + (argc > 2 ? atol(argv[2]) : 1500);
	if (argc > 1 && strcmp(argv[1], "victim") == 0)
		return victim(end);
	int p[2];
	if (pipe(p) != 0 || p[0] != 3 || p[1] != 4) {
		printf("pipe not at 3 and 4\n");
		return 1;
	}
	write(4, "mine", 4);
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	unsigned n = 0;
	while (now_ms() < end) {
		close(3);
		close(4);
		if (pipe(p) != 0 || p[0] != 3 || p[1] != 4) {
			printf("pipe not at 3 and 4\n");
			return 1;
		}
		write(4, "minemine", 8);
		if (++n % 64 == 0)
			sched_yield();
	}
	stop = 1;
	close(4);            /* a read waiting on the last pipe sees its end */
	pthread_join(t, NULL);
	printf("reads=%s stolen=%ld\n", reads ? "some" : "none", stolen);
	return 0;
}
