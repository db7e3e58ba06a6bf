/* A root whose file has many hard links: argv[1] and argv[2] are two of its names.
 * Loading the root copied the file's bytes once a name (5 MB and 100 links: 500 MB of
 * the host); now they are one file of the tree, as on the host. Prints "same_ino S
 * nlink N seen C": whether the two names are one inode, its link count, and the byte
 * written through the first as read through the second. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat a, b;
	char c = '?';
	if (argc < 3 || stat(argv[1], &a) || stat(argv[2], &b))
		return 1;
	int fd = open(argv[1], O_WRONLY);
	if (fd < 0 || pwrite(fd, "Z", 1, 0) != 1)
		return 1;
	close(fd);
	fd = open(argv[2], O_RDONLY);
	if (fd < 0 || pread(fd, &c, 1, 0) != 1)
		return 1;
	printf("same_ino %d nlink %lu seen %c\n", a.st_ino == b.st_ino, (unsigned long)b.st_nlink, c);
	return 0;
}
