/* wasm32-lind: sscanf reads its common case itself (__lind_vsscanf.c), without the
 * FILE that vsscanf makes over the string; the rest goes to vsscanf. */
#include <stdarg.h>
#include "scanf_string.h"

int sscanf(const char *restrict s, const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int result = __lind_scanf_string(s, fmt, ap);
	if (result == SCANF_MUSL) result = vsscanf(s, fmt, ap);
	va_end(ap);
	return result;
}

weak_alias(sscanf, __isoc99_sscanf);
