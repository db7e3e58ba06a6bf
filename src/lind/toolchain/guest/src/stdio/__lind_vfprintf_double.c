/* wasm32-lind: musl's vfprintf (src/stdio/vfprintf.c) built a second time, with
 * `long double` the size of `double` (sysroot.FILE_DEFINES: -mlong-double-64), as musl
 * builds it for arm or mips.  wasm32's long double is 128-bit and computed in software,
 * and musl formats every %e, %f, %g and %a in it: ~0.55 us a "%.14g" where glibc takes
 * ~0.35.  Its formatting is exact in either width (the value is printed from its binary
 * digits), so the text is the same; __lind_vfprintf.c sends formats with an L, whose
 * arguments are long doubles, to the original. */
#include "../internal/long_double_as_double.h"

#define vfprintf __lind_vfprintf_double
#include "vfprintf.c"
