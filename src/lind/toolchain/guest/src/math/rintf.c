/* wasm32-lind: rintf, which zig's musl copy leaves to zig's own (Linux-only)
 * runtime.  WebAssembly only rounds to nearest-even, so it is f32.nearest.
 * A file of its own, as in musl: a program may define rintf itself. */
#include <math.h>

float rintf(float x) { return __builtin_rintf(x); }
