/* wasm32-lind: execve (59), an ordinary call: on success the host stops the
 * cage's instance and replaces its module, keeping the cage id, the
 * descriptors without FD_CLOEXEC and the 3i handler table, so the call does
 * not return (nothing is unwound: a program that only execs, or spawns, is
 * not instrumented by Asyncify).  On failure it returns -errno here.  execv,
 * execvp, execl*, fexecve and a posix_spawn child all end here.  Weak, so
 * that a program may define its own. */
#include <unistd.h>
#include "syscall.h"

__attribute__((__weak__))
int execve(const char *path, char *const argv[], char *const envp[])
{
	return __syscall_ret(__syscall(SYS_execve, path, argv, envp));
}
