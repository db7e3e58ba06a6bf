/* wasm32-lind: musl's sigaltstack, passing the shadow-stack pointer as a third
 * argument: the host cannot always read it (only programs built for fork or
 * setjmp export it) and needs it to tell whether the caller runs on the
 * alternate stack (SS_ONSTACK, EPERM). */
#include <signal.h>
#include <errno.h>
#include <stdint.h>
#include "syscall.h"

__asm__(".globaltype __stack_pointer, i32");

int sigaltstack(const stack_t *restrict ss, stack_t *restrict old)
{
	uint32_t sp;
	if (ss) {
		if (!(ss->ss_flags & SS_DISABLE) && ss->ss_size < MINSIGSTKSZ) {
			errno = ENOMEM;
			return -1;
		}
		if (ss->ss_flags & SS_ONSTACK) {
			errno = EINVAL;
			return -1;
		}
	}
	__asm__ volatile("global.get __stack_pointer\n\tlocal.set %0" : "=r"(sp));
	return syscall(SYS_sigaltstack, ss, old, sp);
}
