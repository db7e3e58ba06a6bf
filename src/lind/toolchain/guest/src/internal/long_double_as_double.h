/* wasm32-lind: for a musl file built a second time with `long double` the size of
 * `double` (-Xclang -mlong-double-64, sysroot.FILE_DEFINES), included before it: float.h
 * still describes wasm32's 128-bit long double, and the file must see double's limits,
 * as on arm, where musl has long double == double.  math.h comes first, so that the
 * long double libm names it declares can be sent to the double ones (which take what
 * this file's long doubles now are). */
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

#define copysignl copysign
#define fabsl fabs
#define fmodl fmod
#define frexpl frexp
#define scalbnl scalbn
