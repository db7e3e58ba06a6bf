/* The other Runtime's tenant for snapshot_reach, under a Python grate that reads paths
 * (readonly): makes a FIFO whose name is its secret, says where the name is in its
 * memory ("at ADDRESS" in argv[1], a file) and opens the FIFO, which waits for a
 * writer, while the grate's copy of the name (a snapshot) is in the layers below. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static const char secret[] = "/fifo-secret-7f3a9c";

int main(int argc, char **argv)
{
	if (mkfifo(secret, 0600) != 0) {
		perror("mkfifo");
		return 1;
	}
	FILE *f = fopen(argv[1], "w");
	if (!f)
		return 1;
	fprintf(f, "at %lu\n", (unsigned long)(uintptr_t)secret);
	fclose(f);
	int fd = open(secret, O_RDONLY);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	char c;
	printf("victim read %zd\n", read(fd, &c, 1));
	return 0;
}
