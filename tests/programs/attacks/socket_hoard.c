/* argv[2] times (default 1): makes argv[1] socket pairs (default 200), asks each sender
 * for a 4 MiB buffer, fills it, and prints "buffered N MiB"; then closes them all. A
 * socket's buffers are the host kernel's memory, which Linux lets grow to twice
 * wmem_max a socket. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int pairs = argc > 1 ? atoi(argv[1]) : 200;
	int rounds = argc > 2 ? atoi(argv[2]) : 1;
	static char chunk[65536];
	static int ends[2048];
	int size = 4 << 20;
	memset(chunk, 's', sizeof chunk);
	if (pairs > 1024)
		return 1;
	for (int round = 0; round < rounds; round++) {
		long total = 0;
		int made = 0;
		for (; made < pairs; made++) {
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, &ends[2 * made]) != 0)
				break;
			setsockopt(ends[2 * made], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
			ssize_t n;
			while ((n = write(ends[2 * made], chunk, sizeof chunk)) > 0)
				total += n;
		}
		printf("buffered %ld MiB\n", total >> 20);
		for (int i = 0; i < 2 * made; i++)
			close(ends[i]);
	}
	return 0;
}
