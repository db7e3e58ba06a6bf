/* wasm32-lind: __clone, for pthread_create (musl's is assembly elsewhere).
 *
 * A thread of a cage is one more instance of the program over the cage's shared
 * memory, on a host thread of its own.  clone(2) with CLONE_THREAD asks the host
 * for it: the host starts the instance with its __stack_pointer at `stack` and
 * calls __lind_thread_start there, which sets up the thread's TLS block and
 * thread pointer and runs func(arg).  func and arg travel at the top of the new
 * stack, as musl's x86_64 __clone leaves them; the host reads them once. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <errno.h>
#include "pthread_impl.h"
#include "syscall.h"

extern void __wasm_init_tls(void *block);
hidden void *__lind_tls_block(pthread_t td);
void __lind_signals_init(void);

__attribute__((export_name("__lind_thread_start")))
void __lind_thread_start(int (*func)(void *), void *arg, void *tp)
{
	__wasm_init_tls(__lind_tls_block(tp));
	__set_thread_area(tp);
	__lind_signals_init();
	int status = func(arg);
	for (;;) __syscall(SYS_exit, status);
}

int __clone(int (*func)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	int *ptid = va_arg(ap, int *);
	void *tls = va_arg(ap, void *);
	int *ctid = va_arg(ap, int *);
	va_end(ap);
	if (!(flags & CLONE_THREAD) || !(flags & CLONE_SETTLS))
		return -EINVAL;   /* musl makes threads only with this */
	void **top = (void **)((uintptr_t)stack & -16) - 4;   /* 16 bytes, 16-aligned */
	top[0] = (void *)func;
	top[1] = arg;
	return __syscall(SYS_clone, flags, top, ptid, ctid, tls);
}
