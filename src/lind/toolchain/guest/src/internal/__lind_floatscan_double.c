/* wasm32-lind: musl's decimal and hex scanner (src/internal/floatscan.c) built a second
 * time, with `long double` the size of `double` (sysroot.FILE_DEFINES: -mlong-double-64),
 * as musl builds it for arm or mips.  wasm32's long double is 128-bit and computed in
 * software, which made every float and double musl reads (scanf's %f and %lf, strtod
 * beyond its fast path, wcstod) cost microseconds; read in double arithmetic they are
 * rounded exactly as before (the scanner rounds to `prec`'s bits, 24 or 53, either way).
 * __lind_floatscan.c sends long doubles to the original. */
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

/* the libm functions of the 128-bit type would be called with doubles */
#define copysignl copysign
#define fmodl fmod
#define fabsl fabs
#define scalbnl scalbn

#define __floatscan __lind_floatscan_double
#include "floatscan.c"
