/* wasm32-lind: pthread_create for start routines of another type than the one it names.
 * x86-64 lets a program pass `void f(void *)` cast to `void *(*)(void *)` (libuv's
 * uv_thread_create does, through a union), or `void *f(void)`: the argument nobody reads
 * is ignored, the result nobody wrote is whatever a register held. A WebAssembly call
 * through a pointer of another type traps ("indirect call type mismatch"), so a start
 * routine whose real type differs -- the host reads it from the function table, once
 * per routine -- is called through a pointer of its own type. Musl's public name is
 * renamed away (sysroot.FILE_DEFINES); its own callers use __pthread_create. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "pthread_impl.h"
#include "syscall.h"

int __pthread_create(pthread_t *restrict, const pthread_attr_t *restrict,
                     void *(*)(void *), void *restrict);

/* (parameters << 8) | results, as the host answers */
enum { TAKES_ARG_RETURNS = 0x101, RETURNS = 0x001, TAKES_ARG = 0x100, NEITHER = 0x000 };

struct retyped {
	uintptr_t start;
	void *arg;
	long shape;
};

static void *start_retyped(void *p)
{
	struct retyped r = *(struct retyped *)p;
	free(p);
	if (r.shape == RETURNS)
		return ((void *(*)(void))r.start)();
	if (r.shape == TAKES_ARG)
		((void (*)(void *))r.start)(r.arg);
	else
		((void (*)(void))r.start)();
	return 0;
}

/* Table entries never change, so each routine's shape is asked once: a small cache of
 * (index << 16 | shape + 1), 0 empty; racing threads at worst both ask. */
#define KNOWN 16
static uint64_t known[KNOWN];

static long shape_of(uintptr_t start)
{
	uint64_t *slot = &known[start % KNOWN];
	uint64_t seen = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (seen && seen >> 16 == start)
		return (long)(seen & 0xffff) - 1;
	long shape = __syscall(__LIND_SYS_function_type, start);
	if (shape >= 0)
		__atomic_store_n(slot, (uint64_t)start << 16 | (uint64_t)(shape + 1), __ATOMIC_RELAXED);
	return shape;
}

int pthread_create(pthread_t *restrict res, const pthread_attr_t *restrict attrp,
                   void *(*entry)(void *), void *restrict arg)
{
	long shape = shape_of((uintptr_t)entry);
	if (shape != RETURNS && shape != TAKES_ARG && shape != NEITHER)
		return __pthread_create(res, attrp, entry, arg);   /* its own type, or no fix */
	struct retyped *r = malloc(sizeof *r);
	if (!r)
		return EAGAIN;
	*r = (struct retyped){(uintptr_t)entry, arg, shape};
	int err = __pthread_create(res, attrp, start_retyped, r);
	if (err)
		free(r);
	return err;
}
