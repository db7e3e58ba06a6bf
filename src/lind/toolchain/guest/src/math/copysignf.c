/* wasm32-lind: copysignf, which zig's musl copy leaves to zig's own (Linux-only)
 * runtime.  WebAssembly has an instruction for it.
 * A file of its own, as in musl: a program may define copysignf itself. */
#include <math.h>

float copysignf(float x, float y) { return __builtin_copysignf(x, y); }
