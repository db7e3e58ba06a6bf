/* sbrk on the cage's program break (musl's is a stub that always fails).
 * The microvisor keeps the break (brk(2) returns the new break, or the old one when
 * it refuses); malloc asks for it before each heap segment, so the two can share it. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include "syscall.h"

void *sbrk(intptr_t inc)
{
	uintptr_t cur = __syscall(SYS_brk, 0);
	if (!inc) return (void *)cur;
	uintptr_t want = cur + inc;
	if ((inc > 0) != (want > cur) || __syscall(SYS_brk, want) != (long)want) {
		errno = ENOMEM;
		return (void *)-1;
	}
	return (void *)cur;
}
