/* wasm32-lind start-up: argv, environment and auxiliary vector.
 *
 * The host provides argv and the environment through four imports with
 * WASI-like semantics (return 0 or -errno):
 *
 *   lind.args_sizes_get(i32 *argc, i32 *argv_buf_size) -> i32
 *   lind.args_get(i32 **argv, char *argv_buf) -> i32
 *   lind.environ_sizes_get(i32 *count, i32 *buf_size) -> i32
 *   lind.environ_get(i32 **environ, char *environ_buf) -> i32
 *
 * *_get fill `count` pointers into the caller's array (the caller adds the
 * terminating NULL) and copy the NUL-terminated strings into the buffer.
 *
 * musl's __init_libc() expects the layout the Linux kernel leaves on the
 * initial stack: envp[], NULL, then the auxiliary vector.  We build that
 * block in a static area when it is small, otherwise in an anonymous
 * mmap that lives as long as the process (like the kernel's stack).
 *
 * Then, before libc starts, the host learns where the flag that says a
 * signal is pending lives (src/lind/signals.c). */

#include <stddef.h>
#include <elf.h>
#include <sys/mman.h>
#include "syscall.h"

#define LIND_IMPORT(name) \
	__attribute__((__import_module__("lind"), __import_name__(name)))

LIND_IMPORT("args_sizes_get") int __lind_args_sizes_get(int *, int *);
LIND_IMPORT("args_get") int __lind_args_get(char **, char *);
LIND_IMPORT("environ_sizes_get") int __lind_environ_sizes_get(int *, int *);
LIND_IMPORT("environ_get") int __lind_environ_get(char **, char *);

void __init_libc(char **envp, char *pn);
void __lind_signals_init(void);

/* Auxiliary vector entries we supply: AT_PAGESZ, AT_SECURE, terminator. */
#define AUX_WORDS 6

static size_t startup_area[1024];

int __lind_init(char ***argv_out)
{
	int argc = 0, argv_size = 0, envc = 0, env_size = 0;

	if (__lind_args_sizes_get(&argc, &argv_size) < 0 ||
	    __lind_environ_sizes_get(&envc, &env_size) < 0 ||
	    argc < 0 || argv_size < 0 || envc < 0 || env_size < 0)
		__builtin_trap();

	size_t words = (size_t)argc + 1 + (size_t)envc + 1 + AUX_WORDS;
	size_t total = words * sizeof(size_t) + (size_t)argv_size + (size_t)env_size;
	size_t *area = startup_area;
	if (total > sizeof startup_area) {
		long p = __syscall(SYS_mmap, 0, total, PROT_READ|PROT_WRITE,
			MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
		if (p < 0 && p > -4096) __builtin_trap();
		area = (size_t *)p;
	}

	char **argv = (char **)area;
	char **envp = argv + argc + 1;
	size_t *auxv = (size_t *)(envp + envc + 1);
	char *argbuf = (char *)(auxv + AUX_WORDS);
	char *envbuf = argbuf + argv_size;

	if (__lind_args_get(argv, argbuf) < 0 ||
	    __lind_environ_get(envp, envbuf) < 0)
		__builtin_trap();
	argv[argc] = 0;
	envp[envc] = 0;

	auxv[0] = AT_PAGESZ; auxv[1] = 4096;
	auxv[2] = AT_SECURE; auxv[3] = 0;
	auxv[4] = AT_NULL;   auxv[5] = 0;

	__init_libc(envp, argc > 0 ? argv[0] : 0);
	__lind_signals_init();   /* its word is thread-local: after __init_tls */

	*argv_out = argv;
	return argc;
}
