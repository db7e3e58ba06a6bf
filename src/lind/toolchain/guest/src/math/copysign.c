/* wasm32-lind: copysign, which zig's musl copy leaves to zig's own (Linux-only)
 * runtime.  WebAssembly has an instruction for it.
 * A file of its own, as in musl: a program may define copysign itself. */
#include <math.h>

double copysign(double x, double y) { return __builtin_copysign(x, y); }
