/* Calls on files under /tmp and elsewhere, and calls that name no file: which grates
 * of a clamped stack see each is what the clamp tests compare. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/tmp/a", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "a", 1);
	close(fd);
	fd = open("/data/b", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, "b", 1);
	close(fd);
	getppid();
	mkdir("/tmp/d", 0700);
	chdir("/tmp");
	fd = open("d/c", O_RDWR | O_CREAT | O_TRUNC, 0600);
	close(fd);
	return 0;
}
