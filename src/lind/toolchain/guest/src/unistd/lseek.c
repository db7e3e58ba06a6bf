/* wasm32-lind: lseek returns a 64-bit offset, wider than the guest's long,
 * so call the host directly instead of through __syscall(). */
#include <unistd.h>
#include "syscall.h"

off_t __lseek(int fd, off_t offset, int whence)
{
	long long r = __lind_syscall(SYS_lseek, fd, offset, whence, 0, 0, 0);
	if (r < 0 && r > -4096) return __syscall_ret(r);
	return r;
}

weak_alias(__lseek, lseek);
