/* File-system and fd calls at their argument edges: each result as Linux gives it (ok,
 * a value, or the errno number). No permission cases: natively this runs as whoever
 * runs the tests, in a cage always as uid 1000. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: errno %d\n", what, errno);
	else
		printf("%s: %ld\n", what, r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	umask(022);
	char buf[64];
	struct stat st;
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("write", write(fd, "hello world", 11));
	show("open excl existing", open("f", O_RDWR | O_CREAT | O_EXCL, 0644));
	show("open directory flag on a file", open("f", O_RDONLY | O_DIRECTORY));
	show("symlink", symlink("f", "ln"));
	show("open nofollow link", open("ln", O_RDONLY | O_NOFOLLOW));
	show("open path nofollow link", close(open("ln", O_PATH | O_NOFOLLOW)));
	show("symlink empty target", symlink("", "empty"));
	show("open missing", open("nope", O_RDONLY));
	show("open create in missing dir", open("nodir/x", O_WRONLY | O_CREAT, 0644));
	int ro = open("f", O_RDONLY), wo = open("f", O_WRONLY | O_APPEND);
	show("write on read-only fd", write(ro, "x", 1));
	show("read on write-only fd", read(wo, buf, 1));
	show("append write", write(wo, "!", 1));
	show("size after append", (fstat(fd, &st), (long)st.st_size));
	show("lseek end", lseek(fd, 0, SEEK_END));
	show("lseek cur -1", lseek(fd, -1, SEEK_CUR));
	show("lseek negative", lseek(fd, -100, SEEK_SET));
	show("lseek bad whence", lseek(fd, 0, 7));
	show("lseek past end", lseek(fd, 100, SEEK_SET));
	show("pread", pread(fd, buf, 5, 6));
	show("pread negative offset", pread(fd, buf, 5, -1));
	show("pwrite", pwrite(fd, "W", 1, 0));
	int p[2];
	pipe(p);
	show("pwrite on pipe", pwrite(p[1], "x", 1, 0));
	show("lseek on pipe", lseek(p[0], 0, SEEK_SET));
	show("fsync on pipe", fsync(p[0]));
	struct iovec iov[2] = {{buf, 3}, {buf + 3, 4}};
	lseek(fd, 0, SEEK_SET);
	show("readv", readv(fd, iov, 2));
	show("readv zero", readv(fd, iov, 0));
	volatile int negative = -1, too_many = 1025;   /* (hidden from gcc's checks) */
	show("readv negative count", readv(fd, iov, negative));
	show("readv too many", readv(fd, iov, too_many));
	show("writev to read-only", writev(ro, iov, 2));
	show("truncate", truncate("f", 4));
	show("truncate negative", truncate("f", -1));
	show("ftruncate read-only", ftruncate(ro, 0));
	show("size", (stat("f", &st), (long)st.st_size));
	show("mkdir", mkdir("d", 0777));
	show("mode after umask", (stat("d", &st), (long)(st.st_mode & 0777)));
	show("mkdir existing", mkdir("d", 0777));
	show("mkdir over file", mkdir("f", 0777));
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	show("openat in dir", close(openat(dfd, "inner", O_WRONLY | O_CREAT, 0600)));
	show("faccessat", faccessat(dfd, "inner", F_OK, 0));
	show("access bad mode", access("f", 0x10));
	show("rmdir non-empty", rmdir("d"));
	show("rmdir dot", rmdir("d/."));
	show("rmdir file", rmdir("f"));
	show("unlink dir", unlink("d"));
	show("unlinkat bad flag", unlinkat(dfd, "inner", 0x1));
	show("unlinkat removedir on file", unlinkat(dfd, "inner", AT_REMOVEDIR));
	show("unlinkat", unlinkat(dfd, "inner", 0));
	show("rename dir into itself", rename("d", "d/sub"));
	show("rename file over dir", rename("f", "d"));
	show("mkdir e", mkdir("e", 0755));
	show("rename dir over file", rename("e", "f"));
	show("rename dir over empty dir", rename("e", "d"));
	show("renameat2 noreplace onto existing", syscall(SYS_renameat2, AT_FDCWD, "d", AT_FDCWD, "f", 1));
	show("renameat2 exchange", syscall(SYS_renameat2, AT_FDCWD, "d", AT_FDCWD, "f", 2));
	show("d is now the file", (stat("d", &st), (long)S_ISREG(st.st_mode)));
	show("renameat2 exchange back", syscall(SYS_renameat2, AT_FDCWD, "d", AT_FDCWD, "f", 2));
	show("renameat2 noreplace", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "f3", 1));
	show("renameat2 back", syscall(SYS_renameat2, AT_FDCWD, "f3", AT_FDCWD, "f", 0));
	show("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "f3", 3));
	show("renameat2 unknown flag", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "f3", 8));
	show("link to dir", link("d", "dlink"));
	show("link", link("f", "f2"));
	show("nlink", (stat("f", &st), (long)st.st_nlink));
	show("readlink", readlink("ln", buf, sizeof buf));
	show("readlink short buffer", readlink("ln", buf, 0));
	show("readlink on file", readlink("f", buf, sizeof buf));
	show("getdents on a file", syscall(SYS_getdents64, fd, buf, sizeof buf));
	show("chdir to file", chdir("f"));
	show("fchdir to file", fchdir(fd));
	show("getcwd small buffer", getcwd(buf, 1) ? 0 : -1);
	show("dup3 same fd", dup3(fd, fd, 0));
	show("dup3 bad flags", dup3(fd, 40, 1));
	show("dup2 same fd", dup2(fd, fd));
	show("fcntl dupfd from 30", fcntl(fd, F_DUPFD, 30));
	show("fcntl getfl", fcntl(wo, F_GETFL) & (O_ACCMODE | O_APPEND));
	show("fcntl setfl nonblock", fcntl(fd, F_SETFL, O_NONBLOCK));
	show("fcntl getfl after", fcntl(fd, F_GETFL) & O_NONBLOCK);
	show("fcntl getfd", fcntl(fd, F_GETFD));
	show("fcntl setfd", fcntl(fd, F_SETFD, FD_CLOEXEC));
	show("fcntl getfd after", fcntl(fd, F_GETFD));
	show("fcntl bad cmd", fcntl(fd, 9999));
	show("close bad fd", close(999));
	show("fstat bad fd", fstat(999, &st));
	struct timespec times[2] = {{0, UTIME_OMIT}, {1000000, 0}};
	show("utimensat", utimensat(AT_FDCWD, "f", times, 0));
	show("mtime", (stat("f", &st), (long)st.st_mtime));
	times[1].tv_nsec = 2000000000;
	show("utimensat bad nsec", utimensat(AT_FDCWD, "f", times, 0));
	show("utimensat bad flag", utimensat(AT_FDCWD, "f", NULL, 0x1));
	show("chmod", chmod("f", 0600));
	show("mode", (stat("f", &st), (long)(st.st_mode & 07777)));
	show("fchmodat nofollow", fchmodat(AT_FDCWD, "f", 0644, AT_SYMLINK_NOFOLLOW));
	return 0;
}
