/* wasm32-lind: vfprintf, under every printf, tries the common case first
 * (__lind_printf_simple.c: integers, strings and characters) and writes its text to
 * the FILE at once.  What that leaves goes to __lind_vfprintf_musl: for a format
 * without an L (no long double argument) musl's vfprintf built in double arithmetic
 * (__lind_vfprintf_double.c), with an L the original (src/stdio/vfprintf.c, renamed by
 * sysroot.FILE_DEFINES).  An L elsewhere in the text costs only speed. */
#include <stdarg.h>
#include <string.h>
#include "printf_simple.h"

hidden int __lind_vfprintf_double(FILE *restrict, const char *restrict, va_list);
hidden int __lind_vfprintf_quad(FILE *restrict, const char *restrict, va_list);

int __lind_vfprintf_musl(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	return strchr(fmt, 'L') ? __lind_vfprintf_quad(f, fmt, ap) : __lind_vfprintf_double(f, fmt, ap);
}

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	char text[PRINTF_SIMPLE_MAX];
	int length = __lind_printf_simple(text, fmt, ap);
	if (length < 0) return __lind_vfprintf_musl(f, fmt, ap);

	/* As musl's: an error of this call alone makes it -1, an earlier one stays. */
	FLOCK(f);
	int earlier_error = f->flags & F_ERR;
	f->flags &= ~F_ERR;
	__fwritex((const unsigned char *)text, length, f);
	int result = ferror(f) ? -1 : length;
	f->flags |= earlier_error;
	FUNLOCK(f);
	return result;
}
