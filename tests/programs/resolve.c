/* Path resolution as a program sees it. Arguments come in pairs BASE PATH: chdir to
 * BASE, open PATH as a directory and print "BASE PATH -> CWD INODE" (CWD after fchdir
 * to it), or "BASE PATH -> errno N". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char cwd[4096];
	struct stat st;
	for (int i = 1; i + 1 < argc; i += 2) {
		printf("%s %s -> ", argv[i], argv[i + 1]);
		int fd = -1;
		if (chdir(argv[i]) < 0 || (fd = open(argv[i + 1], O_RDONLY | O_DIRECTORY)) < 0 ||
		    fstat(fd, &st) < 0 || fchdir(fd) < 0 || !getcwd(cwd, sizeof cwd))
			printf("errno %d\n", errno);
		else
			printf("%s %llu\n", cwd, (unsigned long long)st.st_ino);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
