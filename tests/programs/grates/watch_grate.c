/* A grate that only wants to learn when its program dies by a signal or trap
 * (3i's harsh-exit notification), to report it. */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t, uint64_t, uint64_t) = (void *)(uintptr_t)fn_ptr;
	return fn(cageid, a1, a2);
}

int on_harsh_exit(uint64_t cageid, uint64_t dead, uint64_t signo)
{
	fprintf(stderr, "[watch] cage %d died of signal %d\n", (int)dead, (int)signo);
	return 0;
}

int main(int argc, char *argv[])
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), HARSH_EXIT_SYSCALL, grate,
		                 (uint64_t)(uintptr_t)&on_harsh_exit);
		execv(argv[1], &argv[1]);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	fprintf(stderr, "[watch] status %d\n", WIFSIGNALED(status) ? 128 + WTERMSIG(status)
	                                                           : WEXITSTATUS(status));
	return 0;
}
