/* Holds files of each kind open (on a read-only and a writable mount, a directory, a
 * pipe, a socket pair, a FIFO, a shared mapping), says "ready", then waits for its
 * stdin to close: meanwhile the test looks at the host's descriptors. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	int p[2], s[2];
	int fds[] = {
		open("/ro/file.txt", O_RDONLY),
		open("/w/new.txt", O_RDWR | O_CREAT, 0600),
		open("/w", O_RDONLY | O_DIRECTORY),
		pipe(p) == 0 ? p[0] : -1,
		socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0 ? s[0] : -1,
		mkfifo("/w/fifo", 0600) == 0 ? open("/w/fifo", O_RDWR) : -1,
	};
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] < 0)
			printf("step %u failed\n", i);
	if (ftruncate(fds[1], 4096) != 0 ||
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0) == MAP_FAILED)
		printf("mapping failed\n");
	printf("ready\n");
	fflush(stdout);
	char byte;
	while (read(0, &byte, 1) > 0)
		;
	return 0;
}
