/* wasm32-lind program entry point.
 *
 * wasm-ld exports _start; the host calls it once.  Start-up order:
 *   1. __lind_init: fetch argv and the environment from the host and
 *      initialise musl (environ, program name, page size, thread pointer);
 *   2. run the module's constructors (wasm-ld synthesises
 *      __wasm_call_ctors from every constructor and C++ static initialiser);
 *   3. exit(main(argc, argv)), through __main_argc_argv: see
 *      guest/src/lind/main_argc_argv.c for how each form of main is found.
 *      exit() ends in exit_group, which does not return. */

#include <stdlib.h>

int __lind_init(char ***argv);
void __wasm_call_ctors(void);
int __main_argc_argv(int, char **);
/* A C++ program's steps 2 and 3 (guest/cxx/start.cpp), where an exception
 * nobody catches ends in std::terminate. */
__attribute__((weak)) void __lind_cxx_start(int, char **);

void _start(void)
{
	char **argv;
	int argc = __lind_init(&argv);
	if (__lind_cxx_start)
		__lind_cxx_start(argc, argv);
	__wasm_call_ctors();
	exit(__main_argc_argv(argc, argv));
}
