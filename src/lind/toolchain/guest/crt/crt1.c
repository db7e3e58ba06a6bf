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
/* The top of the main thread's stack (pthread_getattr_np's answer for it,
 * src/thread/pthread_getattr_np.c): where the host started it, RLIMIT_STACK below
 * the top of its region. */
extern unsigned long __lind_main_stack_top;

__attribute__((noinline)) static void start_main(void)
{
	char **argv;
	int argc = __lind_init(&argv);
	if (__lind_cxx_start)
		__lind_cxx_start(argc, argv);
	__wasm_call_ctors();
	exit(__main_argc_argv(argc, argv));
}

/* No frame of its own (its locals are start_main's), so the stack pointer read
 * here is the one the host started the program with. */
void _start(void)
{
	unsigned long sp;
	__asm__ volatile(".globaltype __stack_pointer, i32\n\tglobal.get __stack_pointer\n\t"
			 "local.set %0" : "=r"(sp));
	__lind_main_stack_top = sp;
	start_main();
}
