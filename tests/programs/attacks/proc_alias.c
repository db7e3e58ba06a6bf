/* Reaches files under DIR (argv[1]) by names under /proc and /dev that a grate acting
 * on paths sees as no path under DIR: /proc/self/fd/N/f, /dev/fd/N/f, /proc/self/cwd/f,
 * /proc/PID/cwd/f. Prints "WHAT RESULT ERRNO" for each try (RESULT 0 or -1), then
 * checks that the links themselves still work and name DIR itself: readlink, chdir
 * and fchdir into them (getcwd), and a directory reopened through /proc/self/fd/N,
 * through which "reopened_write" is an openat the grate must see as DIR/f1. */
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

/* An open for writing that, if it succeeds, writes over the file. */
static void write_to(const char *what, int dirfd, const char *path, int flags)
{
	errno = 0;
	int fd = openat(dirfd, path, O_WRONLY | flags, 0644);
	if (fd >= 0) {
		write(fd, "PWNED\n", 6);
		close(fd);
	}
	report(what, fd);
}

static void same(const char *what, const char *got, const char *want)
{
	printf("%s %s\n", what, strcmp(got, want) == 0 ? "same" : got);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/data";
	char p[256], got[256];
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	report("dirfd", d);

	snprintf(p, sizeof p, "/proc/self/fd/%d/f1", d);
	write_to("fd_write", AT_FDCWD, p, O_TRUNC);
	snprintf(p, sizeof p, "/dev/fd/%d/f1", d);
	write_to("devfd_write", AT_FDCWD, p, O_TRUNC);
	snprintf(p, sizeof p, "/proc/self/fd/%d/new1", d);
	write_to("fd_create", AT_FDCWD, p, O_CREAT | O_EXCL);
	snprintf(p, sizeof p, "/proc/self/fd/%d/f3", d);
	errno = 0;
	report("fd_chmod", chmod(p, 0777));
	int proc = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof p, "%d/f1", d);
	write_to("procdir_write", proc, p, O_TRUNC);

	errno = 0;
	report("chdir", chdir(dir));
	write_to("cwd_write", AT_FDCWD, "/proc/self/cwd/f2", O_TRUNC);
	write_to("cwd_create", AT_FDCWD, "/proc/self/cwd/new2", O_CREAT | O_EXCL);
	errno = 0;
	report("cwd_chmod", chmod("/proc/self/cwd/f3", 0777));
	errno = 0;
	report("cwd_unlink", unlink("/proc/self/cwd/f4"));
	errno = 0;
	report("cwd_rename", rename("/proc/self/cwd/f4", "/proc/self/cwd/f4.moved"));
	errno = 0;
	report("cwd_mkdir", mkdir("/proc/self/cwd/newdir", 0755));
	snprintf(p, sizeof p, "/proc/%d/cwd/f2", getpid());
	write_to("pid_cwd_write", AT_FDCWD, p, O_TRUNC);

	/* The links themselves: the directory by its own name. */
	errno = 0;
	ssize_t n = readlink("/proc/self/cwd", got, sizeof got - 1);
	got[n > 0 ? n : 0] = 0;
	same("readlink_cwd", got, dir);
	errno = 0;
	report("chdir_root", chdir("/"));
	snprintf(p, sizeof p, "/proc/self/fd/%d", d);
	errno = 0;
	report("chdir_fd", chdir(p));
	same("cwd_after_chdir_fd", getcwd(got, sizeof got) ? got : "?", dir);
	write_to("relative_write", AT_FDCWD, "f5", O_TRUNC);
	chdir("/");
	errno = 0;
	int again = open(p, O_RDONLY | O_DIRECTORY);
	report("reopen_dir", again);
	write_to("reopened_write", again, "f6", O_TRUNC);
	errno = 0;
	report("fchdir", fchdir(again));
	same("cwd_after_fchdir", getcwd(got, sizeof got) ? got : "?", dir);
	chdir(dir);
	errno = 0;
	report("chdir_proc_cwd", chdir("/proc/self/cwd"));
	same("cwd_after_chdir_proc_cwd", getcwd(got, sizeof got) ? got : "?", dir);
	struct stat st;
	errno = 0;
	report("stat_fd_link", stat(p, &st));
	printf("is_dir %d\n", S_ISDIR(st.st_mode));
	return 0;
}
