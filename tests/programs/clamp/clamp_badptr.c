/* An open whose path pointer lies past the end of the program's memory, under a clamp
 * that must read the path to decide: EFAULT, as without the clamp. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	const char *outside = (const char *)(uintptr_t)0xFFFFFFF0u;
	int fd = open(outside, O_RDONLY);
	printf("open: %d %s\n", fd, fd < 0 ? strerror(errno) : "");
	return 0;
}
