/* wasm32-lind: sigaltstack passing the shadow-stack pointer as a third argument:
 * the host cannot always read it (only programs built for fork or setjmp export
 * it) and needs it to tell whether the caller runs on the alternate stack
 * (SS_ONSTACK, EPERM). The host checks the flags and size as Linux does (musl's
 * own wrapper refuses SS_ONSTACK, which Linux and glibc accept as 0). */
#include <signal.h>
#include <stdint.h>
#include "syscall.h"

__asm__(".globaltype __stack_pointer, i32");

int sigaltstack(const stack_t *restrict ss, stack_t *restrict old)
{
	uint32_t sp;
	__asm__ volatile("global.get __stack_pointer\n\tlocal.set %0" : "=r"(sp));
	return syscall(SYS_sigaltstack, ss, old, sp);
}
