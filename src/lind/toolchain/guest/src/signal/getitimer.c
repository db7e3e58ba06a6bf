/* wasm32-lind: struct itimerval is two 64-bit struct timeval, the x86_64
 * kernel layout, so it is passed through unchanged. */
#include <sys/time.h>
#include "syscall.h"

int getitimer(int which, struct itimerval *old)
{
	return syscall(SYS_getitimer, which, old);
}
