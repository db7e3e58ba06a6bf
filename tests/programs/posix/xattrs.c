/* Extended attributes of a cage's files: there are none, as on a file system without
 * them (EOPNOTSUPP; an empty list), once the file is found; a cage had no such calls
 * (ENOSYS, which copiers report as an error where they skip EOPNOTSUPP). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s: %ld errno %d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
	int fd = open("file", O_RDWR | O_CREAT, 0600);
	char value[16], names[64];
	show("setxattr", setxattr("file", "user.a", "1", 1, 0));
	show("lsetxattr", lsetxattr("file", "user.a", "1", 1, 0));
	show("fsetxattr", fsetxattr(fd, "user.a", "1", 1, 0));
	show("getxattr", getxattr("file", "user.a", value, sizeof value));
	show("lgetxattr", lgetxattr("file", "user.a", value, sizeof value));
	show("fgetxattr", fgetxattr(fd, "user.a", value, sizeof value));
	show("listxattr", listxattr("file", names, sizeof names));
	show("llistxattr", llistxattr("file", names, sizeof names));
	show("flistxattr", flistxattr(fd, names, sizeof names));
	show("removexattr", removexattr("file", "user.a"));
	show("lremovexattr", lremovexattr("file", "user.a"));
	show("fremovexattr", fremovexattr(fd, "user.a"));
	show("getxattr missing file", getxattr("missing", "user.a", value, sizeof value));
	show("listxattr missing file", listxattr("missing", names, sizeof names));
	show("fgetxattr bad fd", fgetxattr(99, "user.a", value, sizeof value));
	show("setxattr /proc", setxattr("/proc/self/status", "user.a", "1", 1, 0));
	return 0;
}
