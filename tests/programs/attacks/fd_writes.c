/* Writes to FILE (argv[1]), opened for writing, by every call that writes through an
 * fd besides write(2): pwrite64, pwritev, pwritev2, sendfile, copy_file_range, splice
 * (through a pipe), and sync_file_range/fadvise64/readahead on it, which change
 * nothing but are calls on it. SOURCE (argv[2]) is a file to copy from. Prints "WHAT
 * RESULT ERRNO" for each (RESULT 0 or -1). A clamp on FILE's directory around a grate
 * refusing these must route every one of them to it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "/data/f1";
	const char *source = argc > 2 ? argv[2] : "/source.txt";
	errno = 0;
	int fd = open(file, O_WRONLY);
	report("open", fd);
	int src = open(source, O_RDONLY);
	report("open_source", src);
	struct iovec v = {"PWNED\n", 6};
	errno = 0;
	report("write", write(fd, "PWNED\n", 6));
	errno = 0;
	report("pwrite64", pwrite(fd, "PWNED\n", 6, 0));
	errno = 0;
	report("pwritev", pwritev(fd, &v, 1, 0));
	errno = 0;
	report("pwritev2", syscall(SYS_pwritev2, fd, &v, 1, 0L, 0L, 0));
	off_t off = 0;
	errno = 0;
	report("sendfile", sendfile(fd, src, &off, 6));
	loff_t in_at = 0, out_at = 0;
	errno = 0;
	report("copy_file_range", syscall(SYS_copy_file_range, src, &in_at, fd, &out_at, 6L, 0));
	int p[2];
	pipe(p);
	write(p[1], "PWNED\n", 6);
	errno = 0;
	report("splice", splice(p[0], NULL, fd, NULL, 6, 0));
	errno = 0;
	report("sync_file_range", syscall(SYS_sync_file_range, fd, 0L, 0L, 0));
	errno = 0;
	report("fadvise64", syscall(SYS_fadvise64, fd, 0L, 0L, 0));
	return 0;
}
