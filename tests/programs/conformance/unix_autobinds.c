/* Thousands of Unix sockets autobound at once (bind with the family alone) all get a
 * name: Lind draws each at random from the kernel's 2**20, and a name drawn twice was
 * EADDRINUSE (likely past a thousand sockets), where Linux goes on to another. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKETS 3000

int main(void)
{
	struct rlimit rl = {SOCKETS + 64, SOCKETS + 64};
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 1;
	static int fds[SOCKETS];
	int bound = 0, refused = 0, err = 0;
	for (int i = 0; i < SOCKETS; i++) {
		fds[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		if (fds[i] >= 0 && bind(fds[i], (struct sockaddr *)&a, sizeof(sa_family_t)) == 0) {
			bound++;
		} else {
			refused++;
			err = errno;
		}
	}
	printf("autobound %d refused %d errno %d\n", bound, refused, err);
	for (int i = 0; i < SOCKETS; i++)
		close(fds[i]);
	return 0;
}
