/* wasm32-lind: the thread pointer.
 *
 * WebAssembly has no thread register.  The thread pointer lives in one
 * thread-local variable, __lind_thread_pointer, set by __set_thread_area()
 * (see guest/src/thread/__set_thread_area.c) and read only here: every thread
 * of a cage is an instance of its own with its own TLS block. */

extern __attribute__((__visibility__("hidden"))) _Thread_local unsigned long __lind_thread_pointer;

static inline uintptr_t __get_tp(void)
{
	return __lind_thread_pointer;
}

/* What a signal handler's ucontext says of where the code it interrupted
 * stands: only whether it is in a cancellation point (src/thread/syscall_cp.c). */
#define MC_PC __lind_state[0]
