/* wasm32-lind: sscanf's common case, read straight from the string (__lind_vsscanf.c). */
#include <stdarg.h>
#include "stdio_impl.h"

/* __lind_scanf_string's answer when musl's vfscanf must read the format. */
#define SCANF_MUSL (-2)

/* Reads s by fmt (ap is left as it was) and makes the assignments; returns their
 * count, -1 (EOF) for an input failure before the first, or SCANF_MUSL, having stored
 * nothing, for a format or input that musl's vfscanf must read. */
hidden int __lind_scanf_string(const char *s, const char *fmt, va_list ap);
