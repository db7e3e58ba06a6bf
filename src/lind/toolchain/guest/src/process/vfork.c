/* wasm32-lind: vfork is fork.  A cage cannot share its memory with a
 * child, so the child gets a copy, which every program that uses vfork
 * correctly (the child only calls _exit or an exec function) cannot tell
 * apart.  Like the kernel's vfork, it runs no pthread_atfork handlers. */
#define _GNU_SOURCE
#include <unistd.h>

pid_t vfork(void)
{
	return _Fork();
}
