/* Calls getppid through a grate that ends inside that call, then divides by zero: the
 * program must die of SIGFPE, whatever its grate did. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	long r = syscall(SYS_getppid);
	printf("getppid: %ld %d\n", r, r < 0 ? errno : 0);
	fflush(stdout);
	volatile int zero = 0;
	printf("%d\n", 1000 / zero);
	return 0;
}
