/* Runs the file operations named on its command line, one line of result each:
 * the tests drive it through grates and compare with a native run or a mount. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOREPLACE 1     /* RENAME_NOREPLACE */

static const char *errname(int e)
{
	static char other[24];
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EROFS: return "EROFS";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EBUSY: return "EBUSY";
	case ELOOP: return "ELOOP";
	}
	snprintf(other, sizeof other, "errno %d", e);
	return other;
}

static void result(int ok)
{
	if (ok)
		printf("ok\n");
	else
		printf("%s\n", errname(errno));
}

static void cat_fd(int fd)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		printf("%s\n", errname(errno));
	else
		printf("\"%.*s\"\n", (int)n, buf);
	close(fd);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("%s\n", errname(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (int i = 0; i < n; i++) {
		printf("%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	printf("\n");
}

/* `ls` with each entry's d_type, and "=" when its d_ino is the inode lstat finds
 * under that name ("!" when not): what getdents64 says must agree with stat. */
static void list_types(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("%s\n", errname(errno));
		return;
	}
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		if (!strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		char full[4096];
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		int same = lstat(full, &st) == 0 && st.st_ino == e->d_ino;
		char kind = e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' :
			    e->d_type == DT_REG ? 'f' : '?';
		names[n] = malloc(strlen(e->d_name) + 4);
		sprintf(names[n++], "%s:%c%c", e->d_name, kind, same ? '=' : '!');
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (int i = 0; i < n; i++) {
		printf("%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	printf("\n");
}

static int write_file(const char *path, int flags, const char *text)
{
	int fd = open(path, flags, 0644);
	if (fd < 0)
		return 0;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text);
}

static int open_close(const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static int on_fd(const char *path, int op)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	int r = op == 't' ? ftruncate(fd, 0) : fchmod(fd, 0600);
	int saved = errno;
	close(fd);
	errno = saved;
	return r == 0;
}

static void show_stat(const char *path, int follow)
{
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0) {
		printf("%s\n", errname(errno));
		return;
	}
	const char *kind = S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "file";
	if (S_ISDIR(st.st_mode))
		printf("%s mode=%o\n", kind, (unsigned)(st.st_mode & 07777));
	else
		printf("%s size=%lld mode=%o\n", kind, (long long)st.st_size,
		       (unsigned)(st.st_mode & 07777));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		errno = 0;              /* a call answering >0 must not print an older errno */
		const char *a = i + 1 < argc ? argv[i + 1] : "";
		const char *b = i + 2 < argc ? argv[i + 2] : "";
		int two = !strcmp(op, "write") || !strcmp(op, "append") || !strcmp(op, "rename") ||
			  !strcmp(op, "link") || !strcmp(op, "symlink") || !strcmp(op, "atcat") ||
			  !strcmp(op, "mkdirat") || !strcmp(op, "renamenoreplace") ||
			  !strcmp(op, "linkfollow") || !strcmp(op, "linkbadflag") ||
			  !strcmp(op, "chmodat") || !strcmp(op, "statat") || !strcmp(op, "lstatat") ||
			  !strcmp(op, "nofollowat");
		if (!strcmp(op, "umask")) {      /* umask 027 from here on */
			umask(027);
			printf("umask: ok\n");
			continue;
		}
		if (!strcmp(op, "pwd")) {
			char cwd[4096];
			printf("pwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : errname(errno));
			continue;
		}
		if (!strcmp(op, "cd")) {
			printf("cd: ");
			result(chdir(a) == 0);
			i++;
			continue;
		}
		if (two)
			printf("%s %s %s: ", op, a, b);
		else
			printf("%s %s: ", op, a);
		i += two ? 2 : 1;
		if (!strcmp(op, "cat")) {
			int fd = open(a, O_RDONLY);
			if (fd < 0)
				printf("%s\n", errname(errno));
			else
				cat_fd(fd);
		} else if (!strcmp(op, "atcat")) {
			int dir = open(a, O_RDONLY | O_DIRECTORY);
			int fd = dir < 0 ? -1 : openat(dir, b, O_RDONLY);
			if (fd < 0)
				printf("%s\n", errname(errno));
			else
				cat_fd(fd);
			if (dir >= 0)
				close(dir);
		} else if (!strcmp(op, "write")) {
			result(write_file(a, O_WRONLY | O_CREAT | O_TRUNC, b));
		} else if (!strcmp(op, "append")) {
			result(write_file(a, O_WRONLY | O_CREAT | O_APPEND, b));
		} else if (!strcmp(op, "rdwr")) {
			result(open_close(a, O_RDWR));
		} else if (!strcmp(op, "excl")) {
			result(open_close(a, O_WRONLY | O_CREAT | O_EXCL));
		} else if (!strcmp(op, "creatro")) {
			result(open_close(a, O_RDONLY | O_CREAT));
		} else if (!strcmp(op, "truncro")) {
			result(open_close(a, O_RDONLY | O_TRUNC));
		} else if (!strcmp(op, "unlink")) {
			result(unlink(a) == 0);
		} else if (!strcmp(op, "rmdir")) {
			result(rmdir(a) == 0);
		} else if (!strcmp(op, "mkdir")) {
			result(mkdir(a, 0755) == 0);
		} else if (!strcmp(op, "rename")) {
			result(rename(a, b) == 0);
		} else if (!strcmp(op, "link")) {
			result(link(a, b) == 0);
		} else if (!strcmp(op, "symlink")) {
			result(symlink(a, b) == 0);
		} else if (!strcmp(op, "chmod")) {
			result(chmod(a, 0600) == 0);
		} else if (!strcmp(op, "truncate")) {
			result(truncate(a, 2) == 0);
		} else if (!strcmp(op, "ftruncate")) {
			result(on_fd(a, 't'));
		} else if (!strcmp(op, "fchmod")) {
			result(on_fd(a, 'm'));
		} else if (!strcmp(op, "stat")) {
			show_stat(a, 1);
		} else if (!strcmp(op, "lstat")) {
			show_stat(a, 0);
		} else if (!strcmp(op, "ls")) {
			list(a);
		} else if (!strcmp(op, "getfl") || !strcmp(op, "getflx")) {
			int fd = !strcmp(op, "getfl") ? open(a, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644)
						      : open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0) {
				printf("%s\n", errname(errno));
				continue;
			}
			int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
			printf("%s%s%s%s%s%s\n", (fl & O_ACCMODE) == O_RDWR ? "rdwr" :
			       (fl & O_ACCMODE) == O_WRONLY ? "wronly" : "rdonly",
			       fl & O_APPEND ? " append" : "", fl & O_CREAT ? " creat" : "",
			       fl & O_EXCL ? " excl" : "", fl & O_TRUNC ? " trunc" : "",
			       fdfl & FD_CLOEXEC ? " cloexec" : "");
			close(fd);
		} else if (!strcmp(op, "exclonly")) {
			result(open_close(a, O_RDONLY | O_EXCL));
		} else if (!strcmp(op, "wnofollow")) {
			result(open_close(a, O_WRONLY | O_NOFOLLOW));
		} else if (!strcmp(op, "mkexe")) {
			int fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0777);   /* 0755 under umask 022 */
			result(fd >= 0);
			if (fd >= 0)
				close(fd);
		} else if (!strcmp(op, "chmodx")) {
			result(chmod(a, 0755) == 0);
		} else if (!strcmp(op, "truncate0")) {
			result(truncate(a, 0) == 0);
		} else if (!strcmp(op, "touch")) {
			result(utimensat(AT_FDCWD, a, NULL, 0) == 0);
		} else if (!strcmp(op, "fchmodbad")) {
			result(fchmod(1234, 0600) == 0);
		} else if (!strcmp(op, "exec")) {
			char *args[] = {(char *)a, NULL};
			execv(a, args);
			printf("%s\n", errname(errno));
		} else if (!strcmp(op, "nofollow")) {
			result(open_close(a, O_RDONLY | O_NOFOLLOW));
		} else if (!strcmp(op, "lsd")) {
			list_types(a);
		} else if (!strcmp(op, "mkdirat") || !strcmp(op, "chmodat") || !strcmp(op, "statat") ||
			   !strcmp(op, "lstatat") || !strcmp(op, "nofollowat")) {
			int dir = open(a, O_RDONLY | O_DIRECTORY);
			if (dir < 0) {
				printf("%s\n", errname(errno));
				continue;
			}
			if (!strcmp(op, "mkdirat")) {
				result(mkdirat(dir, b, 0777) == 0);
			} else if (!strcmp(op, "chmodat")) {
				result(fchmodat(dir, b, 0640, 0) == 0);
			} else if (!strcmp(op, "nofollowat")) {
				int fd = openat(dir, b, O_RDONLY | O_NOFOLLOW);
				result(fd >= 0);
				if (fd >= 0)
					close(fd);
			} else {
				struct stat st;
				int flags = !strcmp(op, "lstatat") ? AT_SYMLINK_NOFOLLOW : 0;
				if (fstatat(dir, b, &st, flags) < 0)
					printf("%s\n", errname(errno));
				else
					printf("%s size=%lld mode=%o\n", S_ISDIR(st.st_mode) ? "dir" :
					       S_ISLNK(st.st_mode) ? "link" : "file",
					       S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size,
					       (unsigned)(st.st_mode & 07777));
			}
			close(dir);
		} else if (!strcmp(op, "renamenoreplace")) {
			result(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, NOREPLACE) == 0);
		} else if (!strcmp(op, "linkfollow")) {
			result(linkat(AT_FDCWD, a, AT_FDCWD, b, AT_SYMLINK_FOLLOW) == 0);
		} else if (!strcmp(op, "linkbadflag")) {
			result(linkat(AT_FDCWD, a, AT_FDCWD, b, 0x1) == 0);
		} else if (!strcmp(op, "mkdirmode")) {
			result(mkdir(a, 0777) == 0);
		} else if (!strcmp(op, "creat")) {
			int fd = creat(a, 0666);
			result(fd >= 0);
			if (fd >= 0)
				close(fd);
		} else if (!strcmp(op, "truncneg")) {
			result(truncate(a, -1) == 0);
		} else if (!strcmp(op, "readlink")) {
			char buf[256];
			ssize_t n = readlink(a, buf, sizeof buf);
			if (n < 0)
				printf("%s\n", errname(errno));
			else
				printf("%.*s\n", (int)n, buf);
		} else {
			printf("unknown operation\n");
			return 2;
		}
	}
	return 0;
}
