/* wasm32-lind: setjmp, call 1020 through lind.syscall_unwind.
 *
 *   setjmp(env)  ->  syscall_unwind(1020, env, 0, 0, 0, 0, 0)
 *
 * The host records the cage's wasm stack up to this frame (with the
 * shadow-stack pointer and the other mutable globals) under a token it
 * writes into `env`, and answers 0.  A later longjmp(env, v) (call 1021)
 * with those bytes resumes this very call, which then answers v.  The call must be made
 * from the frame that returns to setjmp's caller, so it is here and not
 * in a helper. */
#include <setjmp.h>
#include "syscall.h"

int setjmp(jmp_buf env)
{
	return (int)__lind_syscall_unwind(__LIND_SYS_setjmp,
		(unsigned long)env, 0, 0, 0, 0, 0);
}

weak_alias(setjmp, _setjmp);
weak_alias(setjmp, __setjmp);
