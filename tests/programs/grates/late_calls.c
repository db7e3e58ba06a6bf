/* Calls numbered past 334 (newer Linux): what strace must still see and name. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/late.txt", O_CREAT | O_WRONLY, 0600);
	close(fd);
	long a = fchmodat(AT_FDCWD, "/late.txt", 0640, AT_SYMLINK_NOFOLLOW);   /* fchmodat2 */
	long b = syscall(SYS_faccessat2, AT_FDCWD, "/late.txt", R_OK, 0);
	long c = syscall(SYS_close_range, 100, 200, 0);
	printf("fchmodat2 %ld faccessat2 %ld close_range %ld\n", a, b, c);
	return 0;
}
