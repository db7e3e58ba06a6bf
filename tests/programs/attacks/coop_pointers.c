/* What the cooperative runtime let through that the other back ends refuse:
 *   pointers: read into (void *)4, write from NULL, stat of (char *)1 (its null page:
 *     EFAULT, as on the threaded runtime, where page 0 is guarded); extended attributes
 *     of a file, of a missing one and of an fd (EOPNOTSUPP, an empty list, ENOENT;
 *     ENOSYS before);
 *   exec MIB: execve of a file of MIB MiB, a wasm header and zeros (no size cap: read
 *     whole, copied and hashed; the other back ends stop at 256 MiB, ENOEXEC).
 * Prints "WHAT RESULT ERRNO". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : (int)r, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	if (!strcmp(argv[1], "exec")) {
		int fd = open("/big.wasm", O_CREAT | O_WRONLY | O_TRUNC, 0755);
		write(fd, "\0asm\1\0\0\0", 8);
		if (ftruncate(fd, atol(argv[2]) << 20))
			return 1;
		close(fd);
		char *args[] = {"/big.wasm", 0};
		execv("/big.wasm", args);
		say("execve", -1);
		return 0;
	}
	char list[64];
	int fd = open("/f", O_CREAT | O_RDWR, 0644);
	write(fd, "abcdefgh", 8);
	lseek(fd, 0, SEEK_SET);
	say("read_null_page", read(fd, (void *)4, 8));
	say("write_null", write(fd, (void *)0, 8));
	struct stat st;
	say("stat_bad_path", stat((const char *)1, &st));
	say("getxattr", syscall(SYS_getxattr, "/f", "user.x", list, sizeof list));
	say("listxattr", syscall(SYS_listxattr, "/f", list, sizeof list));
	say("setxattr", syscall(SYS_setxattr, "/f", "user.x", "v", 1, 0));
	say("fgetxattr", syscall(SYS_fgetxattr, fd, "user.x", list, sizeof list));
	say("getxattr_missing", syscall(SYS_getxattr, "/missing", "user.x", list, sizeof list));
	say("read_ok", read(fd, list, 8));
	return 0;
}
