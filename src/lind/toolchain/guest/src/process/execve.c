/* wasm32-lind: execve (59) goes through lind.syscall_unwind: on success
 * the host unwinds the cage's stack and replaces its module, keeping the
 * cage id, the descriptors without FD_CLOEXEC and the 3i handler table, so
 * the call does not return.  On failure it returns -errno here.  execv,
 * execvp, execl*, fexecve and posix_spawn all end here.  Weak, so that a
 * program may define its own. */
#include <unistd.h>
#include "syscall.h"

__attribute__((__weak__))
int execve(const char *path, char *const argv[], char *const envp[])
{
	return __syscall_ret(__lind_syscall_unwind(SYS_execve,
		(unsigned long)path, (unsigned long)argv, (unsigned long)envp,
		0, 0, 0));
}
