/* unlink, rmdir, unlinkat, rename and renameat by name, as the C trampoline serves
 * them (and the cases it leaves to the microvisor beside them): files, directories and
 * links moved and removed, replaced, and what each refusal says, against Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CK(x) do { errno = 0; long r_ = (x); printf("%-58s -> %ld errno=%d\n", #x, r_, r_ ? errno : 0); } while (0)

static void make(const char *name, const char *text)
{
	int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, text, strlen(text));
	close(fd);
}

static void show(const char *name)
{
	struct stat st;
	char text[16] = {0};
	if (lstat(name, &st)) {
		printf("%s: errno=%d\n", name, errno);
		return;
	}
	int fd = open(name, O_RDONLY);
	if (fd >= 0) {
		read(fd, text, sizeof text - 1);
		close(fd);
	}
	printf("%s: %s %s\n", name, S_ISLNK(st.st_mode) ? "link" : S_ISDIR(st.st_mode) ? "dir" : "file",
	       text);
}

int main(void)
{
	char long_name[300];
	memset(long_name, 'n', 256);
	long_name[256] = '\0';
	make("f", "F");
	make("g", "G");
	mkdir("d", 0755);
	make("d/inner", "I");
	mkdir("e", 0755);
	mkdir("ne", 0755);
	make("ne/x", "X");
	symlink("f", "lf");
	symlink("d", "ld");
	symlink("nowhere", "dangling");

	CK(rename("f", "f"));
	CK(rename("lf", "lf2"));
	show("lf2");
	CK(rename("f", "g"));
	show("g");
	show("f");
	CK(rename("g", "nodir/g"));
	CK(rename("g", "g/x"));
	CK(rename("missing", "m2"));
	CK(rename("e", "ne"));
	CK(rename("ld", "ld2"));
	CK(rename("dangling", "dang2"));
	show("dang2");
	CK(rename("g", long_name));
	CK(rename(long_name, "g"));
	CK(rename("d/inner", "moved"));
	CK(renameat(AT_FDCWD, "moved", AT_FDCWD, "d/inner"));
	show("d/inner");
	CK(renameat(99, "g", AT_FDCWD, "g2"));
	CK(renameat(AT_FDCWD, "g", 99, "g2"));
	CK(rename("g", "ld2/g2"));
	show("d/g2");
	CK(rename("d/g2", "lf2"));
	show("lf2");
	CK(rename("", "x"));
	CK(rename("lf2", ""));
	CK(syscall(SYS_rename, 0L, "x"));
	CK(syscall(SYS_rename, "lf2", 0L));

	CK(unlink("ld2"));
	show("d");
	CK(unlink("d"));
	CK(unlink("nodir/x"));
	CK(unlink("lf2/x"));
	CK(unlink(long_name));
	CK(unlink(""));
	CK(syscall(SYS_unlink, 0L));
	CK(unlink("dang2"));
	CK(unlink("dang2"));

	symlink("d", "ld");
	CK(rmdir("ne"));
	CK(rmdir("lf2"));
	CK(rmdir("missing"));
	CK(rmdir("ld"));
	CK(rmdir("e"));
	CK(rmdir("e"));
	CK(unlinkat(AT_FDCWD, "ne/x", 0));
	CK(unlinkat(AT_FDCWD, "ne", AT_REMOVEDIR));
	CK(unlinkat(AT_FDCWD, "ne", AT_REMOVEDIR));
	CK(unlinkat(AT_FDCWD, "lf2", AT_REMOVEDIR | 1));
	CK(unlinkat(AT_FDCWD, "d", 0));
	CK(unlinkat(AT_FDCWD, "lf2", AT_REMOVEDIR));
	CK(unlinkat(99, "lf2", 0));
	CK(unlinkat(AT_FDCWD, "lf2", 0));
	show("lf2");
	return 0;
}
