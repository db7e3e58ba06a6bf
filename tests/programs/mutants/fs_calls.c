/* File-system calls at the edges of mounts, run with (see tests/test_mutants_fs.py):
 *   /ro   a read-only mount, holding file.txt, sub/ and sub/inner.txt
 *   /up   a writable mount of the directory above it (so /up/ro is /ro's directory,
 *         and /up/ro2 a sibling whose name starts the same)
 *   /     the writable root, with rox/ (a name starting like /ro), file.txt, dir/,
 *         link -> file.txt and fifo (a named pipe nobody else opens)
 * One line per step: "what result errno" (result 0 or -1; errno 0 on success). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, int r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

/* open, and close what opened: the result of the open. */
static void try_open(const char *what, const char *path, int flags)
{
	int fd = open(path, flags, 0600);
	report(what, fd);
	if (fd >= 0)
		close(fd);
}

static void show(const char *what, const char *path)
{
	char buf[64] = {0};
	int fd = open(path, O_RDONLY);
	int n = fd < 0 ? -1 : (int)read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	printf("%s %s\n", what, n < 0 ? "-" : buf);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	try_open("ro-read", "/ro/file.txt", O_RDONLY);
	try_open("ro-write", "/ro/file.txt", O_WRONLY);
	try_open("ro-rdwr", "/ro/file.txt", O_RDWR);
	try_open("ro-trunc", "/ro/file.txt", O_RDONLY | O_TRUNC);
	try_open("ro-append", "/ro/file.txt", O_WRONLY | O_APPEND);
	try_open("ro-create", "/ro/new.txt", O_WRONLY | O_CREAT);
	try_open("ro-dotdot", "/../..//ro/./sub/../file.txt", O_WRONLY);
	try_open("ro-via-up", "/up/ro/file.txt", O_WRONLY);
	try_open("ro-via-up-trunc", "/up/ro/sub/inner.txt", O_RDONLY | O_TRUNC);
	try_open("ro-via-up-create", "/up/ro/new.txt", O_WRONLY | O_CREAT);
	report("ro-via-up-mkdir", mkdir("/up/ro/newdir", 0700));
	try_open("ro-via-up-read", "/up/ro/file.txt", O_RDONLY);
	try_open("ro-via-up-write-missing", "/up/ro/none.txt", O_WRONLY);
	try_open("fifo-write-nonblock", "/fifo", O_WRONLY | O_NONBLOCK);
	try_open("fifo-read-nonblock", "/fifo", O_RDONLY | O_NONBLOCK);
	try_open("ro2-write", "/up/ro2/file.txt", O_WRONLY | O_TRUNC);
	try_open("ro2-create", "/up/ro2/made.txt", O_WRONLY | O_CREAT | O_EXCL);
	try_open("rox-create", "/rox/made.txt", O_WRONLY | O_CREAT);
	try_open("rw-trunc", "/file.txt", O_WRONLY | O_TRUNC);
	try_open("rw-excl-existing", "/file.txt", O_WRONLY | O_CREAT | O_EXCL);
	try_open("rw-creat-existing", "/file.txt", O_RDONLY | O_CREAT);
	try_open("rw-nofollow-link", "/link", O_WRONLY | O_NOFOLLOW);
	try_open("rw-nofollow-file", "/file.txt", O_WRONLY | O_NOFOLLOW);
	try_open("rw-excl-without-creat", "/file.txt", O_WRONLY | O_EXCL);
	try_open("rw-follow-link", "/link", O_WRONLY | O_APPEND);
	try_open("rw-dir-for-write", "/dir", O_WRONLY);
	try_open("rw-directory-on-file", "/file.txt", O_RDONLY | O_DIRECTORY);
	try_open("rw-create-in-missing", "/missing/new.txt", O_WRONLY | O_CREAT);
	try_open("rw-create", "/dir/made.txt", O_WRONLY | O_CREAT | O_EXCL);
	report("rmdir-mount-point", rmdir("/ro"));
	report("rename-mount-point", rename("/ro", "/dir/moved"));
	report("rename-onto-mount-point", rename("/dir", "/ro"));
	report("chdir-ro-sub", chdir("/ro/sub"));
	try_open("relative-ro-write", "../file.txt", O_WRONLY);
	try_open("relative-read", "inner.txt", O_RDONLY);
	report("chdir-dir", chdir("/dir"));
	try_open("relative-rw-create", "../rox/rel.txt", O_WRONLY | O_CREAT);
	show("show-root-up", "/../up/ro/file.txt");
	show("show-rel-to-ro", "../ro/sub/inner.txt");
	return 0;
}
