/* wasm32-lind: math functions that zig's musl copy leaves to zig's own
 * (Linux-only) runtime.  WebAssembly has instructions for them. */
#include <math.h>

double copysign(double x, double y) { return __builtin_copysign(x, y); }
float copysignf(float x, float y) { return __builtin_copysignf(x, y); }

/* WebAssembly only rounds to nearest-even, so rint is f64.nearest. */
double rint(double x) { return __builtin_rint(x); }
float rintf(float x) { return __builtin_rintf(x); }
