/* A grate inside a clamp that starts and ends many cages: `churn_grate N program`
 * forks N children, each registering a handler on itself (a route of the clamp) and
 * exiting at once; every thousandth child, and the grate after it ended, call getppid,
 * which a grate below can watch; then it runs the program. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return 0;
}

int on_openat(uint64_t cageid)
{
	return -1;
}

int main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s N program [args]\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[1]), grate = getpid();
	for (int i = 1; i <= n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			int failed = register_handler(getpid(), SYS_openat, grate,
			                              (uint64_t)(uintptr_t)on_openat);
			if (i % 1000 == 0)
				getppid();
			_exit(failed != 0);
		}
		int status;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
			fprintf(stderr, "child %d failed\n", i);
			return 1;
		}
		if (i % 1000 == 0)
			getppid();
	}
	execv(argv[2], &argv[2]);
	perror("execv");
	return 127;
}
