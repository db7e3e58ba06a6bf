/* wasm32-lind: musl's decimal and hex scanner (src/internal/floatscan.c) built a second
 * time, with `long double` the size of `double` (sysroot.FILE_DEFINES: -mlong-double-64),
 * as musl builds it for arm or mips.  wasm32's long double is 128-bit and computed in
 * software, which made every float and double musl reads (scanf's %f and %lf, strtod
 * beyond its fast path, wcstod) cost microseconds; read in double arithmetic they are
 * rounded exactly as before (the scanner rounds to `prec`'s bits, 24 or 53, either way).
 * __lind_floatscan.c sends long doubles to the original. */
#include "long_double_as_double.h"

#define __floatscan __lind_floatscan_double
#include "floatscan.c"
