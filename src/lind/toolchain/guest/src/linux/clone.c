/* wasm32-lind: clone(2)'s C interface.
 *
 * A cage cannot share its linear memory with another cage, so only clones
 * that create a process work: without CLONE_VM, clone is a fork (57,
 * through lind.syscall_unwind) after which the child calls func(arg) on
 * its copy of the parent's stack (the `stack` argument is not used) and
 * exits with its result.  CLONE_VFORK does not suspend the parent; the
 * low byte (the exit signal) is accepted, but the parent is told of the
 * child's end with SIGCHLD.  CLONE_VM fails with ENOSYS (threads are not
 * there yet); flags that need a shared kernel object (CLONE_FILES,
 * CLONE_FS, namespaces, pidfds...) fail with EINVAL. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <sched.h>
#include <errno.h>
#include "pthread_impl.h"
#include "syscall.h"
#include "lock.h"
#include "fork_impl.h"

#define SUPPORTED (CSIGNAL | CLONE_VFORK | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID)

int clone(int (*func)(void *), void *stack, int flags, void *arg, ...)
{
	pid_t *ptid = 0, *ctid = 0;
	sigset_t saved;
	va_list ap;
	long ret;

	if (!func || !stack || (flags & (CLONE_THREAD | CLONE_SETTLS | CLONE_CHILD_CLEARTID)))
		return __syscall_ret(-EINVAL);
	if (flags & CLONE_VM)
		return __syscall_ret(-ENOSYS);
	if (flags & ~SUPPORTED)
		return __syscall_ret(-EINVAL);

	va_start(ap, arg);
	if (flags & (CLONE_PARENT_SETTID | CLONE_CHILD_SETTID))
		ptid = va_arg(ap, pid_t *);
	if (flags & CLONE_CHILD_SETTID) {
		(void)va_arg(ap, void *); /* tls: only with CLONE_SETTLS */
		ctid = va_arg(ap, pid_t *);
	}
	va_end(ap);

	__block_all_sigs(&saved);
	LOCK(__abort_lock);
	ret = __lind_syscall_unwind(SYS_fork, 0, 0, 0, 0, 0, 0);
	__post_Fork(ret);
	if (ret == 0) {
		if (ctid)
			*ctid = __pthread_self()->tid;
		__restore_sigs(&saved);
		_Exit(func(arg));
	}
	if (ret > 0 && (flags & CLONE_PARENT_SETTID))
		*ptid = ret;
	__restore_sigs(&saved);
	return __syscall_ret(ret);
}
