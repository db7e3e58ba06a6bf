/* wasm32-lind: fexecve through execve on the descriptor's /proc/self/fd
 * name (execveat is not one of the calls that can replace a cage). */
#define _GNU_SOURCE
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include "syscall.h"

int fexecve(int fd, char *const argv[], char *const envp[])
{
	char name[15 + 3 * sizeof(int)];

	if (__syscall(SYS_fcntl, fd, F_GETFD) < 0)
		return __syscall_ret(-EBADF);
	__procfdname(name, fd);
	execve(name, argv, envp);
	if (errno == ENOENT)
		errno = EBADF;
	return -1;
}
