/* Tries every kind of change in each directory named in argv: append to file.txt,
 * empty it by open(O_RDONLY | O_TRUNC), create, mkdir, make a FIFO, a socket node, a
 * hard link and a symlink (each removed again when made), chmod, chown (to its owner,
 * and to -1, -1), set times, ask whether it may write (access W_OK), the chmod, chown
 * and times through a read-only fd, truncate, rename, unlink. Prints "DIR OP RESULT
 * ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* `made` is the result of making `path`: removed again if it was made. */
static int made_then_removed(int made, const char *path)
{
	if (made == 0)
		unlink(path);
	return made;
}

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
		snprintf(b, sizeof b, "%s/fifo", d);
		report(d, "mkfifo", made_then_removed(mkfifo(b, 0644), b));
		snprintf(b, sizeof b, "%s/sock", d);
		report(d, "mknod", made_then_removed(mknod(b, S_IFSOCK | 0644, 0), b));
		snprintf(b, sizeof b, "%s/link.txt", d);
		report(d, "link", made_then_removed(link(a, b), b));
		snprintf(b, sizeof b, "%s/sym", d);
		report(d, "symlink", made_then_removed(symlink("file.txt", b), b));
		report(d, "chmod", chmod(a, 0777));
		report(d, "chown", chown(a, getuid(), getgid()));
		report(d, "chown-1", chown(a, (uid_t)-1, (gid_t)-1));
		report(d, "utimes", utimes(a, NULL));
		report(d, "access_w", access(a, W_OK));
		fd = open(a, O_RDONLY);
		report(d, "fchmod", fd < 0 ? fd : fchmod(fd, 0600));
		report(d, "fchown", fd < 0 ? fd : fchown(fd, getuid(), (gid_t)-1));
		report(d, "futimens", fd < 0 ? fd : futimens(fd, NULL));
		if (fd >= 0)
			close(fd);
		report(d, "truncate", truncate(a, 0));
		snprintf(b, sizeof b, "%s/moved.txt", d);
		int moved = rename(a, b);
		report(d, "rename", moved);
		report(d, "unlink", unlink(moved == 0 ? b : a));
	}
	return 0;
}
