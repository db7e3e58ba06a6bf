/* wasm32-lind: snprintf's common case (__lind_printf_simple.c) copied straight to the
 * caller's buffer, without the FILE that musl's vsnprintf builds to send the text
 * through vfprintf.  musl's (src/stdio/vsnprintf.c, built with its vsnprintf and
 * vfprintf renamed by sysroot.FILE_DEFINES) does the rest, going on to musl's vfprintf
 * without trying the common case again. */
#include <string.h>
#include "printf_simple.h"

hidden int __lind_musl_vsnprintf(char *restrict, size_t, const char *restrict, va_list);

int vsnprintf(char *restrict s, size_t n, const char *restrict fmt, va_list ap)
{
	char text[PRINTF_SIMPLE_MAX];
	int length = __lind_printf_simple(text, fmt, ap);
	if (length < 0) return __lind_musl_vsnprintf(s, n, fmt, ap);
	if (n) {
		size_t kept = (size_t)length < n ? (size_t)length : n - 1;
		memcpy(s, text, kept);
		s[kept] = 0;
	}
	return length;
}
