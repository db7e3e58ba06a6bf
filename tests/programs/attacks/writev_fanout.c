/* writev of 1024 iovecs that all point at one 2 MiB buffer into a pipe whose reader
 * (a forked child) takes 1 MiB and leaves: the cage owns 2 MiB, it points at 2 GiB. */
#include <signal.h>
#include <stdio.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char big[2 << 20];

int main(void)
{
	int p[2];
	signal(SIGPIPE, SIG_IGN);
	pipe(p);
	pid_t child = fork();
	if (child == 0) {
		static char sink[65536];
		long total = 0;
		close(p[1]);
		while (total < (1 << 20)) {
			long n = read(p[0], sink, sizeof sink);
			if (n <= 0)
				break;
			total += n;
		}
		_exit(0);
	}
	close(p[0]);
	static struct iovec iov[1024];
	for (int i = 0; i < 1024; i++) {
		iov[i].iov_base = big;
		iov[i].iov_len = sizeof big;
	}
	long n = writev(p[1], iov, 1024);
	printf("writev %ld\n", n);
	close(p[1]);
	waitpid(child, NULL, 0);
	return 0;
}
