/* An O_PATH fd passed through SCM_RIGHTS stays one: F_GETFL says O_PATH, read is
 * EBADF, fstat works (a cage's came back readable, its flags taken for O_RDONLY). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../attacks/passing.h"

int main(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 1;
	int fd = open("passed_o_path.txt", O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "data", 4) != 4)
		return 1;
	close(fd);
	int path = open("passed_o_path.txt", O_PATH);
	if (path < 0 || send_fd(sv[0], path, 0))
		return 1;
	close(path);
	int got = recv_fd(sv[1]);
	printf("received: %d\n", got >= 0);
	int flags = fcntl(got, F_GETFL);
	printf("O_PATH: %d, writable: %d\n", !!(flags & O_PATH), (flags & (O_WRONLY | O_RDWR)) != 0);
	char buf[8];
	ssize_t r = read(got, buf, sizeof buf);
	printf("read: %d errno %d\n", (int)r, r < 0 ? errno : 0);
	struct stat st = {0};
	int stat_result = fstat(got, &st);
	printf("fstat: %d regular %d\n", stat_result, S_ISREG(st.st_mode));
	unlink("passed_o_path.txt");
	return 0;
}
