/* wasm32-lind: setjmp.h as musl has it, plus, when `lind cc` compiles with
 * setjmp on WebAssembly exceptions (__LIND_WASM_SJLJ__, see
 * guest/src/setjmp/wasm_sjlj.c), _setjmp and _longjmp made calls of setjmp
 * and longjmp: LLVM's lowering knows only those two names.  sigsetjmp and
 * siglongjmp stay libc's, through the host (Asyncify): a program that uses
 * them gets that setjmp throughout, so that a siglongjmp out of any signal
 * handler -- one for a fault, which the host runs after the trap unwound the
 * program, included -- works as on Linux. */
#include_next <setjmp.h>

#if defined(__LIND_WASM_SJLJ__) && !defined(__LIND_SETJMP_NAMES)
#define __LIND_SETJMP_NAMES
#define _setjmp setjmp
#define _longjmp longjmp
#endif
