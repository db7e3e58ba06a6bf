/* wasm32-lind: libc locking for a program the host runs code of at once without
 * pthread_create. A wasm grate's handlers run in workers over its memory
 * (cage/grate_worker.py), on the calling cages' host threads, while the grate's own
 * thread runs on: unless its libc knows it is threaded, malloc, stdio and pthread
 * mutexes (__lind_mutex.c) skip their locks and those callers corrupt its heap. */
#include "pthread_impl.h"
#include "stdio_impl.h"

static FILE *volatile no_file = 0;
weak_alias(no_file, __stdin_used);
weak_alias(no_file, __stdout_used);
weak_alias(no_file, __stderr_used);
static void *no_keys[1];
weak_alias(no_keys, __pthread_tsd_main);

static void lock_file(FILE *f)
{
	if (f && f->lock < 0)
		f->lock = 0;
}

/* What pthread_create does for a program's first thread, for good: counted as one
 * more thread (`count`: from the program's own thread, which no other runs beside
 * yet, and which gets the thread-specific data pthread_create would give it), locks
 * never dropped again. A worker of a forked grate, whose child libc stopped locking
 * at the fork, sets need_locks without counting. */
void __lind_become_threaded(int count)
{
	if (count && !__pthread_self()->tsd)
		__pthread_self()->tsd = (void **)__pthread_tsd_main;
	if (!libc.threaded) {
		for (FILE *f = *__ofl_lock(); f; f = f->next)
			lock_file(f);
		__ofl_unlock();
		lock_file(__stdin_used);
		lock_file(__stdout_used);
		lock_file(__stderr_used);
		libc.threaded = 1;
	}
	if (count)
		libc.threads_minus_1++;
	libc.need_locks = 1;
}
