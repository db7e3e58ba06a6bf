/* Names that cost the host more than the tree charged for them: directories until
 * mkdir fails (ENOSPC), in each argv[1] files of 255-byte names made and removed. A
 * directory's listing kept 64 removed names (~20 KB) and its dict the room of every
 * name it ever held, charged nothing; a directory itself cost ~1.1 KB, charged 256.
 * Prints "dirs N errno E". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int churn = atoi(argv[1]);
	char path[600], name[256];
	long dirs = 0;
	memset(name, 'x', 255);
	name[255] = 0;
	for (;; dirs++) {
		snprintf(path, sizeof path, "/d%07ld", dirs);
		if (mkdir(path, 0755))
			break;
		for (int j = 0; j < churn; j++) {
			snprintf(path, sizeof path, "/d%07ld/%03d%s", dirs, j, name + 3);
			int fd = open(path, O_CREAT | O_WRONLY, 0644);
			if (fd < 0)
				break;
			close(fd);
			unlink(path);
		}
	}
	printf("dirs %ld errno %d\n", dirs, errno);
	return 0;
}
