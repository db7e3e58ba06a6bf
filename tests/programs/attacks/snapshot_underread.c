/* Reads the host's memory around a snapshot: under a Python grate that reads paths
 * (readonly), one thread's open of a FIFO waits below the grate with the grate's copy
 * of the name (a snapshot: an id of the process's, from 2^40 up, a child of this
 * cage, its "memory" just the name's bytes at the name's address). The other thread
 * finds it and asks for strings starting before and after those bytes: the host
 * heap around the copy. argv[1]: the first snapshot id to try. Prints "found", then
 * "WHAT RESULT ERRNO" per read. */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char fifo[] = "/fifo-underread";

static void *opener(void *unused)
{
	(void)unused;
	int fd = open(fifo, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	/* where the process's snapshot ids are now (argv[1]), else where they begin */
	uint64_t first = argc > 1 ? strtoull(argv[1], NULL, 10) : 1ULL << 40;
	uint64_t me = getpid(), origin = (uint64_t)(uintptr_t)fifo, snapshot = 0;
	if (mkfifo(fifo, 0600) != 0) {
		perror("mkfifo");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, opener, NULL);
	for (int round = 0; round < 500 && !snapshot; round++) {
		for (uint64_t id = first; id < first + 64 && !snapshot; id++)
			if (copy_data_between_cages(me, id, origin, id, (uint64_t)(uintptr_t)buf, me,
			                            sizeof fifo, COPY_RAW) >= 0)
				snapshot = id;
		if (!snapshot) {
			struct timespec pause = {0, 2000000};
			nanosleep(&pause, NULL);
		}
	}
	printf("found %d\n", snapshot != 0);
	struct { const char *what; uint64_t at, len; int type; } reads[] = {
		{"string-before", origin - 256, sizeof buf, COPY_STRING},
		{"string-just-before", origin - 1, sizeof buf, COPY_STRING},
		{"raw-before", origin - 64, 64 + sizeof fifo, COPY_RAW},
		{"string-after", origin + sizeof fifo, sizeof buf, COPY_STRING},
		{"raw-after", origin, sizeof fifo + 64, COPY_RAW},
	};
	for (unsigned i = 0; snapshot && i < sizeof reads / sizeof reads[0]; i++) {
		errno = 0;
		int r = copy_data_between_cages(me, snapshot, reads[i].at, snapshot,
		                                (uint64_t)(uintptr_t)buf, me, reads[i].len,
		                                reads[i].type);
		printf("%s %d %d\n", reads[i].what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
	}
	int w = open(fifo, O_WRONLY | O_NONBLOCK);    /* lets the opener go */
	if (w >= 0)
		close(w);
	pthread_join(t, NULL);
	printf("done\n");
	return 0;
}
