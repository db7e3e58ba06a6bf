/* Started with stdin and stderr closed: those numbers must be empty (EBADF), as a
 * native program's are, not some file the runtime opened for itself (its root, the
 * program's module) that the program could read or write through fd 0 or 2. The
 * next file the program opens takes the lowest free number, 0. "WHAT RESULT ERRNO"
 * lines on stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
	struct stat st;
	char byte;
	report("fstat0", fstat(0, &st));
	report("fstat2", fstat(2, &st));
	report("getfl0", fcntl(0, F_GETFL));
	report("read0", read(0, &byte, 1));
	report("write2", write(2, "x", 1));
	int fd = open("mine.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
	report("open", fd);
	report("write_own", write(fd, "abc", 3));
	report("open_next", open("mine.txt", O_RDONLY));
	report("fstat2_still", fstat(2, &st));
	fflush(stdout);
	return 0;
}
