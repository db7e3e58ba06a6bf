/* Leaves a directory tree nested argv[1] levels deep in its root, a file at each level,
 * and at the bottom links to argv[2] (the canary's host path) and to its directory:
 * what removes the tree afterwards must neither recurse that deep nor follow a link.
 * Prints "made N" or "stopped at I ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 100;
	int levels = atoi(argv[1]);
	for (int i = 0; i < levels; i++) {
		int fd = open("file", O_CREAT | O_WRONLY, 0644);
		if (fd < 0 || close(fd) != 0 || mkdir("d", 0755) != 0 || chdir("d") != 0) {
			printf("stopped at %d %d\n", i, errno);
			return 1;
		}
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", argv[2]);
	if (symlink(argv[2], "to_canary") != 0 || symlink(dirname(dir), "to_its_directory") != 0) {
		printf("symlink %d\n", errno);
		return 1;
	}
	printf("made %d\n", levels);
	return 0;
}
