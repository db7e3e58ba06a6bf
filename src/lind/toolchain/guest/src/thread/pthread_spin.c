/* wasm32-lind: pthread spinlocks on libc's atomics.
 *
 * zig's libc supplies these in Zig, built without the wasm atomics feature:
 * its compare-and-swap becomes a plain load and store that the optimizer
 * hoists out of the spin loop, so a process-shared spinlock that another
 * cage holds is spun on forever.  These use a_cas and a_store (real wasm
 * atomics, see arch/wasm32/atomic_arch.h) and take precedence over zig's
 * weak definitions.  A held lock contains EBUSY, as in musl. */
#include "pthread_impl.h"

int pthread_spin_init(pthread_spinlock_t *s, int shared)
{
	(void)shared;
	*s = 0;
	return 0;
}

int pthread_spin_destroy(pthread_spinlock_t *s)
{
	(void)s;
	return 0;
}

int pthread_spin_trylock(pthread_spinlock_t *s)
{
	return a_cas(s, 0, EBUSY) ? EBUSY : 0;
}

int pthread_spin_lock(pthread_spinlock_t *s)
{
	while (a_cas(s, 0, EBUSY)) {
		while (*(volatile int *)s)   /* read-only spin until it looks free */
			a_spin();
	}
	return 0;
}

int pthread_spin_unlock(pthread_spinlock_t *s)
{
	a_store(s, 0);
	return 0;
}
