/* wasm32-lind: the public syscall(2) function.
 *
 * Callers pass `long` arguments (32 bits here); musl's generic version
 * reads them as syscall_arg_t (long long), which on wasm32, where variadic
 * arguments are packed in memory, would read two arguments at a time.  Read
 * longs and sign-extend them like any signed argument; the host takes the
 * low 32 bits of an argument that is a pointer.  Like every libc call it
 * runs pending signal handlers on return and restarts on -ERESTARTSYS. */
#include <unistd.h>
#include <stdarg.h>
#include "syscall.h"

#undef syscall

long syscall(long n, ...)
{
	va_list ap;
	long a, b, c, d, e, f;
	va_start(ap, n);
	a = va_arg(ap, long);
	b = va_arg(ap, long);
	c = va_arg(ap, long);
	d = va_arg(ap, long);
	e = va_arg(ap, long);
	f = va_arg(ap, long);
	va_end(ap);
	return __syscall_ret(__lind_syscall_and_deliver(n, a, b, c, d, e, f));
}
