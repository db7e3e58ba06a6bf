/* wasm32-lind: _Fork, the fork every other one is built on.
 *
 * fork (57) goes through lind.syscall_unwind: the host unwinds the cage's
 * wasm stack, copies its memory and mutable globals into a new cage and
 * resumes both here, the parent with the child's pid, the child with 0
 * (or the parent alone with -errno).  Around the call this does what
 * musl's _Fork does: all signals blocked, the abort lock held, and in the
 * child the thread bookkeeping reset for the one thread that remains. */
#include <unistd.h>
#include <signal.h>
#include "syscall.h"
#include "libc.h"
#include "lock.h"
#include "pthread_impl.h"
#include "aio_impl.h"
#include "fork_impl.h"

static void no_aio_atfork(int in_child) { (void)in_child; }
weak_alias(no_aio_atfork, __aio_atfork);

/* 1 in a program that uses the grate API (lind/threei.c): its handlers may run in
 * workers beside its own thread at any time, so a fork's child keeps locking. */
static const int locks_dropped_at_fork = 0;
extern const int __lind_keeps_locks;
weak_alias(locks_dropped_at_fork, __lind_keeps_locks);

void __post_Fork(int ret)
{
	if (ret == 0) {
		/* The child: one thread, with the cage's new id as its tid. */
		pthread_t self = __pthread_self();
		self->tid = __syscall(SYS_set_tid_address, &__thread_list_lock);
		self->robust_list.off = 0;
		self->robust_list.pending = 0;
		self->prev = self;
		self->next = self;
		__thread_list_lock = 0;
		libc.threads_minus_1 = 0;
		/* musl stops locking after the child's first lock; a grate's child must
		 * not: a worker starting then took locks the grate's thread, mid-malloc
		 * without them, did not hold (a forked grate's heap was corrupted). */
		if (libc.need_locks)
			libc.need_locks = __lind_keeps_locks ? 1 : -1;
	}
	UNLOCK(__abort_lock);
	if (ret == 0)
		__aio_atfork(1);
}

pid_t _Fork(void)
{
	sigset_t saved;
	long ret;

	__block_all_sigs(&saved);
	LOCK(__abort_lock);
	ret = __lind_syscall_unwind(SYS_fork, 0, 0, 0, 0, 0, 0);
	__post_Fork(ret);
	__restore_sigs(&saved);
	return __syscall_ret(ret);
}
