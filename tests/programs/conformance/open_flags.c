/* open(2) and stat answers the C trampoline gives by itself (_accel.c, "file opens"): an
 * access mode of 3 (O_RDWR | O_WRONLY: neither read nor write, as Linux has it), the
 * lowest free number (0 once stdin is closed), RLIMIT_NOFILE's edge, and fstatat's
 * flags (a link's own stat, flags it refuses). Each result as Linux gives it (a value
 * or the errno number). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
	char buf[8];
	int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	show("write", write(fd, "abc", 3));
	close(fd);

	/* mode 3: the file is opened, and neither read nor written through it */
	fd = open("f", O_RDWR | O_WRONLY);
	show("open mode 3", fd < 0 ? -1 : 0);
	show("  read", read(fd, buf, sizeof buf));
	show("  write", write(fd, "x", 1));
	show("  access mode", fcntl(fd, F_GETFL) & O_ACCMODE);
	close(fd);

	/* a file made under umask 0: the mode asked for, and the file itself behind the fd
	 * (the host's own umask may take bits, which the trampoline gives back) */
	struct stat st;
	mode_t old_mask = umask(0);
	fd = open("made", O_RDWR | O_CREAT | O_EXCL, 0666);
	show("open O_CREAT 0666, umask 0", fd < 0 ? -1 : 0);
	show("  write", write(fd, "made", 4));
	show("  fstat: regular", fstat(fd, &st) ? -1 : S_ISREG(st.st_mode));
	show("  size", st.st_size);
	show("  mode (octal 666)", st.st_mode & 07777);
	show("  pread", pread(fd, buf, 4, 0));
	close(fd);
	umask(old_mask);

	/* fstatat's flags: AT_SYMLINK_NOFOLLOW, others it takes, one it refuses */
	show("symlink", symlink("f", "ln"));
	show("fstatat link nofollow", fstatat(AT_FDCWD, "ln", &st, AT_SYMLINK_NOFOLLOW) ? -1 : S_ISLNK(st.st_mode));
	show("fstatat link", fstatat(AT_FDCWD, "ln", &st, 0) ? -1 : (long)st.st_size);
	show("fstatat AT_NO_AUTOMOUNT", fstatat(AT_FDCWD, "ln", &st, AT_NO_AUTOMOUNT) ? -1 : (long)st.st_size);
	show("fstatat AT_REMOVEDIR", fstatat(AT_FDCWD, "f", &st, AT_REMOVEDIR));
	show("fstatat flag 1", fstatat(AT_FDCWD, "f", &st, 1));

	/* the lowest free number, 0 included */
	close(0);
	show("open after close(0)", open("f", O_RDONLY));
	show("  read", read(0, buf, sizeof buf));
	close(0);

	/* numbers up to RLIMIT_NOFILE's soft limit, then EMFILE: below the 1,024 numbers
	 * the trampoline keeps, and past them (those are the microvisor's) */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t limits[] = {12, rl.rlim_max < 1040 ? rl.rlim_max : 1040};  /* (a hard limit of 1,024 elsewhere) */
	for (int l = 0; l < 2; l++) {
		rl.rlim_cur = limits[l];
		printf("soft limit %s\n", l ? "past 1024, or the hard limit" : "12");
		show("  setrlimit", setrlimit(RLIMIT_NOFILE, &rl));
		int last = -1;
		for (int i = 0; i < 2000; i++) {
			fd = open("f", O_RDONLY);
			if (fd < 0)
				break;
			last = fd;
		}
		show("  the last fd is the limit's less one", last == (int)limits[l] - 1);
		show("  the next open", fd);
		for (int i = 3; i <= last; i++)
			close(i);
	}
	return 0;
}
