/* Values at the edges of the call entry: call numbers no table has, fds out of any
 * table's range, and 64-bit arguments with the top bit set (negative offsets), which a
 * grate in between must pass down whole. The same answers as Linux. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void)
{
	show("call 1024", syscall(1024));
	show("call 100000", syscall(100000));
	show("call -1", syscall(-1));
	show("close(-1)", close(-1));
	show("close(1 << 20)", close(1 << 20));
	show("close(-2147483648)", close(-2147483647 - 1));

	int fd = open("entry-edges.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "abcdefgh", 8) != 8)
		return 1;
	char buf[8] = "";
	show("lseek(-2, SEEK_END)", lseek(fd, -2, SEEK_END));
	show("read after it", read(fd, buf, sizeof buf));
	printf("  %s\n", buf);
	show("lseek(-9, SEEK_END)", lseek(fd, -9, SEEK_END));
	show("lseek(-(1 << 62), SEEK_CUR)", lseek(fd, -(1LL << 62), SEEK_CUR));
	show("pread at -1", pread(fd, buf, 1, -1));
	show("pread at -(1 << 62)", pread(fd, buf, 1, -(1LL << 62)));
	show("pwrite at -8", pwrite(fd, "x", 1, -8));
	close(fd);
	unlink("entry-edges.txt");
	return 0;
}
