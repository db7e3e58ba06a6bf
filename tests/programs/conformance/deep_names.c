/* Relative names in a working directory 16 names of 250 bytes deep (4,016 bytes):
 * whole paths that fold to 4,094, 4,095 and 4,096 bytes, the edge of the buffer of
 * Lind's C open path (which leaves longer ones to the microvisor; a C mutant that
 * opened the root there instead passed every other test). Each file is made, opened
 * again and read; a name that does not exist is ENOENT. (Past 4,096 bytes Lind says
 * ENAMETOOLONG where Linux walks on from the working directory: README, "What
 * differs".) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int len, long r)
{
	if (r < 0)
		printf("%s %d: errno %d\n", what, len, errno);
	else
		printf("%s %d: %ld\n", what, len, r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char dir[251];
	memset(dir, 'd', 250);
	dir[250] = 0;
	for (int depth = 0; depth < 16; depth++)
		if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || chdir(dir) != 0) {
			printf("depth %d: errno %d\n", depth, errno);
			return 1;
		}
	static const int lengths[] = {77, 78, 79};
	for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
		int len = lengths[i];
		char name[256], buf[64] = {0};
		memset(name, 'f', (size_t)len);
		name[len] = 0;
		int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		show("create", len, fd);
		dprintf(fd, "file of %d\n", len);
		close(fd);
		fd = open(name, O_RDONLY);
		show("open", len, fd);
		show("read", len, read(fd, buf, sizeof buf - 1));
		printf("%s", buf);
		close(fd);
		struct stat st;
		show("stat", len, stat(name, &st));
		name[len - 1] = 'x';
		show("open missing", len, open(name, O_RDONLY));
		show("stat missing", len, stat(name, &st));
	}
	return 0;
}
