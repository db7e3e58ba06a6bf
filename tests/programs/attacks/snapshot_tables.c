/* Names its own grate's snapshots (the copy a Python grate makes of a path it read,
 * with an id from 2^40 up, a child of this cage) where 3i wants a cage with a table:
 * while a second thread's open of a FIFO waits below the grate, it tries 64 ids from
 * argv[1] (where the process's snapshot ids are now) as the target of register_handler (to deregister), of copy_handler_table_to_cage
 * (both ways) and of make_threei_call. A snapshot has no table: each raised an
 * AttributeError in the host (an internal error ending the cage); ESRCH now.
 * Prints "WHAT 0" per kind of call when every id was ESRCH (else the errno, or -1000
 * for a call that passed), then "done". */
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void *open_fifo(void *arg)
{
	int fd = open("/fifo", O_RDONLY);
	char c;
	if (fd >= 0)
		read(fd, &c, 1);
	return arg;
}

int main(int argc, char **argv)
{
	if (mkfifo("/fifo", 0600) != 0)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, open_fifo, NULL);
	usleep(300000);              /* the open waits below the grate, its snapshot made */
	uint64_t me = getpid();
	uint64_t first = argc > 1 ? strtoull(argv[1], NULL, 10) : 1ULL << 40;
	int worst[4] = {0, 0, 0, 0};
	for (uint64_t id = first; id < first + 64; id++) {
		int r[4] = {
			register_handler(id, 83, THREEI_DEREGISTER, 0),
			copy_handler_table_to_cage(me, id),
			copy_handler_table_to_cage(id, me),
			make_threei_call(39, 0, me, id, 0, me, 0, me, 0, me, 0, me, 0, me, 0, me, 1),
		};
		for (int i = 0; i < 4; i++)
			if (r[i] >= 0 || errno != ESRCH)
				worst[i] = r[i] >= 0 ? -1000 : errno;
	}
	const char *names[4] = {"deregister", "copy_to", "copy_from", "call_for"};
	for (int i = 0; i < 4; i++)     /* 0: every id was ESRCH */
		printf("%s %d\n", names[i], worst[i]);
	int w = open("/fifo", O_WRONLY);
	write(w, "x", 1);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
