/* A grate whose handler for posix_spawn (Lind's call 1018) recurses DEPTH (argv[1])
 * frames deep in its worker, then passes the call on for the program it serves:
 *   spawn_grate DEPTH PROGRAM [ARGS...] */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPAWN 1018

static long depth;
static long (*volatile dive_next)(long, const uint64_t *);

__attribute__((noinline)) static long dive(long n, const uint64_t *a)
{
	if (n == 0)
		return make_threei_call(SPAWN, 0, getpid(), a[0], a[1], a[2], a[3], a[4], a[5],
		                        a[6], a[7], a[8], a[9], a[10], a[11], a[12], 0);
	long r = dive_next(n - 1, a);
	return r < 0 ? r : r + (n & 1) * 0;
}

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t call[13] = {cageid, a1, c1, a2, c2, a3, c3, a4, c4, a5, c5, a6, c6};
	return dive(depth, call);
}

int main(int argc, char *argv[])
{
	if (argc < 3)
		return 2;
	depth = atol(argv[1]);
	dive_next = dive;
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SPAWN, grate, 1);
		execv(argv[2], &argv[2]);
		perror("execv");
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("grate: program status %d\n", status);
	return 0;
}
