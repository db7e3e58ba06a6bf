/* wasm32-lind: "setting the thread register" stores the thread pointer in a
 * thread-local variable, the one read by __get_tp() (arch/wasm32/pthread_arch.h):
 * each thread is a wasm instance with a TLS block of its own (__init_tls.c). */
#include "pthread_impl.h"

hidden _Thread_local unsigned long __lind_thread_pointer;

int __set_thread_area(void *p)
{
	__lind_thread_pointer = (unsigned long)p;
	return 0;
}
