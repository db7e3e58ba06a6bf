/* wasm32-lind: setjmp and longjmp on WebAssembly exception handling.
 *
 * `lind cc` compiles C with LLVM's wasm setjmp/longjmp lowering (see
 * ../../README.md, "setjmp and longjmp as exceptions"): a setjmp call becomes
 * __wasm_setjmp(env, label, invocation), a longjmp call __wasm_longjmp(env,
 * v), which throws the __c_longjmp tag with a pointer to {env, v}; a function
 * that called setjmp catches it around each call that may jump, asks
 * __wasm_setjmp_test whether env is one of its own invocation's, and then
 * resumes at that setjmp's label (or throws it on).  No host call, no
 * Asyncify: a setjmp costs a few stores, a longjmp one throw.
 *
 * The state lives in the first 16 bytes of jmp_buf's 64 (bits/setjmp.h).
 * sigsetjmp and siglongjmp are not lowered (see include/setjmp.h): a program
 * that uses them, or that forks, has setjmp.c and longjmp.c instead -- the
 * two never meet in one program. */
#include <setjmp.h>
#include <stdint.h>

struct wasm_jmp {
	uint32_t invocation;    /* the setjmp's function invocation */
	uint32_t label;         /* which of its setjmp calls */
	struct { void *env; int val; } thrown;   /* what __wasm_longjmp throws */
};

_Static_assert(sizeof(struct wasm_jmp) <= sizeof(__jmp_buf), "jmp_buf too small");

/* The __c_longjmp tag (LLVM references it, nothing in C can define it). */
__asm__(".globl __c_longjmp\n.tagtype __c_longjmp i32\n__c_longjmp:\n");

void __wasm_setjmp(void *env, uint32_t label, void *invocation)
{
	struct wasm_jmp *jmp = (struct wasm_jmp *)((struct __jmp_buf_tag *)env)->__jb;

	jmp->invocation = (uint32_t)(uintptr_t)invocation;
	jmp->label = label;
}

uint32_t __wasm_setjmp_test(void *env, void *invocation)
{
	struct wasm_jmp *jmp = (struct wasm_jmp *)((struct __jmp_buf_tag *)env)->__jb;

	return jmp->invocation == (uint32_t)(uintptr_t)invocation ? jmp->label : 0;
}

__attribute__((target("exception-handling")))
_Noreturn void __wasm_longjmp(void *env, int val)
{
	struct wasm_jmp *jmp = (struct wasm_jmp *)((struct __jmp_buf_tag *)env)->__jb;

	jmp->thrown.env = env;
	jmp->thrown.val = val ? val : 1;
	__builtin_wasm_throw(1, &jmp->thrown);
}
