/* Registers its own getppid to its parent grate with function numbers the grate
 * never handed out, then calls getppid: an errno, never a crash. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	static const unsigned long long bogus[] = {100000, 0xFFFFFFFFull};
	int grate = getppid(), me = getpid();
	for (int i = 0; i < 2; i++) {
		errno = 0;
		int r = register_handler(me, SYS_getppid, grate, bogus[i]);
		printf("register %d %d\n", r, r < 0 ? errno : 0);
		errno = 0;
		long p = syscall(SYS_getppid);
		printf("getppid %ld %d\n", p, p < 0 ? errno : 0);
	}
	return 0;
}
