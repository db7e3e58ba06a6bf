/* wasm32-lind: the cancellation point of musl's pthread_cancel.c.
 *
 * musl's SIGCANCEL handler acts on a cancellation request when the program
 * counter it interrupted lies between __cp_begin and __cp_end: inside
 * __syscall_cp_asm, after its test of the request and before the system call
 * has returned.  It then moves that counter to __cp_cancel, where the call
 * ends in __cancel.  Wasm code has no program counter to read or move, so the
 * ucontext of a Lind handler carries in MC_PC where the interrupted code
 * stands as far as this test goes: __cp_begin while the handlers of an
 * interrupted cancellation point run (the host answered -EINTR or
 * -ERESTARTSYS: a signal came before the call did anything), 0 anywhere else
 * (see src/lind/signals.c).  A handler that moved it to __cp_cancel has the
 * call end in __cancel, as the assembly jumps there on other machines.  A call
 * that completed keeps its result; the request waits for the next
 * cancellation point, as on Linux. */
#include <errno.h>
#include <stdint.h>
#include "pthread_impl.h"
#include "syscall.h"

hidden long __cancel(void);
uintptr_t __lind_deliver_signals_at(uintptr_t pc);

/* A region of one byte: __cp_begin is its start, __cp_end its end. */
hidden const char __cp_begin[2];
__asm__(".globl __cp_end\n\t.hidden __cp_end\n\t.set __cp_end, __cp_begin + 1");
hidden const char __cp_cancel[1];

hidden long __syscall_cp_asm(volatile int *cancel, syscall_arg_t nr,
	syscall_arg_t u, syscall_arg_t v, syscall_arg_t w,
	syscall_arg_t x, syscall_arg_t y, syscall_arg_t z)
{
	for (;;) {
		if (*cancel)
			return __cancel();
		long r = __lind_syscall(nr, u, v, w, x, y, z);
		if (r != -EINTR && r != -__LIND_ERESTARTSYS) {
			if (__lind_signal_pending)
				__lind_deliver_signals_at(0);
			return r;
		}
		if (__lind_deliver_signals_at((uintptr_t)__cp_begin) == (uintptr_t)__cp_cancel)
			return __cancel();
		if (r == -EINTR)
			return r;
	}
}
