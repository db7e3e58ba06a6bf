/* Hard links for a saved tree: /h/f of argv[1] MiB of random bytes (deflate cannot
 * shrink them), and argv[2] more names of it. A tree saved with --save wrote the bytes
 * once a name (20 MB and 50 links: 1 GB on the host). Prints "done N". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[1 << 20];

int main(int argc, char **argv)
{
	long mib = atol(argv[1]), links = atol(argv[2]);
	char name[64];
	mkdir("/h", 0755);
	int fd = open("/h/f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (long i = 0; i < mib; i++) {
		for (int k = 0; k < (int)sizeof buf; k += 256)
			getrandom(buf + k, 256, 0);
		if (write(fd, buf, sizeof buf) != (long)sizeof buf) {
			printf("write_failed %d\n", errno);
			return 1;
		}
	}
	close(fd);
	for (long i = 0; i < links; i++) {
		snprintf(name, sizeof name, "/h/l%ld", i);
		if (link("/h/f", name)) {
			printf("link_failed %d\n", errno);
			return 1;
		}
	}
	printf("done %ld\n", links);
	return 0;
}
