/* Names relative to a directory fd, as the C trampoline resolves them (against the
 * directory's guest path) and the microvisor beside it: fds from open(O_DIRECTORY),
 * from opendir after a listing, O_PATH, dup'ed, inherited by a fork's child, kept
 * across a chdir, a directory reached through a link, and the refusals (a file, a
 * closed fd, out of range), for stat, open, access, readlink, unlink, rmdir, rename. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CK(x) do { errno = 0; long r_ = (x); printf("%-66s -> %ld errno=%d\n", #x, r_ < 0 ? -1L : r_ > 0 ? 1L : 0L, r_ < 0 ? errno : 0); } while (0)

static long size_at(int dirfd, const char *name, int flags)
{
	struct stat st;
	return fstatat(dirfd, name, &st, flags) ? -1 : (long)st.st_size;
}

static long read_at(int dirfd, const char *name)
{
	char text[32] = {0};
	int fd = openat(dirfd, name, O_RDONLY);
	if (fd < 0)
		return -1;
	long n = read(fd, text, sizeof text - 1);
	close(fd);
	printf("  read %s: %s\n", name, text);
	return n;
}

static void make(const char *name, const char *text)
{
	int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, text, strlen(text));
	close(fd);
}

int main(void)
{
	mkdir("top", 0755);
	mkdir("top/sub", 0755);
	mkdir("other", 0755);
	make("top/a", "in top");
	make("top/sub/b", "in sub");
	make("other/a", "in other");
	symlink("a", "top/la");
	symlink("top/sub", "lsub");

	int top = open("top", O_RDONLY | O_DIRECTORY);
	int sub = openat(top, "sub", O_RDONLY | O_DIRECTORY);
	DIR *listed = opendir("top");
	while (readdir(listed) != NULL)
		;
	int listed_fd = dirfd(listed);
	int path_only = open("top/sub", O_PATH | O_DIRECTORY);
	int through_link = open("lsub", O_RDONLY | O_DIRECTORY);
	int file = open("top/a", O_RDONLY);

	CK(size_at(top, "a", 0));
	CK(size_at(top, "la", AT_SYMLINK_NOFOLLOW));
	CK(size_at(top, "sub/b", 0));
	CK(size_at(sub, "b", 0));
	CK(size_at(listed_fd, "a", 0));
	CK(size_at(path_only, "b", 0));
	CK(size_at(through_link, "b", 0));
	CK(size_at(top, "missing", 0));
	CK(size_at(file, "x", 0));
	CK(size_at(top, "a/x", 0));
	CK(read_at(top, "a"));
	CK(read_at(top, "la"));
	CK(read_at(sub, "b"));
	CK(read_at(listed_fd, "sub/b"));
	CK(faccessat(top, "a", R_OK | W_OK, 0));
	CK(faccessat(sub, "missing", F_OK, 0));
	char text[16] = {0};
	CK(readlinkat(top, "la", text, sizeof text));
	printf("  link text %s\n", text);
	CK(readlinkat(top, "a", text, sizeof text));

	int copy = dup(top);
	close(top);
	CK(size_at(top, "a", 0));
	CK(size_at(copy, "a", 0));
	CK(dup2(copy, 200));
	CK(size_at(200, "sub/b", 0));
	CK(size_at(-1, "a", 0));
	CK(size_at(5000, "a", 0));

	chdir("other");
	CK(size_at(copy, "a", 0));
	CK(read_at(copy, "a"));
	CK(read_at(AT_FDCWD, "a"));
	chdir("..");

	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		CK(size_at(copy, "sub/b", 0));
		CK(size_at(sub, "b", 0));
		fflush(stdout);
		_exit(0);
	}
	waitpid(child, NULL, 0);

	int made = openat(copy, "new", O_CREAT | O_WRONLY, 0644);
	CK(made);
	close(made);
	CK(renameat(copy, "new", sub, "moved"));
	CK(size_at(sub, "moved", 0));
	CK(unlinkat(sub, "moved", 0));
	CK(unlinkat(sub, "moved", 0));
	CK(mkdirat(copy, "d", 0755));
	CK(unlinkat(copy, "d", AT_REMOVEDIR));
	CK(unlinkat(file, "a", 0));
	CK(renameat(file, "a", copy, "b"));
	CK(renameat(copy, "a", 77, "b"));
	closedir(listed);
	CK(size_at(listed_fd, "a", 0));
	return 0;
}
