/* A call no layer implements (number 400 is unassigned on x86_64): ENOSYS. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	long r = syscall(400);
	printf("call 400: %ld %d\n", r, r < 0 ? errno : 0);
	return 0;
}
