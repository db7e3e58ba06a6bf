/* map_file MIB: a sparse file of MIB MiB ending in "end", mapped MAP_PRIVATE whole. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t n = strtoul(argc > 1 ? argv[1] : "1", 0, 10) << 20;
	int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, "end", 3, n - 3) != 3)
		return 1;
	char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return 2;
	printf("mapped %d %.3s\n", p[0] == 0 && p[n / 2] == 0, p + n - 3);
	return 0;
}
