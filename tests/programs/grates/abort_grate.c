/* A grate whose geteuid handler fails an assertion: abort() ends the grate with
 * SIGABRT, as it ends a process from any of its threads (the worker's raise names
 * itself by the thread id its libc gave it, which is no thread's of the grate). */
#include <assert.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	int (*fn)(uint64_t) = (int (*)(uint64_t))(uintptr_t)fn_ptr;
	return fn(cageid);
}

int geteuid_handler(uint64_t cageid)
{
	assert(cageid == 0 && "a handler's assertion");
	return 10;
}

int main(int argc, char *argv[])
{
	int grate = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		register_handler(getpid(), SYS_geteuid, grate, (uint64_t)(uintptr_t)&geteuid_handler);
		execv(argv[1], &argv[1]);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return 0;
}
