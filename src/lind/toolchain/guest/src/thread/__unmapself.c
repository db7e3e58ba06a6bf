/* wasm32-lind: a detached thread frees its own stack and exits.
 *
 * musl does this in assembly so that no stack is touched after munmap.
 * WebAssembly keeps return addresses and locals off the linear-memory
 * stack, and the two system calls below pass their arguments in wasm
 * locals, so plain C is safe here. */
#include "pthread_impl.h"

void __unmapself(void *base, size_t size)
{
	__syscall(SYS_munmap, base, size);
	for (;;) __syscall(SYS_exit, 0);
}
