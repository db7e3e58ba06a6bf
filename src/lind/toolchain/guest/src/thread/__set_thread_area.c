/* wasm32-lind: "setting the thread register" stores the thread pointer in
 * the one variable read by __get_tp() (arch/wasm32/pthread_arch.h). */
#include "pthread_impl.h"

hidden unsigned long __lind_thread_pointer;

int __set_thread_area(void *p)
{
	__lind_thread_pointer = (unsigned long)p;
	return 0;
}
