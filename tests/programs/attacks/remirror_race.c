/* setrlimit(RLIMIT_FSIZE) tells the trampoline again how to serve every open fd
 * (Cage.set_file_size_limit): it walked the fd table taking each file and then
 * mirroring it, without the table's lock, so a close in another thread between the two
 * left the closed number mirrored to the file's host fd -- which the host closed next
 * and gave to the next open in the Lind process (another tenant's, or Lind's own):
 * the cage then read and wrote that file through a number it had closed.
 * Here a thread sets RLIMIT_FSIZE over and over (its walk made long by fds past the
 * mirror) while the main thread fills fds 50..1023 with one file (open at other
 * numbers too), closes them all at once, opens another file and reads each closed
 * number. Prints "toggles=some stale=0", or first the closed number that read
 * something (its file's bytes, or the next open's). Argument: how long to try, in ms. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOW 50
#define MIRRORED 1024    /* _accel.c's FD_MIRROR: the numbers the trampoline serves */
#define HIGH 4000

static volatile int stop;
static long toggles;

static void *toggler(void *unused)
{
	for (unsigned n = 0; !stop; n++) {
		struct rlimit r = {n & 1 ? RLIM_INFINITY : (1u << 30), RLIM_INFINITY};
		if (setrlimit(RLIMIT_FSIZE, &r) == 0)
			toggles++;
	}
	return NULL;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	long end = now_ms() + (argc > 1 ? atol(argv[1]) : 5000);
	struct rlimit nofile = {4096, 4096};
	int mine = open("mine.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	int other = open("other.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (setrlimit(RLIMIT_NOFILE, &nofile) != 0 || mine < 0 || other < 0 ||
	    write(mine, "MINE", 4) != 4 || write(other, "OTHER", 5) != 5) {
		printf("setup %d\n", errno);
		return 1;
	}
	close(other);
	for (int i = MIRRORED; i < HIGH; i++)   /* a long walk for each setrlimit */
		if (dup2(mine, i) != i) {
			printf("dup2 %d\n", errno);
			return 1;
		}
	pthread_t t;
	pthread_create(&t, NULL, toggler, NULL);
	long stale = 0;
	char buf[16];
	while (!stale && now_ms() < end) {
		for (int i = LOW; i < MIRRORED; i++)
			dup2(mine, i);
		syscall(SYS_close_range, LOW, MIRRORED - 1, 0);
		usleep(5000);       /* the walk ends; a host fd it let go is free */
		int o = open("other.txt", O_RDONLY);
		for (int i = LOW; i < MIRRORED && !stale; i++) {
			ssize_t r = pread(i, buf, sizeof buf, 0);
			if (r > 0 || (r < 0 && errno != EBADF)) {
				stale = i;
				printf("closed fd %d read %zd %.*s\n", i, r, r > 0 ? (int)r : 0, buf);
			}
		}
		close(o);
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("toggles=%s stale=%ld\n", toggles ? "some" : "none", stale);
	return 0;
}
