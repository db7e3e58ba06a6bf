/* Start-up of a C++ program (crt/crt1.c calls it when it is linked in:
 * `lind c++` links with -u __lind_cxx_start).
 *
 * The same steps as _start's, where an exception that no handler catches --
 * thrown by a static constructor, by main, or by a static destructor during
 * exit -- is caught here and calls std::terminate, which by default reports
 * its type and aborts: SIGABRT, as on Linux.  Without it the WebAssembly
 * exception would leave _start and end the cage with a trap.  (WebAssembly
 * unwinding has no search phase, so the destructors of the frames it leaves
 * run first; on Linux they need not.) */

#include <exception>
#include <stdlib.h>

extern "C" {
void __wasm_call_ctors(void);
int __main_argc_argv(int, char **);

void __lind_cxx_start(int argc, char **argv)
{
#if __cpp_exceptions
	try {
#endif
		__wasm_call_ctors();
		exit(__main_argc_argv(argc, argv));
#if __cpp_exceptions
	} catch (...) {
		std::terminate();
	}
#endif
}
}
