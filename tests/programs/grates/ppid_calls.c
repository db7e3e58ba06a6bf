/* Calls getppid a few times and prints each result or errno. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 4; i++) {
		long r = syscall(SYS_getppid);
		printf("getppid: %ld %d\n", r, r < 0 ? errno : 0);
	}
	return 0;
}
