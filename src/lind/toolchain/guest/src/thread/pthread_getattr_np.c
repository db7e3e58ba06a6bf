/* wasm32-lind: the main thread's stack is the region below where the host started
 * it (crt1.c records that top) down to __stack_low, which running past traps as a
 * SIGSEGV. musl looks for it above the auxiliary vector, probing with mremap, which
 * found one page here. Other threads' stacks are pthread_create's, as musl has them. */
#define _GNU_SOURCE
#include "pthread_impl.h"

unsigned long __lind_main_stack_top;
extern char __stack_low;

int pthread_getattr_np(pthread_t t, pthread_attr_t *a)
{
	*a = (pthread_attr_t){0};
	a->_a_detach = t->detach_state>=DT_DETACHED;
	a->_a_guardsize = t->guard_size;
	if (t->stack) {
		a->_a_stackaddr = (uintptr_t)t->stack;
		a->_a_stacksize = t->stack_size;
	} else {
		a->_a_stackaddr = __lind_main_stack_top;
		a->_a_stacksize = __lind_main_stack_top - (uintptr_t)&__stack_low;
	}
	return 0;
}
