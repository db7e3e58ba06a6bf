/* wasm32-lind: printf's common case, shared by vfprintf and vsnprintf. */
#include <stdarg.h>
#include "stdio_impl.h"

/* The longest text the common case builds; a longer one is musl's to print. */
#define PRINTF_SIMPLE_MAX 512

/* Formats fmt with ap (left as it was) into text, which holds PRINTF_SIMPLE_MAX
 * bytes; returns its length (no NUL is added), or -1 when musl's vfprintf must print
 * it: a conversion other than d, i, u, x, X, o, s and c, an argument by position or *,
 * an invalid format, or a longer text. */
hidden int __lind_printf_simple(char *text, const char *fmt, va_list ap);
