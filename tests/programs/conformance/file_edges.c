/* File calls at edges the mutation run of sys_files.py found untested: reads and
 * writes against an fd's access mode on the microvisor's own files (/dev/null,
 * /dev/zero: not host files the trampoline serves), readlink sizes, fallocate lengths,
 * timestamps with UTIME_NOW/UTIME_OMIT and nanoseconds read back by statx (and the
 * flags and mask bits it refuses), fstatat with
 * AT_EMPTY_PATH, a path of PATH_MAX bytes, and a pipe's capacity (F_GETPIPE_SZ,
 * F_SETPIPE_SZ: rounded up to a power of two pages, EBUSY below what it holds, EBADF
 * for a file). Prints errno numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%s: %ld %d\n", what, r, r < 0 ? errno : 0);
	errno = 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	char buf[16];
	struct iovec iov = {buf, sizeof buf};

	int wo = open("/dev/null", O_WRONLY);
	say("read a write-only /dev/null", read(wo, buf, sizeof buf));
	say("readv a write-only /dev/null", readv(wo, &iov, 1));
	say("pread a write-only /dev/null", pread(wo, buf, sizeof buf, 0));
	say("write it", write(wo, "x", 1));
	say("writev nothing", writev(wo, &iov, 0));
	close(wo);
	int ro = open("/dev/zero", O_RDONLY);
	say("write a read-only /dev/zero", write(ro, "x", 1));
	say("writev a read-only /dev/zero", writev(ro, &iov, 1));
	say("pwrite a read-only /dev/zero", pwrite(ro, "x", 1, 0));
	say("read it", read(ro, buf, 4));
	close(ro);

	int fd = open("file", O_CREAT | O_RDWR, 0640);
	write(fd, "hello", 5);
	symlink("file", "link");
	say("readlink, size 0", readlink("link", buf, 0));
	say("readlink, size 1", readlink("link", buf, 1));
	printf("  first byte: %c\n", buf[0]);
	say("readlink, size 4", readlink("link", buf, 4));
	say("fallocate, length 0", fallocate(fd, 0, 0, 0));
	say("fallocate, offset -1", fallocate(fd, 0, -1, 10));
	say("fallocate, offset 0 length 1", fallocate(fd, 0, 0, 1));
	say("fallocate, offset 100 length 1", fallocate(fd, 0, 100, 1));
	struct stat st;
	fstat(fd, &st);
	printf("  size after: %lld\n", (long long)st.st_size);

	struct timespec times[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
	say("utimensat to set times", utimensat(AT_FDCWD, "file", times, 0));
	struct statx sx;
	say("statx", statx(AT_FDCWD, "file", 0, STATX_BASIC_STATS, &sx));
	/* refused before the path is looked at (the portable back end answered them) */
	say("statx unknown flag", statx(AT_FDCWD, "file", 0x80000000, STATX_BASIC_STATS, &sx));
	say("statx both sync types", statx(AT_FDCWD, "file", 0x6000, STATX_BASIC_STATS, &sx));
	say("statx reserved mask bit", statx(AT_FDCWD, "file", 0, 0x80000000U, &sx));
	printf("  atime %lld.%09u mtime %lld.%09u\n", (long long)sx.stx_atime.tv_sec,
	       sx.stx_atime.tv_nsec, (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec);
	struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	time_t before = time(NULL);
	say("utimensat omit atime, mtime now", utimensat(AT_FDCWD, "file", omit_now, 0));
	stat("file", &st);
	printf("  atime kept %d, mtime now %d\n", st.st_atim.tv_sec == 1000000000 &&
	       st.st_atim.tv_nsec == 123456789, st.st_mtim.tv_sec >= before);
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	say("utimensat nsec 10^9", utimensat(AT_FDCWD, "file", bad, 0));
	struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	say("futimens now, omit", futimens(fd, now_omit));
	fstat(fd, &st);
	printf("  mtime kept %d\n", st.st_mtim.tv_sec >= before);

	say("fstatat AT_EMPTY_PATH", fstatat(fd, "", &st, AT_EMPTY_PATH));
	printf("  size %lld\n", (long long)st.st_size);
	say("fstatat empty path without the flag", fstatat(fd, "", &st, 0));

	char *longpath = malloc(4097);
	memset(longpath, '/', 4096);
	longpath[4096] = 0;
	say("open 4096 slashes", open(longpath, O_RDONLY | O_DIRECTORY));
	longpath[4095] = 0;
	int root = open(longpath, O_RDONLY | O_DIRECTORY);
	say("open 4095 slashes", root >= 0 ? 0 : -1);
	memset(longpath, 'a', 4096);
	say("readlink of 4096 bytes", readlink(longpath, buf, sizeof buf));

	int pipes[2];
	pipe(pipes);
	say("F_GETPIPE_SZ", fcntl(pipes[1], F_GETPIPE_SZ));
	say("F_SETPIPE_SZ 100000", fcntl(pipes[1], F_SETPIPE_SZ, 100000));
	say("F_GETPIPE_SZ of the other end", fcntl(pipes[0], F_GETPIPE_SZ));
	char block[8192] = {0};
	write(pipes[1], block, sizeof block);
	say("F_SETPIPE_SZ below what it holds", fcntl(pipes[1], F_SETPIPE_SZ, 4096));
	say("F_GETPIPE_SZ of a file", fcntl(fd, F_GETPIPE_SZ));
	close(pipes[0]);
	close(pipes[1]);
	close(fd);
	unlink("link");
	unlink("file");
	return 0;
}
