/* readlink as glibc: the size goes to the kernel as given, so 0 is EINVAL (musl
 * answers 0 through a one-byte buffer of its own). */
#include <unistd.h>
#include "syscall.h"

ssize_t readlink(const char *restrict path, char *restrict buf, size_t bufsize)
{
	return syscall(SYS_readlink, path, buf, bufsize);
}
