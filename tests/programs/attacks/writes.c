/* Tries every kind of change in each directory named in argv: append to file.txt,
 * empty it by open(O_RDONLY | O_TRUNC), create, mkdir, chmod, truncate, rename, unlink. Prints "DIR OP RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *dir, const char *op, int r)
{
	printf("%s %s %d %d\n", dir, op, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	char a[512], b[512];
	for (int i = 1; i < argc; i++) {
		const char *d = argv[i];
		snprintf(a, sizeof a, "%s/file.txt", d);
		int fd = open(a, O_WRONLY | O_APPEND);
		if (fd >= 0) {
			int n = write(fd, "X", 1);
			report(d, "append", n == 1 ? 0 : -1);
			close(fd);
		} else {
			report(d, "append", -1);
		}
		fd = open(a, O_RDONLY | O_TRUNC);
		report(d, "otrunc", fd);
		if (fd >= 0)
			close(fd);
		snprintf(b, sizeof b, "%s/new.txt", d);
		fd = open(b, O_CREAT | O_WRONLY, 0644);
		report(d, "create", fd);
		if (fd >= 0)
			close(fd);
		snprintf(b, sizeof b, "%s/newdir", d);
		report(d, "mkdir", mkdir(b, 0755));
		report(d, "chmod", chmod(a, 0777));
		report(d, "truncate", truncate(a, 0));
		snprintf(b, sizeof b, "%s/moved.txt", d);
		int moved = rename(a, b);
		report(d, "rename", moved);
		report(d, "unlink", unlink(moved == 0 ? b : a));
	}
	return 0;
}
