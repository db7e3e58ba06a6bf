/* wasm32-lind: musl's vfprintf (src/stdio/vfprintf.c) built a second time, with
 * `long double` the size of `double` (sysroot.FILE_DEFINES: -mlong-double-64), as musl
 * builds it for arm or mips.  wasm32's long double is 128-bit and computed in software,
 * and musl formats every %e, %f, %g and %a in it: ~0.55 us a "%.14g" where glibc takes
 * ~0.35.  Its formatting is exact in either width (the value is printed from its binary
 * digits), so the text is the same; __lind_vfprintf.c sends formats with an L, whose
 * arguments are long doubles, to the original. */
#include <float.h>
#include <math.h>

#undef LDBL_TRUE_MIN
#undef LDBL_MIN
#undef LDBL_MAX
#undef LDBL_EPSILON
#undef LDBL_MANT_DIG
#undef LDBL_MIN_EXP
#undef LDBL_MAX_EXP
#undef LDBL_DIG
#undef LDBL_MIN_10_EXP
#undef LDBL_MAX_10_EXP
#define LDBL_TRUE_MIN DBL_TRUE_MIN
#define LDBL_MIN DBL_MIN
#define LDBL_MAX DBL_MAX
#define LDBL_EPSILON DBL_EPSILON
#define LDBL_MANT_DIG DBL_MANT_DIG
#define LDBL_MIN_EXP DBL_MIN_EXP
#define LDBL_MAX_EXP DBL_MAX_EXP
#define LDBL_DIG DBL_DIG
#define LDBL_MIN_10_EXP DBL_MIN_10_EXP
#define LDBL_MAX_10_EXP DBL_MAX_10_EXP

/* the libm function of the 128-bit type would be called with a double */
#define frexpl frexp

#define vfprintf __lind_vfprintf_double
#include "vfprintf.c"
