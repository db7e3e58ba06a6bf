/* Tries to change the host files behind inherited stdin (fd 0) and stdout (fd 1):
 * mode, owner, size, times, allocation, and the open-file flags they share with the
 * host. Reports "WHAT RESULT ERRNO" per attempt on stderr (a file nobody attacks),
 * and appends one line to stdout at the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, long r)
{
	fprintf(stderr, "%s %ld %d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
	report("fchmod", syscall(SYS_fchmod, 0, 06777));
	report("fchown", syscall(SYS_fchown, 0, 0, 0));
	report("ftruncate", syscall(SYS_ftruncate, 1, 0));
	report("futimens", syscall(SYS_utimensat, 0, 0, 0, 0));
	report("fallocate", syscall(SYS_fallocate, 1, 0, 0, 4096));
	report("clear_append", syscall(SYS_fcntl, 1, F_SETFL, 0));
	report("set_nonblock", syscall(SYS_fcntl, 0, F_SETFL, O_NONBLOCK));
	long flags = syscall(SYS_fcntl, 0, F_GETFL);
	report("sees_nonblock", flags < 0 ? flags : !!(flags & O_NONBLOCK));
	int fd = open("/mine.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
	report("own_fchmod", syscall(SYS_fchmod, fd, 0640));
	struct stat st;
	fstat(fd, &st);
	report("own_mode", st.st_mode & 07777);
	write(1, "appended\n", 9);
	return 0;
}
