/* wasm32-lind: calling main.
 *
 * clang gives main a different symbol depending on how it is declared:
 *   int main(void)                    -> __main_void (and a 2-argument main)
 *   int main(int, char **)            -> __main_argc_argv
 *   int main(int, char **, char **)   -> main with three parameters
 * and a WebAssembly call must match the callee's signature exactly.
 * _start calls __main_argc_argv.  When the program did not define it, this
 * weak one runs __main_void, which is either the program's (main(void)) or
 * the weak one in main_void.c that calls a three-argument main. */
#include "libc.h"

hidden int __lind_argc;
hidden char **__lind_argv;

int __main_void(void);

weak int __main_argc_argv(int argc, char **argv)
{
	__lind_argc = argc;
	__lind_argv = argv;
	return __main_void();
}
