/* wasm32-lind: the thread pointer.
 *
 * WebAssembly has no thread register.  The thread pointer lives in one
 * variable, __lind_thread_pointer, set by __set_thread_area() (see
 * guest/src/thread/__set_thread_area.c) and read only here, so that the
 * single definition of __pthread_self() can later move to a per-instance
 * wasm global when cages get threads. */

extern __attribute__((__visibility__("hidden"))) unsigned long __lind_thread_pointer;

static inline uintptr_t __get_tp(void)
{
	return __lind_thread_pointer;
}

