/* wasm32-lind: rint, which zig's musl copy leaves to zig's own (Linux-only)
 * runtime.  WebAssembly only rounds to nearest-even, so it is f64.nearest.
 * A file of its own, as in musl: a program may define rint itself. */
#include <math.h>

double rint(double x) { return __builtin_rint(x); }
