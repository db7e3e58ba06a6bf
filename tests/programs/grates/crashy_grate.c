/* A grate whose getppid handler traps every other call (a bug in a grate must
 * fail the call with an errno, not take down the cage or the host). */
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int calls;

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

int getppid_handler(uint64_t cageid)
{
	char deep[1024];
	deep[0] = (char)calls;
	if (calls++ % 2)
		__builtin_trap();
	return 1000 + deep[0] / 2;
}

int main(int argc, char *argv[])
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_getppid, grate, (uint64_t)(uintptr_t)&getppid_handler);
		execv(argv[1], &argv[1]);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
