/* Calls that change files, by path, by dirfd + path and by fd, in and beside the
 * directories a readonly grate protects. Run in a root holding data/ (f, sub/),
 * data2/f, other/ (f, a, b, g) and etc/x/; see tests/test_mutants_grates.py.
 * One line per step: "what result errno" (result 0 or -1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %d %d\n", what, r < 0 ? -1 : 0, r < 0 ? errno : 0);
}

static void opened(const char *what, int fd)
{
	report(what, fd);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int data = open("/data", O_RDONLY | O_DIRECTORY);
	int other = open("/other", O_RDONLY | O_DIRECTORY);
	int file = open("/data/f", O_RDONLY);
	report("open-dirs", data < 0 || other < 0 || file < 0 ? -1 : 0);
	opened("read", open("/data/f", O_RDONLY));
	opened("write", open("/data/f", O_WRONLY));
	opened("rdwr", open("/data/f", O_RDWR));
	opened("trunc", open("/data/f", O_RDONLY | O_TRUNC));
	opened("creat-existing", open("/data/f", O_RDONLY | O_CREAT, 0600));
	opened("creat-missing", open("/data/new", O_RDONLY | O_CREAT, 0600));
	opened("excl-existing", open("/data/f", O_RDONLY | O_CREAT | O_EXCL, 0600));
	opened("excl-missing", open("/data/new", O_RDONLY | O_CREAT | O_EXCL, 0600));
	opened("openat-data", openat(data, "f", O_WRONLY));
	opened("openat-cwd", openat(AT_FDCWD, "data/f", O_WRONLY));
	opened("openat-up-into-data", openat(other, "../data/f", O_WRONLY));
	opened("openat-up-out-of-data", openat(data, "../other/f", O_WRONLY));
	opened("openat-file-dirfd", openat(file, "x", O_WRONLY | O_CREAT, 0600));
	opened("openat-absolute", openat(other, "/data/f", O_WRONLY));
	opened("dotdot-out", open("/data/../other/f", O_WRONLY));
	opened("dotdot-in", open("/other/../data/f", O_WRONLY));
	opened("creat-data", creat("/data/c", 0600));
	opened("creat-other", creat("/other/c", 0600));
	/* The creat call itself (the libc's creat() makes an open). */
	opened("creat-call-data", syscall(SYS_creat, "/data/c2", 0600));
	opened("creat-call-other", syscall(SYS_creat, "/other/c2", 0600));
	opened("creat-call-empty", syscall(SYS_creat, "", 0600));
	opened("prefix-sibling", open("/data2/f", O_WRONLY));
	opened("etc-x-inside", open("/etc/x/y", O_WRONLY | O_CREAT, 0600));
	opened("etc-xy-beside", open("/etc/xy", O_WRONLY | O_CREAT, 0600));
	report("unlink", unlink("/data/f"));
	report("unlinkat-data", unlinkat(data, "f", 0));
	report("rmdir", rmdir("/data/sub"));
	report("unlinkat-removedir", unlinkat(data, "sub", AT_REMOVEDIR));
	report("rename-into", rename("/other/a", "/data/a"));
	report("rename-out", rename("/data/f", "/other/f2"));
	report("renameat-into", renameat(other, "b", data, "b"));
	report("link-into", link("/other/f", "/data/l"));
	report("linkat-into", linkat(other, "f", data, "l", 0));
	report("renameat2-into", syscall(SYS_renameat2, other, "b", data, "b", 0));
	report("symlink-into", symlink("x", "/data/s"));
	report("symlinkat-into", symlinkat("x", data, "s"));
	/* Relative to a protected dirfd, naming a path outside it. */
	report("renameat-out-by-dirfd", renameat(other, "a", data, "../other/a2"));
	report("renameat2-out-by-dirfd", syscall(SYS_renameat2, other, "a2", data, "../other/a3", 0));
	report("linkat-out-by-dirfd", linkat(other, "f", data, "../other/f3", 0));
	report("symlinkat-out-by-dirfd", symlinkat("x", data, "../other/s"));
	report("chmod-empty", chmod("", 0600));
	report("mkdir", mkdir("/data/d", 0700));
	report("mkdirat", mkdirat(data, "d", 0700));
	report("chmod", chmod("/data/f", 0600));
	report("fchmodat", fchmodat(data, "f", 0600, 0));
	report("fchmod", fchmod(file, 0600));
	report("futimens", futimens(file, NULL));
	report("utimensat-empty-path", utimensat(data, "", NULL, AT_EMPTY_PATH));
	report("truncate", truncate("/data/f", 0));
	report("unlinkat-other", unlinkat(other, "g", 0));
	report("mkdir-other", mkdir("/other/d", 0700));
	/* Linux's PATH_MAX counts the NUL: 4095 bytes name a path, 4096 are too long. */
	static char longpath[4097];
	memset(longpath, 'x', sizeof longpath - 1);
	for (int i = 0; i < 4096; i += 2)
		longpath[i] = '/';
	longpath[4095] = 0;
	opened("path-of-4095", open(longpath, O_RDONLY));
	memcpy(longpath, "/data/", 6);   /* too long is too long, protected or not */
	longpath[4095] = 'x';
	opened("path-of-4096", open(longpath, O_WRONLY));
	report("chdir-data", chdir("/data"));
	opened("relative-write", open("f", O_WRONLY));
	opened("relative-read", open("f", O_RDONLY));
	close(0);   /* O_EXCL of an existing file refused, also when it would have been fd 0 */
	opened("excl-existing-as-fd-0", open("/data/f", O_RDONLY | O_CREAT | O_EXCL, 0600));
	return 0;
}
