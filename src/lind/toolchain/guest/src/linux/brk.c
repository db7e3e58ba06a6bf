/* brk on the cage's program break (musl's is a stub that always fails). */
#include <errno.h>
#include <unistd.h>
#include "syscall.h"

int brk(void *end)
{
	return __syscall(SYS_brk, end) == (long)end ? 0 : __syscall_ret(-ENOMEM);
}
