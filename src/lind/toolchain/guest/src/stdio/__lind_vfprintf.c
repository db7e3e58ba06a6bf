/* wasm32-lind: vfprintf, under every printf, sends a format without an L (no long
 * double argument) to musl's vfprintf built in double arithmetic
 * (__lind_vfprintf_double.c), and one with an L to the original (src/stdio/vfprintf.c,
 * renamed by sysroot.FILE_DEFINES).  An L elsewhere in the text costs only speed. */
#include <stdarg.h>
#include <string.h>
#include "stdio_impl.h"

hidden int __lind_vfprintf_double(FILE *restrict, const char *restrict, va_list);
hidden int __lind_vfprintf_quad(FILE *restrict, const char *restrict, va_list);

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	return strchr(fmt, 'L') ? __lind_vfprintf_quad(f, fmt, ap) : __lind_vfprintf_double(f, fmt, ap);
}
