/* wasm32-lind: sigsetjmp.
 *
 * env->__fl records savemask and, when it is set, env->__ss the signal
 * mask at the time of the call.  Then this frame itself makes the setjmp
 * call (1020): a jump back (siglongjmp or longjmp, call 1021) resumes it
 * here, and the saved mask is put back before returning the second time,
 * as musl's sigsetjmp does on every architecture. */
#include <setjmp.h>
#include <signal.h>
#include "syscall.h"

int sigsetjmp(sigjmp_buf env, int savemask)
{
	int ret;

	env->__fl = savemask != 0;
	if (savemask)
		__syscall(SYS_rt_sigprocmask, SIG_SETMASK, 0, env->__ss, _NSIG/8);
	ret = (int)__lind_syscall_unwind(__LIND_SYS_setjmp,
		(unsigned long)env, 0, 0, 0, 0, 0);
	if (ret && env->__fl)
		__syscall(SYS_rt_sigprocmask, SIG_SETMASK, env->__ss, 0, _NSIG/8);
	return ret;
}

weak_alias(sigsetjmp, __sigsetjmp);
