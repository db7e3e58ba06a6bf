/* A file under a path a grate keeps read-only, opened for reading (which the grate
 * allows) and passed to the cage itself through SCM_RIGHTS: the fd received had no
 * path, so a grate that judges an fd by the path it was opened as let fchmod and
 * futimens through to the file. argv[1]: the file, argv[2]: its directory, argv[3]:
 * the file's name there. Prints "WHAT RESULT ERRNO" for each change tried on the
 * received fds, then "relative RESULT ERRNO" for an openat of argv[3] relative to the
 * received directory fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "passing.h"

static void report(const char *what, int result)
{
	printf("%s %d %d\n", what, result, result < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 1;
	int file = open(argv[1], O_RDONLY), dir = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (file < 0 || dir < 0 || send_fd(sv[0], file, 0) || send_fd(sv[0], dir, 0))
		return 1;
	close(file);
	close(dir);
	int got = recv_fd(sv[1]), got_dir = recv_fd(sv[1]);
	report("fchmod", fchmod(got, 0777));
	struct timespec times[2] = {{0, 0}, {0, 0}};
	report("futimens", futimens(got, times));
	report("fchmod_dir", fchmod(got_dir, 0777));
	int inside = openat(got_dir, argv[3], O_RDONLY);
	report("relative", inside < 0 ? -1 : 0);
	return 0;
}
