/* wasm32-lind: longjmp, call 1021 through lind.syscall_unwind.
 *
 *   longjmp(env, v)  ->  syscall_unwind(1021, env, v ? v : 1, 0, 0, 0, 0)
 *
 * The host abandons the current wasm stack and resumes the setjmp (or
 * sigsetjmp) call that recorded `env`, making it return the second
 * argument.  It does not come back; if it does, trap. */
#include <setjmp.h>
#include "syscall.h"

_Noreturn void longjmp(jmp_buf env, int val)
{
	__lind_syscall_unwind(__LIND_SYS_longjmp, (unsigned long)env,
		val ? val : 1, 0, 0, 0, 0);
	__builtin_trap();
}

weak_alias(longjmp, _longjmp);
