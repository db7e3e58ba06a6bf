/* A sparse file's data and holes found with lseek(SEEK_DATA / SEEK_HOLE) as sparse-aware
 * copiers do (a cage refused both with EINVAL), and faccessat's flags checked as Linux
 * checks them (a cage accepted unknown ones). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void show(const char *what, long long r)
{
	printf("%s: %lld errno %d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
	int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, "data", 4, 1 << 20) != 4)
		return 1;
	show("data from 0", lseek(fd, 0, SEEK_DATA));
	show("hole from 0", lseek(fd, 0, SEEK_HOLE));
	show("hole after the data", lseek(fd, (1 << 20) + 1, SEEK_HOLE));
	show("data past the end", lseek(fd, (1 << 20) + 4, SEEK_DATA));
	show("hole past the end", lseek(fd, (1 << 20) + 4, SEEK_HOLE));
	show("negative", lseek(fd, -1, SEEK_DATA));
	show("whence 5", lseek(fd, 0, 5));
	show("faccessat2 known flags", faccessat(AT_FDCWD, "sparse", R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW));
	show("faccessat2 unknown flag", faccessat(AT_FDCWD, "sparse", R_OK, 0x4000));
	return 0;
}
