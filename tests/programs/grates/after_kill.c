/* A grate whose getppid handler forwards the call, and after the layer below killed
 * the cage in it (-THREEI_CAGE_ENDED) works on for about 50 ms of computation before
 * it reports, as strace does: the report must not be cut off by the kill. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t grate_id;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1, uint64_t a2,
                    uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4, uint64_t c4,
                    uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int r = make_threei_call(SYS_getppid, 0, grate_id, cageid, a1, c1, a2, c2, a3, c3, a4,
	                         c4, a5, c5, a6, c6, 0);
	volatile unsigned long spin = 0;
	double start = now();
	while (now() - start < 0.05)
		spin++;
	fprintf(stderr, "handler saw %d, then worked on\n", r);
	return r;
}

int main(int argc, char *argv[])
{
	grate_id = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (register_handler(getpid(), SYS_getppid, grate_id, 1) != 0)
			return 1;
		execv(argv[1], &argv[1]);
		return 127;
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
