/* Forks argv[1] children (default 6); each raises its RLIMIT_NOFILE to the hard limit,
 * opens files and pipes until one fails, and reports through a pipe. Prints "holding
 * N errors E..." (N: the host fds its children hold together, E: each child's errno)
 * once every child has reported; they keep their files for argv[2] seconds (default 5). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : 6;
	int hold = argc > 2 ? atoi(argv[2]) : 5;
	int report[2];
	if (pipe(report) != 0)
		return 1;
	close(creat("/hog", 0644));
	for (int c = 0; c < children; c++) {
		if (fork() == 0) {
			struct rlimit rl;
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			int n = 0, p[2], result[2];
			for (;;) {
				if (n % 3 == 0 ? open("/hog", O_RDONLY) < 0 : pipe(p) != 0)
					break;
				n += n % 3 == 0 ? 1 : 2;
			}
			result[0] = n;
			result[1] = errno;
			write(report[1], result, sizeof result);
			sleep(hold);
			_exit(0);
		}
	}
	int total = 0, errors[64];
	for (int c = 0; c < children && c < 64; c++) {
		int result[2];
		if (read(report[0], result, sizeof result) != sizeof result)
			return 1;
		total += result[0];
		errors[c] = result[1];
	}
	printf("holding %d errors", total);
	for (int c = 0; c < children && c < 64; c++)
		printf(" %d", errors[c]);
	printf("\n");
	fflush(stdout);
	while (wait(NULL) > 0)
		;
	return 0;
}
