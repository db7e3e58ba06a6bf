/* wasm32-lind: pthread_mutex_lock and pthread_mutex_unlock of a private normal mutex
 * in a program that has never been threaded are a plain load and store, as glibc's are
 * in a single-threaded process. An atomic read-modify-write of the cage's shared
 * memory costs ~5 ns: musl's lock and unlock took 15 ns where glibc's take 3. Every
 * other mutex, and every mutex once the program is threaded (it then stays so), goes
 * to musl's __pthread_mutex_lock and __pthread_mutex_unlock, which musl's own callers
 * (condition variables, C11 mtx_*) use directly: either way is right while nothing
 * else runs. Musl's public names are renamed away (sysroot.FILE_DEFINES). */
#include "pthread_impl.h"

int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (!libc.threaded && m->_m_type == PTHREAD_MUTEX_NORMAL && !m->_m_lock) {
		m->_m_lock = EBUSY;
		return 0;
	}
	return __pthread_mutex_lock(m);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (!libc.threaded && m->_m_type == PTHREAD_MUTEX_NORMAL) {
		m->_m_lock = 0;     /* no other thread can be waiting for it */
		return 0;
	}
	return __pthread_mutex_unlock(m);
}
